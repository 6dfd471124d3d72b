"""Streaming, time-aware story assignment.

Each new article is compared with the stories active around its publication date: story centroids live in
small usearch (HNSW) indexes, one per ``window_days`` time bucket (a story sits in every bucket its dates
cover), plus one index of undated stories and one of all stories (for undated articles).  The nearest
centroids are re-scored with the full similarity: document embedding, lexical overlap (tf-idf over
unigrams and bigrams, running document frequencies), shared named entities, shared quote shingles, the time
gap, and the days the texts name (a story about "16 July" is not one about "June 16").  The article joins the
best story scoring at least ``join_threshold`` or founds a new one.

Story ids are derived from the founding article's id and never change; when an article scores high against
two stories that are also close to each other, the two are merged (the older id is kept) and a
:class:`~storylens.model.StoryMerge` is recorded.  Late articles are placed by their publication date: the
candidate stories are the ones around that date, whatever the arrival order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from storylens.embed import DIM, ArticleVectors, normalise
from storylens.model import Article, Story, StoryMerge
from storylens.settings import StorySettings
from storylens.stories.features import (
    DocFreq,
    Features,
    cosine,
    date_points,
    names_of,
    pair_adjustment,
    quote_shingles,
    script_of,
    term_counts,
    weigh,
    years_of,
)

STATE_VERSION = 1


def hard_date(article: Article) -> dt.date | None:
    """The publication date used for the time window: metadata or dateline dates.  A date guessed from the
    body text alone (``source == "text"`` and ``inferred``) only counts as a named day (a soft signal), so a
    wrong guess cannot keep an article away from its story."""
    p = article.published
    if p.value is None or (p.inferred and p.source == "text"):
        return None
    return p.value


def story_id_for(founder: str) -> str:
    return "st-" + hashlib.sha1(founder.encode("utf-8")).hexdigest()[:12]


@dataclass(slots=True)
class _Story:
    key: int
    id: str
    doc_sum: np.ndarray
    best_title: str | None = None
    best_title_vec: np.ndarray | None = None
    articles: list[str] = field(default_factory=list)
    dates: dict[str, str | None] = field(default_factory=dict)  # article id -> ISO date or None
    first: dt.date | None = None
    last: dt.date | None = None
    terms: dict[str, float] = field(default_factory=dict)
    terms_norm: dict[str, float] = field(default_factory=dict)
    names: dict[str, float] = field(default_factory=dict)
    names_norm: dict[str, float] = field(default_factory=dict)
    quotes: set[int] = field(default_factory=set)
    points: list[tuple[int | None, int, int]] = field(default_factory=list)
    years: set[int] = field(default_factory=set)
    languages: Counter[str] = field(default_factory=Counter)  # counts by alphabet (script_of)
    outlets: list[str] = field(default_factory=list)
    buckets: set[int] = field(default_factory=set)
    indexed: np.ndarray | None = None  # the centroid as last written to the indexes

    @property
    def centroid(self) -> np.ndarray:
        return normalise(self.doc_sum)


def _add_bag(bag: dict[str, float], other: dict[str, float], limit: int) -> dict[str, float]:
    """Add ``other`` into ``bag`` (pruned to ``limit`` heaviest terms past twice that); the bag's norms by alphabet."""
    for t, v in other.items():
        bag[t] = bag.get(t, 0.0) + v
    if len(bag) > 2 * limit:
        keep = sorted(bag.items(), key=lambda kv: -kv[1])[:limit]
        bag.clear()
        bag.update(keep)
    return _norms(bag)


def _norms(bag: dict[str, float]) -> dict[str, float]:
    """Norm of the bag's terms of each alphabet: an English article is compared with the English part of a
    bilingual story."""
    sq: dict[str, float] = {}
    for t, v in bag.items():
        k = "cyrillic" if any("\u0400" <= ch <= "\u04ff" for ch in t) else "latin"
        sq[k] = sq.get(k, 0.0) + v * v
    return {k: math.sqrt(x) for k, x in sq.items()}


class _Ann:
    """One usearch index of story centroids (inner product over unit vectors)."""

    def __init__(self) -> None:
        from usearch.index import Index

        self.index = Index(ndim=DIM, metric="ip", dtype="f32", connectivity=16, expansion_add=64,
                           expansion_search=64)
        self.keys: set[int] = set()

    def put(self, key: int, vec: np.ndarray) -> None:
        if key in self.keys:
            self.index.remove(key)
        self.index.add(key, vec.astype(np.float32))
        self.keys.add(key)

    def drop(self, key: int) -> None:
        if key in self.keys:
            self.index.remove(key)
            self.keys.discard(key)

    def search(self, vec: np.ndarray, k: int) -> list[int]:
        if not self.keys:
            return []
        if len(self.keys) <= k:
            return list(self.keys)
        m = self.index.search(vec.astype(np.float32), k, threads=1)
        return [int(x) for x in m.keys]


class StoryAssigner:
    """Streaming story assignment; see the module docstring."""

    def __init__(self, settings: StorySettings | None = None) -> None:
        self.settings = settings or StorySettings()
        self.df = DocFreq()
        self._stories: dict[int, _Story] = {}
        self._by_id: dict[str, int] = {}
        self._next = 0
        self._article_story: dict[str, str] = {}
        self._alias: dict[str, str] = {}  # merged story id -> kept story id
        self.merges: list[StoryMerge] = []
        self._buckets: dict[int, _Ann] = {}
        self._undated = _Ann()
        self._all = _Ann()

    # ---- features --------------------------------------------------------------------------------------
    def features(self, article: Article, vectors: ArticleVectors, *, count_df: bool = True) -> Features:
        counts = term_counts(article.text or "", article.title)
        names = names_of(article)
        if count_df:
            self.df.add(set(counts) | set(names))
        return Features(
            id=article.id, date=hard_date(article), language=(article.language or None),
            doc=normalise(vectors.doc), title_vec=normalise(vectors.title), title=article.title,
            outlet=article.outlet,
            terms=weigh(counts, self.df, self.settings.terms_per_article),
            names=weigh(names, self.df, self.settings.terms_per_article),
            quotes=quote_shingles(article), dates=date_points(article), years=years_of(article),
            script=script_of(f"{article.title or ''} {article.text or ''}"))

    # ---- scoring ---------------------------------------------------------------------------------------
    def _gap(self, f: Features, s: _Story) -> int | None:
        if f.date is None or s.first is None or s.last is None:
            return None
        if s.first <= f.date <= s.last:
            return 0
        return min(abs((f.date - s.first).days), abs((f.date - s.last).days))

    def score(self, f: Features, s: _Story) -> float:
        """Similarity of an article to a story (higher is closer); ``-inf`` outside the time window."""
        st = self.settings
        gap = self._gap(f, s)
        if gap is not None and gap > st.window_days:
            return -math.inf
        emb = float(np.dot(f.doc, s.centroid))
        score = -math.inf
        if not s.languages or f.script in s.languages:
            lex = cosine(f.terms, s.terms, s.terms_norm.get(f.script))
            nam = cosine(f.names, s.names, s.names_norm.get(f.script))
            score = st.w_doc * emb + st.w_lex * lex + st.w_names * nam
        if any(k != f.script for k in s.languages):  # another alphabet: only the multilingual embedding compares
            score = max(score, st.crosslingual_scale * emb - st.crosslingual_offset)
        if f.quotes and s.quotes:
            score += st.w_quotes * len(f.quotes & s.quotes) / len(f.quotes)
        if gap is not None:
            score -= st.time_penalty * gap / max(1, st.window_days)
        elif (f.date is None) != (s.first is None):
            score -= st.undated_penalty
        score += pair_adjustment(f.dates, f.years, s.points, s.years, st.window_days, st.date_conflict_penalty,
                                 st.date_match_bonus, st.year_conflict_penalty)
        return score

    def story_similarity(self, a: _Story, b: _Story) -> float:
        """Similarity of two stories, on the same scale as :meth:`score`."""
        st = self.settings
        if a.first and a.last and b.first and b.last:
            gap = max(0, (b.first - a.last).days, (a.first - b.last).days)
            if gap > st.window_days:
                return -math.inf
        emb = float(np.dot(a.centroid, b.centroid))
        if set(a.languages) & set(b.languages) or not a.languages or not b.languages:
            s = (st.w_doc * emb + st.w_lex * cosine(a.terms, b.terms)
                 + st.w_names * cosine(a.names, b.names))
        else:
            s = st.crosslingual_scale * emb - st.crosslingual_offset
        return s + pair_adjustment(a.points, a.years, b.points, b.years, st.window_days, st.date_conflict_penalty,
                                   0.0, st.year_conflict_penalty)

    # ---- candidates ------------------------------------------------------------------------------------
    def _bucket(self, d: dt.date) -> int:
        return d.toordinal() // max(1, self.settings.window_days)

    def candidates(self, f: Features) -> list[_Story]:
        k = self.settings.candidates
        keys: set[int] = set()
        if f.date is None:
            keys.update(self._all.search(f.doc, k))
        else:
            w = dt.timedelta(days=self.settings.window_days)
            for b in range(self._bucket(f.date - w), self._bucket(f.date + w) + 1):
                ann = self._buckets.get(b)
                if ann is not None:
                    keys.update(ann.search(f.doc, k))
            keys.update(self._undated.search(f.doc, k))
        return [self._stories[x] for x in keys if x in self._stories]

    def _index(self, s: _Story, force: bool = False) -> None:
        c = s.centroid
        if not force and s.indexed is not None and float(np.dot(c, s.indexed)) > 0.998:
            return
        s.indexed = c
        self._all.put(s.key, c)
        if s.first is None or s.last is None:
            self._undated.put(s.key, c)
            return
        self._undated.drop(s.key)
        want = set(range(self._bucket(s.first), self._bucket(s.last) + 1))
        for b in want:
            self._buckets.setdefault(b, _Ann()).put(s.key, c)
        for b in s.buckets - want:
            if b in self._buckets:
                self._buckets[b].drop(s.key)
        s.buckets = want

    def _unindex(self, s: _Story) -> None:
        self._all.drop(s.key)
        self._undated.drop(s.key)
        for b in s.buckets:
            if b in self._buckets:
                self._buckets[b].drop(s.key)
        s.buckets = set()

    # ---- updates ---------------------------------------------------------------------------------------
    def _new_story(self, f: Features) -> _Story:
        sid = story_id_for(f.id)
        while sid in self._by_id or sid in self._alias:
            sid = story_id_for(sid)
        s = _Story(key=self._next, id=sid, doc_sum=np.zeros(DIM, dtype=np.float32))
        self._next += 1
        self._stories[s.key] = s
        self._by_id[sid] = s.key
        return s

    def _join(self, s: _Story, f: Features) -> None:
        lim = self.settings.terms_per_story
        s.doc_sum = s.doc_sum + f.doc
        s.articles.append(f.id)
        s.dates[f.id] = f.date.isoformat() if f.date else None
        if f.date is not None:
            s.first = f.date if s.first is None else min(s.first, f.date)
            s.last = f.date if s.last is None else max(s.last, f.date)
        s.terms_norm = _add_bag(s.terms, f.terms, lim)
        s.names_norm = _add_bag(s.names, f.names, lim)
        if len(s.quotes) < 5000:
            s.quotes |= f.quotes
        pts = set(s.points) | set(f.dates)
        s.points = sorted(pts, key=lambda p: (p[0] or 0, p[1], p[2]))[-64:]
        if len(s.years) < 64:
            s.years |= f.years
        s.languages[f.script] += 1
        if f.outlet and f.outlet not in s.outlets:
            s.outlets.append(f.outlet)
        c = s.centroid
        if f.title:
            cur = -1.0 if s.best_title_vec is None else float(np.dot(s.best_title_vec, c))
            if float(np.dot(f.title_vec, c)) > cur:
                s.best_title, s.best_title_vec = f.title, f.title_vec
        self._article_story[f.id] = s.id
        self._index(s)

    def _merge(self, keep: _Story, gone: _Story, bridge: str, score: float) -> None:
        lim = self.settings.terms_per_story
        self._unindex(gone)
        keep.doc_sum = keep.doc_sum + gone.doc_sum
        keep.articles.extend(gone.articles)
        keep.dates.update(gone.dates)
        for d in (gone.first, gone.last):
            if d is not None:
                keep.first = d if keep.first is None else min(keep.first, d)
                keep.last = d if keep.last is None else max(keep.last, d)
        keep.terms_norm = _add_bag(keep.terms, gone.terms, lim)
        keep.names_norm = _add_bag(keep.names, gone.names, lim)
        keep.quotes |= gone.quotes
        keep.points = sorted(set(keep.points) | set(gone.points), key=lambda p: (p[0] or 0, p[1], p[2]))[-64:]
        keep.languages.update(gone.languages)
        keep.years |= gone.years
        keep.outlets.extend(o for o in gone.outlets if o not in keep.outlets)
        c = keep.centroid
        if gone.best_title_vec is not None and (
                keep.best_title_vec is None
                or float(np.dot(gone.best_title_vec, c)) > float(np.dot(keep.best_title_vec, c))):
            keep.best_title, keep.best_title_vec = gone.best_title, gone.best_title_vec
        for aid in gone.articles:
            self._article_story[aid] = keep.id
        del self._stories[gone.key]
        del self._by_id[gone.id]
        self._alias[gone.id] = keep.id
        for old, new in list(self._alias.items()):
            if new == gone.id:
                self._alias[old] = keep.id
        self.merges.append(StoryMerge(kept=keep.id, merged=gone.id, bridge_article=bridge, score=round(score, 4)))
        self._index(keep, force=True)

    def add(self, article: Article, vectors: ArticleVectors) -> str:
        """Assign one article; returns its story id (an article already assigned keeps its story)."""
        if article.id in self._article_story:
            return self.resolve(self._article_story[article.id])
        return self.add_features(self.features(article, vectors))

    def add_features(self, f: Features) -> str:
        st = self.settings
        scored = sorted(((self.score(f, s), s.key) for s in self.candidates(f)), reverse=True)
        scored = [(sc, k) for sc, k in scored if sc >= st.join_threshold]
        if not scored:
            s = self._new_story(f)
            self._join(s, f)
            return s.id
        best = self._stories[scored[0][1]]
        self._join(best, f)
        for sc, k in scored[1:]:
            other = self._stories.get(k)
            if other is None or sc < st.merge_threshold:
                continue
            sim = self.story_similarity(best, other)
            if sim >= st.merge_threshold:
                keep, gone = (best, other) if best.key < other.key else (other, best)
                self._merge(keep, gone, f.id, min(sc, sim))
                best = keep
        return best.id

    def resolve(self, story_id: str) -> str:
        return self._alias.get(story_id, story_id)

    def story_of(self, article_id: str) -> str | None:
        return self._article_story.get(article_id)

    # ---- output ----------------------------------------------------------------------------------------
    def keywords(self, s: _Story, n: int = 8) -> list[str]:
        return key_phrases(s.terms, n)

    def stories(self) -> list[Story]:
        out = []
        for s in sorted(self._stories.values(), key=lambda s: s.key):
            arts = sorted(s.articles, key=lambda a: (s.dates.get(a) or "9999", a))
            out.append(Story(id=s.id, title=s.best_title or (s.articles[0] if s.articles else s.id),
                             articles=arts, first_seen=s.first, last_seen=s.last,
                             keywords=self.keywords(s), outlets=list(s.outlets)))
        return out

    def __len__(self) -> int:
        return len(self._stories)

    # ---- state -----------------------------------------------------------------------------------------
    def to_state(self) -> bytes:
        """Everything needed to continue (no pickle: JSON metadata and float arrays in an ``.npz``)."""
        stories = sorted(self._stories.values(), key=lambda s: s.key)
        meta: dict[str, Any] = {
            "version": STATE_VERSION, "next": self._next, "df_n": self.df.n, "alias": self._alias,
            "merges": [[m.kept, m.merged, m.bridge_article, m.score] for m in self.merges],
            "stories": [{
                "key": s.key, "id": s.id, "title": s.best_title, "articles": s.articles, "dates": s.dates,
                "first": s.first.isoformat() if s.first else None, "last": s.last.isoformat() if s.last else None,
                "terms": s.terms, "names": s.names, "quotes": sorted(s.quotes), "points": s.points, "years": sorted(s.years),
                "languages": dict(s.languages), "outlets": s.outlets} for s in stories],
        }
        buf = io.BytesIO()
        docs = np.stack([s.doc_sum for s in stories]) if stories else np.zeros((0, DIM), np.float32)
        titles = np.stack([s.best_title_vec if s.best_title_vec is not None else np.zeros(DIM, np.float32)
                           for s in stories]) if stories else np.zeros((0, DIM), np.float32)
        np.savez_compressed(buf, meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
                            docs=docs.astype(np.float32), titles=titles.astype(np.float32), df=self.df.table)
        return buf.getvalue()

    @classmethod
    def from_state(cls, data: bytes, settings: StorySettings | None = None) -> StoryAssigner:
        z = np.load(io.BytesIO(data), allow_pickle=False)
        meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        if meta.get("version") != STATE_VERSION:
            raise ValueError(f"story state version {meta.get('version')} is not {STATE_VERSION}")
        a = cls(settings)
        a.df.table = np.array(z["df"], dtype=np.int32)
        a.df.bits = int(math.log2(len(a.df.table)))
        a.df.n = int(meta["df_n"])
        a._next = int(meta["next"])
        a._alias = dict(meta["alias"])
        a.merges = [StoryMerge(kept=k, merged=m, bridge_article=b, score=float(sc)) for k, m, b, sc in meta["merges"]]
        docs, titles = z["docs"], z["titles"]
        for i, d in enumerate(meta["stories"]):
            s = _Story(key=int(d["key"]), id=d["id"], doc_sum=np.array(docs[i], dtype=np.float32))
            s.best_title = d["title"]
            s.best_title_vec = np.array(titles[i], dtype=np.float32) if d["title"] is not None else None
            s.articles = list(d["articles"])
            s.dates = dict(d["dates"])
            s.first = dt.date.fromisoformat(d["first"]) if d["first"] else None
            s.last = dt.date.fromisoformat(d["last"]) if d["last"] else None
            s.terms = {k: float(v) for k, v in d["terms"].items()}
            s.terms_norm = _norms(s.terms)
            s.names = {k: float(v) for k, v in d["names"].items()}
            s.names_norm = _norms(s.names)
            s.quotes = set(d["quotes"])
            s.points = [(p[0], p[1], p[2]) for p in d["points"]]
            s.years = set(d.get("years", []))
            s.languages = Counter(d["languages"])
            s.outlets = list(d["outlets"])
            a._stories[s.key] = s
            a._by_id[s.id] = s.key
            for aid in s.articles:
                a._article_story[aid] = s.id
            a._index(s, force=True)
        return a


def key_phrases(bag: dict[str, float], n: int = 8) -> list[str]:
    """The heaviest terms of a tf-idf bag, bigrams first, without unigrams a chosen bigram already holds."""
    ranked = sorted(bag.items(), key=lambda kv: (-kv[1] * (1.3 if " " in kv[0] else 1.0), kv[0]))
    out: list[str] = []
    for t, _ in ranked:
        if t.isdigit():
            continue
        if any(t in o.split() or (" " in t and o in t.split()) for o in out):
            if " " in t:
                out = [o for o in out if o not in t.split()]
            else:
                continue
        out.append(t)
        if len(out) >= n:
            break
    return out


def _sort_key(a: Article) -> tuple[dt.date, str]:
    return (a.published.value or dt.date.max, a.id)


def recluster(articles: Sequence[Article], vectors: Sequence[ArticleVectors], settings: StorySettings | None = None
              ) -> tuple[list[Story], list[StoryMerge]]:
    """Batch re-clustering (back-fills).

    Document frequencies come from the whole batch.  Articles are cut into time blocks (a gap longer than
    ``window_days`` between consecutive dates starts a new block; undated articles form one block); each block is
    clustered by average linkage over the pairwise similarity (the streaming score's terms, article to article;
    pairs further apart in time than the window never link) cut at ``batch_threshold``.  A block larger than
    ``batch_max_block`` goes through the streaming assigner instead, so memory stays bounded.  Pairs are then
    verified against the streaming score (:func:`_verified`) and fragments attached to the group they score best
    against (:func:`_attached`).  Stories are then
    built in publication order, so ids come from each story's earliest article.
    """
    st = settings or StorySettings()
    a = StoryAssigner(st)
    pairs = sorted(zip(articles, vectors, strict=True), key=lambda p: _sort_key(p[0]))
    for art, _ in pairs:
        a.df.add(set(term_counts(art.text or "", art.title)) | set(names_of(art)))
    feats = [a.features(art, v, count_df=False) for art, v in pairs]
    blocks: list[list[Features]] = []
    undated = [f for f in feats if f.date is None]
    if len(feats) <= st.batch_max_block:
        blocks.append(feats)  # one block: time still counts pair by pair
        undated = []
    else:
        prev: dt.date | None = None
        for f in feats:
            if f.date is None:
                continue
            if prev is None or (f.date - prev).days > st.window_days:
                blocks.append([])
            blocks[-1].append(f)
            prev = f.date
    for block in blocks:
        if len(block) > st.batch_max_block:
            for f in block:
                a.add_features(f)
            continue
        for group in _attached(a, _verified(a, _average_linkage(block, st))):
            s = a._new_story(group[0])
            for f in group:
                a._join(s, f)
    for f in undated:  # large back-fills: undated articles join the stories built above, or start their own
        a.add_features(f)
    return a.stories(), list(a.merges)


def pair_similarity(f: Features, g: Features, st: StorySettings) -> float:
    """The streaming score's terms for two articles."""
    if f.date is not None and g.date is not None and abs((f.date - g.date).days) > st.window_days:
        return -math.inf
    emb = float(np.dot(f.doc, g.doc))
    if f.script != g.script:
        # the streaming scale, moved onto the pairwise one
        sim = st.crosslingual_scale * emb - st.crosslingual_offset - (st.join_threshold - st.batch_threshold)
    else:
        sim = st.w_doc * emb + st.w_lex * cosine(f.terms, g.terms) + st.w_names * cosine(f.names, g.names)
    if f.quotes and g.quotes:
        sim += st.w_quotes * len(f.quotes & g.quotes) / min(len(f.quotes), len(g.quotes))
    if f.date is not None and g.date is not None:
        sim -= st.time_penalty * abs((f.date - g.date).days) / max(1, st.window_days)
    elif (f.date is None) != (g.date is None):
        sim -= st.undated_penalty
    return sim + pair_adjustment(f.dates, f.years, g.dates, g.years, st.window_days, st.date_conflict_penalty,
                                 st.date_match_bonus, st.year_conflict_penalty)


def _verified(a: StoryAssigner, groups: list[list[Features]]) -> list[list[Features]]:
    """Each member of a linked group of at most ``batch_verify_max_group`` articles must also pass the streaming
    test (``join_threshold - batch_verify_margin``) against the rest of its group; one that does not is set apart.
    A pair rests on a single link (two undated reports of the same kind, like the 2018 seed reports, can clear the
    cut on theme alone); a larger group's average rests on many, and verifying it only costs recall."""
    out: list[list[Features]] = []
    for g in groups:
        if len(g) < 2 or len(g) > a.settings.batch_verify_max_group:
            out.append(g)
            continue
        keep: list[Features] = []
        for i, f in enumerate(g):
            rest = _Story(key=-1, id="", doc_sum=np.zeros(DIM, dtype=np.float32))
            for j, h in enumerate(g):
                if j != i:
                    _fold(rest, h, a.settings.terms_per_story)
            if a.score(f, rest) >= a.settings.join_threshold - a.settings.batch_verify_margin:
                keep.append(f)
            else:
                out.append([f])
        if keep:
            out.append(keep)
    return out


def _attached(a: StoryAssigner, groups: list[list[Features]]) -> list[list[Features]]:
    """Fragments of at most ``batch_attach_max`` articles join the larger group they score best against (the
    streaming score of each of their articles against the group's folded story; the best must reach the verify
    level, ``join_threshold - batch_verify_margin``): average linkage leaves an article apart when its links to
    a big group are weak on average although the group as a whole is close.  Only the few groups nearest in
    embedding space are scored."""
    st = a.settings
    if st.batch_attach_max <= 0:
        return groups
    big = [g for g in groups if len(g) > st.batch_attach_max]
    small = [g for g in groups if len(g) <= st.batch_attach_max]
    if not big or not small:
        return groups
    folded = []
    for g in big:
        s = _Story(key=-1, id="", doc_sum=np.zeros(DIM, dtype=np.float32))
        for f in g:
            _fold(s, f, st.terms_per_story)
        folded.append(s)
    cents = np.stack([s.centroid for s in folded])
    level = st.join_threshold - st.batch_verify_margin
    out_small: list[list[Features]] = []
    for g in small:
        near = np.argsort(-(cents @ normalise(np.sum([f.doc for f in g], axis=0))))[:st.candidates]
        best, where = -math.inf, -1
        for k in near:
            sc = min(a.score(f, folded[int(k)]) for f in g)
            if sc > best:
                best, where = sc, int(k)
        if where >= 0 and best >= level:
            big[where].extend(g)
        else:
            out_small.append(g)
    return big + out_small


def _fold(s: _Story, f: Features, lim: int) -> None:
    """The scoring-relevant part of :meth:`StoryAssigner._join` (no index, no title)."""
    s.doc_sum = s.doc_sum + f.doc
    if f.date is not None:
        s.first = f.date if s.first is None else min(s.first, f.date)
        s.last = f.date if s.last is None else max(s.last, f.date)
    s.terms_norm = _add_bag(s.terms, f.terms, lim)
    s.names_norm = _add_bag(s.names, f.names, lim)
    s.quotes |= f.quotes
    s.points = sorted(set(s.points) | set(f.dates), key=lambda p: (p[0] or 0, p[1], p[2]))
    s.years |= f.years
    s.languages[f.script] += 1


def _average_linkage(block: list[Features], st: StorySettings) -> list[list[Features]]:
    n = len(block)
    if n == 1:
        return [block]
    from sklearn.cluster import AgglomerativeClustering

    docs = np.stack([f.doc for f in block])
    emb = docs @ docs.T
    # texts this far apart in embedding space are unrelated (similarity ~0): not scored in full
    sim = np.where(emb < 0.15, st.w_doc * emb, 0.0).astype(np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            if emb[i, j] < 0.15:
                continue
            v = pair_similarity(block[i], block[j], st)
            sim[i, j] = sim[j, i] = max(v, -10.0)
    big = 20.0
    dist = np.clip(big - sim, 0.0, None)
    np.fill_diagonal(dist, 0.0)
    labels = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                     distance_threshold=big - st.batch_threshold).fit_predict(dist)
    groups: dict[int, list[Features]] = {}
    for f, lab in zip(block, labels, strict=True):
        groups.setdefault(int(lab), []).append(f)
    return list(groups.values())
