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
from collections.abc import Iterable, Sequence
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
    date_distance,
    date_points,
    names_of,
    quote_shingles,
    term_counts,
    weigh,
)

STATE_VERSION = 1


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
    terms_norm: float = 0.0
    names: dict[str, float] = field(default_factory=dict)
    names_norm: float = 0.0
    quotes: set[int] = field(default_factory=set)
    points: list[tuple[int | None, int, int]] = field(default_factory=list)
    languages: Counter[str] = field(default_factory=Counter)
    outlets: list[str] = field(default_factory=list)
    buckets: set[int] = field(default_factory=set)
    indexed: np.ndarray | None = None  # the centroid as last written to the indexes

    @property
    def centroid(self) -> np.ndarray:
        return normalise(self.doc_sum)


def _add_bag(bag: dict[str, float], other: dict[str, float], limit: int) -> float:
    for t, v in other.items():
        bag[t] = bag.get(t, 0.0) + v
    if len(bag) > 2 * limit:
        keep = sorted(bag.items(), key=lambda kv: -kv[1])[:limit]
        bag.clear()
        bag.update(keep)
    return math.sqrt(sum(v * v for v in bag.values()))


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
            id=article.id, date=article.published.value, language=(article.language or None),
            doc=normalise(vectors.doc), title_vec=normalise(vectors.title), title=article.title,
            outlet=article.outlet,
            terms=weigh(counts, self.df, self.settings.terms_per_article),
            names=weigh(names, self.df, self.settings.terms_per_article),
            quotes=quote_shingles(article), dates=date_points(article))

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
        same_lang = f.language is None or not s.languages or f.language in s.languages
        if same_lang:
            lex = cosine(f.terms, s.terms, s.terms_norm)
            nam = cosine(f.names, s.names, s.names_norm)
            score = st.w_doc * emb + st.w_lex * lex + st.w_names * nam
        else:  # another language: only the multilingual embedding can compare the texts
            score = emb - st.crosslingual_offset
        if f.quotes and s.quotes:
            score += st.w_quotes * len(f.quotes & s.quotes) / len(f.quotes)
        if gap is not None:
            score -= st.time_penalty * gap / max(1, st.window_days)
        elif f.date is None or s.first is None:
            score -= st.undated_penalty
        dd = date_distance(f.dates, s.points)
        if dd is not None:
            if dd > st.window_days:
                score -= st.date_conflict_penalty
            elif dd <= 1:
                score += st.date_match_bonus
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
            s = (st.w_doc * emb + st.w_lex * cosine(a.terms, b.terms, b.terms_norm)
                 + st.w_names * cosine(a.names, b.names, b.names_norm))
        else:
            s = emb - st.crosslingual_offset
        dd = date_distance(a.points, b.points)
        if dd is not None and dd > st.window_days:
            s -= st.date_conflict_penalty
        return s

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
        if f.language:
            s.languages[f.language] += 1
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
                "terms": s.terms, "names": s.names, "quotes": sorted(s.quotes), "points": s.points,
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
            s.terms_norm = math.sqrt(sum(v * v for v in s.terms.values()))
            s.names = {k: float(v) for k, v in d["names"].items()}
            s.names_norm = math.sqrt(sum(v * v for v in s.names.values()))
            s.quotes = set(d["quotes"])
            s.points = [(p[0], p[1], p[2]) for p in d["points"]]
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
    """Batch re-clustering (back-fills): document frequencies from the whole batch first, then the articles in
    publication order (undated last) through the streaming assigner, then a pass merging stories that the
    whole picture shows are one."""
    st = settings or StorySettings()
    a = StoryAssigner(st)
    pairs = sorted(zip(articles, vectors, strict=True), key=lambda p: _sort_key(p[0]))
    for art, _ in pairs:
        a.df.add(set(term_counts(art.text or "", art.title)) | set(names_of(art)))
    feats = [a.features(art, v, count_df=False) for art, v in pairs]
    for f in feats:
        a.add_features(f)
    if st.refine_passes:
        a = _refine(a, feats, st)
    return a.stories(), list(a.merges)


def _refine(a: StoryAssigner, feats: Iterable[Features], st: StorySettings) -> StoryAssigner:
    """One k-means-like pass: every article re-placed against the final stories (its own story minus itself);
    rebuilt so ids still come from each story's founding article."""
    feats = list(feats)
    target: dict[str, int] = {}
    for f in feats:
        own = a._article_story.get(f.id)
        best_key, best = None, -math.inf
        for s in a.candidates(f):
            sc = a.score(f, s)
            if s.id == own and len(s.articles) == 1:
                continue
            if sc > best:
                best_key, best = s.key, sc
        own_key = a._by_id.get(a.resolve(own or ""))
        target[f.id] = best_key if best_key is not None and best >= st.join_threshold else (
            own_key if own_key is not None and len(a._stories[own_key].articles) > 1 else -1)
    b = StoryAssigner(st)
    b.df = a.df
    groups: dict[int, list[Features]] = {}
    for f in feats:
        k = target[f.id]
        if k == -1:
            groups[-1 - len(groups)] = [f]
        else:
            groups.setdefault(k, []).append(f)
    for grp in groups.values():
        s = b._new_story(grp[0])
        for f in grp:
            b._join(s, f)
    b.merges = list(a.merges)
    return b
