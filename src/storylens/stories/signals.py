"""What one article brings to the same-story decision, and what two articles share.

:func:`article_signals` reduces an analyzed article and its vectors to an :class:`ArticleSignals`: a compact,
serialisable record (document, title and lead vectors, a few sentence vectors, tf-idf terms and names weighted
against the stream's background, the numbers, days and years it names, its firm date, length and alphabet).
:func:`pair_features` turns two such records into the fixed feature vector :data:`FEATURES` that the
:class:`~storylens.stories.scorer.SameStoryScorer` maps to a probability.  Nothing here is fitted: weights live in
``Settings``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import numpy as np

from storylens.clean.language import script_of
from storylens.embed import DIM, ArticleVectors, normalise
from storylens.model import Article
from storylens.stories.features import (
    DAY_MONTH,
    DocFreq,
    cosine,
    date_distance,
    date_points,
    month_of,
    names_of_typed,
    quote_shingles,
    term_counts,
    weigh,
    years_of,
)

SENTENCES_KEPT = 16
CONTEXT_FULL = 40  # comparisons after which an article's closest match is taken as known  # sentence vectors kept per article (the opening ones carry the event)
_NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:[,\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?)(?![\w])")
_YEARLIKE = re.compile(r"^(1[89]\d\d|20\d\d)$")

# the pair features, in the order of SameStoryScorer's coefficients (Settings.stories.scorer_weights)
FEATURES: tuple[str, ...] = (
    "emb_doc",        # cosine of the document vectors (multilingual: also across languages)
    "emb_title",      # cosine of the title vectors
    "emb_lead",       # cosine of the lead vectors
    "emb_sent",       # mean of the best sentence-to-sentence cosines (the 3 best aligned sentences)
    "lex",            # tf-idf cosine of terms, weighted against the stream's background (same alphabet only)
    "lex_rel",        # lex relative to the closest match either article has among the others it was compared with
    "emb_rel",        # emb_doc relative in the same way (against matches in the pair's language or languages)
    "context",        # how many comparisons the relative features rest on (the smaller of the two), log-scaled
    "names",          # tf-idf cosine of named entities
    "people",         # share of the people named that the other names too, each weighed by its tf-idf
    "places",         # share of the places named that the other names too, each weighed by its tf-idf
    "place_clash",    # both name places and share none
    "numbers",        # share of the numbers of the article naming fewer that the other names too
    "quotes",         # share of quote 5-shingles in common
    "gap",            # publication days apart / 7 (capped at 4), when both are firmly dated
    "one_dated",      # only one of the two has a firm date
    "day_match",      # both name the same day (within one)
    "day_clash",      # the days they name are all more than a week apart
    "year_clash",     # both name years and share none
    "cross",          # other language or alphabet: only the embeddings can compare
    "cross_emb",      # cross x emb_doc
    "short",          # shortness of the shorter text, exp(-words/150): titles and leads
    "short_lex",      # short x lex
    "short_emb",      # short x emb_doc
)


@dataclass(slots=True)
class ArticleSignals:
    """One article as the same-story scorer sees it."""

    id: str
    date: dt.date | None
    script: str
    language: str | None
    words: int
    doc: np.ndarray
    title: np.ndarray
    lead: np.ndarray
    sents: np.ndarray  # (n, DIM) float32, n <= SENTENCES_KEPT
    terms: dict[str, float]
    names: dict[str, float]
    people: frozenset[str]
    places: frozenset[str]
    numbers: frozenset[str]
    quotes: frozenset[int]
    days: list[tuple[int | None, int, int]] = field(default_factory=list)
    years: frozenset[int] = frozenset()
    outlet: str | None = None
    title_text: str | None = None
    terms_norm: float = 0.0
    names_norm: float = 0.0
    # the closest lexical and embedding match this article has had with any other article it was compared with
    # (updated by observe(); the context of the relative features)
    best_lex: float = 0.0
    best_emb: float = 0.0  # with an article of the same language
    best_xemb: float = 0.0  # with an article of another language (cross-lingual similarities run lower)
    compared: int = 0  # how many comparisons stand behind best_lex / best_emb (the context's size)
    arrival: int = 0  # the stream's arrival number when it joined its story (members are kept in this order)
    weighted: bool = True  # terms and names are tf-idf weights (False: raw counts, see raw_signals)

    def __post_init__(self) -> None:
        self.terms_norm = math.sqrt(sum(v * v for v in self.terms.values()))
        self.names_norm = math.sqrt(sum(v * v for v in self.names.values()))


def hard_date(article: Article) -> dt.date | None:
    """The publication date used for time: metadata or dateline dates.  A date guessed from the body text alone
    (``source == "text"`` and ``inferred``) only counts as a named day, so a wrong guess cannot keep an article
    away from its story."""
    p = article.published
    if p.value is None or (p.inferred and p.source == "text"):
        return None
    return p.value


def numbers_of(text: str) -> frozenset[str]:
    """Numbers the text names (ages, counts, sums), normalised; years are left to :func:`years_of` and the days of
    dates ("June 16", "16 July") to :func:`~storylens.stories.features.date_points`."""
    out: set[str] = set()
    days = {m.start(1) if m.group(1) else m.start(4) for m in DAY_MONTH.finditer(text)
            if month_of(m.group(2) or m.group(3)) is not None}
    for m in _NUMBER.finditer(text):
        if m.start(1) in days:
            continue
        n = re.sub(r"[,\u00a0 ]", "", m.group(1)).replace(",", ".")
        if _YEARLIKE.match(n):
            continue
        out.add(n.rstrip("0").rstrip(".") if "." in n else n)
    return frozenset(out)


def raw_signals(article: Article, vectors: ArticleVectors) -> ArticleSignals:
    """Everything about one article that does not depend on the stream: terms and names still as raw counts
    (:func:`weigh_signals` weighs them against the stream's background when the article arrives).  The Spark runner
    computes these on the executors and streams them to the driver."""
    text = article.text or ""
    typed = names_of_typed(article)
    sents = _f16(np.asarray(vectors.sentences, dtype=np.float32).reshape(-1, DIM)[:SENTENCES_KEPT])
    return ArticleSignals(
        id=article.id, date=hard_date(article),
        script=script_of(f"{article.title or ''} {text[:2000]}") or "latin",
        language=(article.language or None), words=len(text.split()) + len((article.title or "").split()),
        doc=_f16(normalise(vectors.doc)), title=_f16(normalise(vectors.title)), lead=_f16(normalise(vectors.lead)),
        sents=sents, terms=dict(term_counts(text, article.title)), names=dict(typed),
        people=frozenset(k[2:] for k in typed if k.startswith("p:")),
        places=frozenset(k[2:] for k in typed if k.startswith("l:")),
        numbers=numbers_of(f"{article.title or ''}\n{text}"), quotes=frozenset(quote_shingles(article)),
        days=date_points(article), years=frozenset(years_of(article)), outlet=article.outlet,
        title_text=article.title, weighted=False)


def weigh_signals(s: ArticleSignals, df: DocFreq, terms_per_article: int = 80, *, count: bool = True
                  ) -> ArticleSignals:
    """Raw counts weighed (sublinear tf x idf, the heaviest ``terms_per_article`` kept); with ``count`` the
    article's terms join the background ``df`` first (a stream counts each article once, as it arrives)."""
    if s.weighted:
        return s
    if count:
        df.add(set(s.terms) | set(s.names))
    s.terms = weigh(s.terms, df, terms_per_article)
    s.names = weigh(s.names, df, terms_per_article)
    s.weighted = True
    s.__post_init__()
    return s


def article_signals(article: Article, vectors: ArticleVectors, df: DocFreq, terms_per_article: int = 80,
                    *, count: bool = True) -> ArticleSignals:
    """The signals of one article, weighed against ``df`` (see :func:`raw_signals`, :func:`weigh_signals`)."""
    return weigh_signals(raw_signals(article, vectors), df, terms_per_article, count=count)


def _f16(v: np.ndarray) -> np.ndarray:
    """Vectors rounded to float16 precision (what the store keeps), so a story reloaded from the store scores
    exactly as the one held in memory."""
    return np.asarray(v, dtype=np.float16).astype(np.float32)


def _share(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _weighted_share(a: dict[str, float], b: dict[str, float], kind: str) -> float:
    """The share of the names of one kind (``p:`` people, ``l:`` places) that two articles have in common, each name
    weighed by its tf-idf: a name the whole stream repeats (an official of a recurring topic) counts little, one
    this event alone carries (a victim, a village) counts much."""
    wa = {k: v for k, v in a.items() if k.startswith(kind)}
    wb = {k: v for k, v in b.items() if k.startswith(kind)}
    if not wa or not wb:
        return 0.0
    shared = sum(min(wa[k], wb[k]) for k in wa.keys() & wb.keys())
    return shared / min(sum(wa.values()), sum(wb.values()))


def _sent_align(a: np.ndarray, b: np.ndarray, k: int = 3) -> float:
    if not len(a) or not len(b):
        return 0.0
    best = (a @ b.T).max(axis=1 if len(a) <= len(b) else 0)
    top = np.sort(best)[-k:]
    return float(top.mean())


def similarities(a: ArticleSignals, b: ArticleSignals) -> tuple[float, float]:
    """(lexical, embedding) similarity of two articles: tf-idf cosine (0 across alphabets) and document cosine."""
    lex = cosine(a.terms, b.terms, b.terms_norm) if a.script == b.script else 0.0
    return lex, float(np.dot(a.doc, b.doc))


def crosslingual(a: ArticleSignals, b: ArticleSignals) -> bool:
    """Another alphabet, or two known languages that differ."""
    return a.script != b.script or (a.language is not None and b.language is not None and a.language != b.language)


def observe(a: ArticleSignals, b: ArticleSignals) -> bool:
    """Record that ``a`` and ``b`` were compared: each one's closest match so far may now be the other."""
    lex, emb = similarities(a, b)
    a.best_lex, b.best_lex = max(a.best_lex, lex), max(b.best_lex, lex)
    if crosslingual(a, b):
        a.best_xemb, b.best_xemb = max(a.best_xemb, emb), max(b.best_xemb, emb)
    else:
        a.best_emb, b.best_emb = max(a.best_emb, emb), max(b.best_emb, emb)
    a.compared += 1
    b.compared += 1
    return True


def _relative(v: float, *best: float) -> float:
    top = max(v, *best)
    return v / top if top > 0 else 0.0


def pair_features(a: ArticleSignals, b: ArticleSignals, window_days: int = 7) -> np.ndarray:
    """The :data:`FEATURES` of two articles (symmetric)."""
    lex, emb = similarities(a, b)
    cross = float(crosslingual(a, b))
    best_a, best_b = (a.best_xemb, b.best_xemb) if cross else (a.best_emb, b.best_emb)
    names = cosine(a.names, b.names, b.names_norm) if a.script == b.script else 0.0
    gap = one_dated = 0.0
    if a.date is not None and b.date is not None:
        gap = min(abs((a.date - b.date).days) / 7.0, 4.0)
    elif (a.date is None) != (b.date is None):
        one_dated = 1.0
    day_match = day_clash = 0.0
    dd = date_distance(a.days, b.days)
    if dd is not None:
        day_match = float(dd <= 1)
        day_clash = float(dd > window_days)
    year_clash = float(bool(a.years and b.years and not (a.years & b.years)))
    quotes = len(a.quotes & b.quotes) / min(len(a.quotes), len(b.quotes)) if a.quotes and b.quotes else 0.0
    short = math.exp(-min(a.words, b.words) / 150.0)
    place_clash = float(bool(a.places and b.places and not (a.places & b.places)))
    return np.array([
        emb, float(np.dot(a.title, b.title)), float(np.dot(a.lead, b.lead)), _sent_align(a.sents, b.sents),
        lex, _relative(lex, a.best_lex, b.best_lex), _relative(emb, best_a, best_b),
        min(1.0, math.log1p(min(a.compared, b.compared)) / math.log1p(CONTEXT_FULL)), names,
        _weighted_share(a.names, b.names, "p:"), _weighted_share(a.names, b.names, "l:"), place_clash,
        _share(a.numbers, b.numbers), quotes, gap, one_dated, day_match, day_clash, year_clash,
        cross, cross * emb, short, short * lex, short * emb,
    ], dtype=np.float64)
