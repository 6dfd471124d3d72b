"""Streaming story assignment over an active window: :class:`StoryStream`.

Each new article is scored with the :class:`~storylens.stories.scorer.SameStoryScorer` against the stories it may
belong to: the stories of its candidates among the active window's articles (nearest by embedding and by tf-idf
overlap, :class:`~storylens.stories.index.CandidateIndex`) and closed stories that share its rarest names and terms
(asked of the :class:`StoryBackend`).  Its probability for a story is the mean of its pairwise probabilities with
up to ``story_members`` of the story's members (the nearest); it joins the most likely story when that reaches
``link_threshold``, else it founds a story whose id derives from its own id.  When it also reaches the threshold
with another story and the two stories score at least the threshold with each other (the same average-linkage
test), they merge: the older story keeps its id and a :class:`~storylens.model.StoryMerge` is recorded.

A story that receives nothing for ``close_after_days`` of stream time (``close_after_arrivals`` articles for an
undated story) is closed: handed to the backend and dropped from memory.  It is reopened only when a late article
or a follow-up belongs to it.  Memory is bounded by the active window, not by the history.  The stream's state
(active stories, the background document frequencies, counters) is persisted incrementally through
:meth:`StoryStream.flush`, per story; the local runner writes it to the store, the Spark runner to a scratch store on
the driver.  Both runners feed the same articles in the same order (:func:`assignment_order`) and get the same
stories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from storylens.embed import ArticleVectors
from storylens.model import Article, Story, StoryMerge, shift_date
from storylens.settings import StorySettings
from storylens.stories.features import DocFreq
from storylens.stories.index import CandidateIndex, lookup_keys
from storylens.stories.linkage import average_linkage, spread
from storylens.stories.scorer import SameStoryScorer
from storylens.stories.signals import ArticleSignals, observe, raw_signals, weigh_signals
from storylens.stories.state import (
    StoryState,
    signals_from_bytes,
    signals_to_bytes,
    state_from_parts,
    state_meta,
    story_id_for,
)

ASSIGNMENT_BATCH = 64  # the local runner's batch: articles of one batch are assigned in date order


def _overlaps(story: StoryState, when: tuple[dt.date, dt.date]) -> bool:
    return story.first is not None and story.last is not None and story.first <= when[1] and story.last >= when[0]


def assignment_order(articles: Iterable[Article], batch: int = ASSIGNMENT_BATCH) -> list[Article]:
    """The order both runners assign articles in: input order in batches of ``batch``, each batch by publication
    date (undated last), then id."""
    items = list(articles)
    out: list[Article] = []
    for k in range(0, len(items), batch):
        out.extend(sorted(items[k:k + batch], key=lambda a: (a.published.value or dt.date.max, a.id)))
    return out


@dataclass(slots=True)
class StreamChanges:
    """What changed since the last :meth:`StoryStream.flush`, for a backend to persist in one go."""

    stories: list[StoryState] = field(default_factory=list)  # new or changed (closed ones have ``closed`` set)
    members: dict[str, list[ArticleSignals]] = field(default_factory=dict)  # story id -> members to (re)write
    # member -> its closest matches (lexical, same language, other language) and how many comparisons they rest on
    bests: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)  # articles taken out of their story
    deleted: list[str] = field(default_factory=list)  # stories merged away or emptied
    merges: list[StoryMerge] = field(default_factory=list)
    df_counts: dict[int, int] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)


class StoryBackend(Protocol):
    """Where closed stories (and the persisted state of active ones) live."""

    def find(self, keys: Sequence[str], limit: int, when: tuple[dt.date, dt.date] | None = None) -> list[str]:
        """Ids of stored closed stories that carry any of ``keys`` (and whose span reaches into ``when``), most shared
        keys first."""

    def load(self, story_ids: Sequence[str]) -> list[StoryState]:
        """Stored stories with their members' signals."""

    def story_of(self, article_id: str) -> str | None:
        """The stored story holding an article."""

    def apply(self, changes: StreamChanges) -> None:
        """Persist what a flush returned."""

    def story_ids(self, chunk: int) -> Iterator[list[str]]:
        """Every stored story id, ``chunk`` at a time, oldest first."""

    def members(self, chunk: int) -> Iterator[list[tuple[str, str]]]:
        """(article id, story id) of every stored member, ``chunk`` rows at a time."""

    def restore(self) -> tuple[dict[str, object], list[tuple[int, int]], list[StoryState]]:
        """The stream's counters, its background counts and its active stories, as last persisted."""


class MemoryBackend:
    """A backend in memory (one-shot runs, the Spark driver, tests), laid out as the store lays it out: story rows,
    member rows of serialised signals, lookup keys of closed stories."""

    def __init__(self) -> None:
        self._stories: dict[str, dict[str, object]] = {}
        self._members: dict[str, tuple[str, bytes]] = {}  # article id -> (story id, signals)
        self._by_story: dict[str, set[str]] = {}
        self._keys: dict[str, frozenset[str]] = {}  # closed story -> its lookup keys
        self._meta: dict[str, object] = {}
        self._df: dict[int, int] = {}

    def find(self, keys: Sequence[str], limit: int, when: tuple[dt.date, dt.date] | None = None) -> list[str]:
        want = set(keys)
        hits = [(len(want & k), sid) for sid, k in self._keys.items() if want & k
                and (when is None or _meta_overlaps(self._stories[sid], when))]
        return [sid for _, sid in sorted(hits, key=lambda x: (-x[0], x[1]))[:limit]]

    def load(self, story_ids: Sequence[str]) -> list[StoryState]:
        return [state_from_parts(self._stories[sid], [signals_from_bytes(self._members[a][1])
                                                      for a in self._by_story.get(sid, ())])
                for sid in story_ids if sid in self._stories]

    def story_of(self, article_id: str) -> str | None:
        m = self._members.get(article_id)
        return m[0] if m else None

    def apply(self, changes: StreamChanges) -> None:
        for aid in changes.removed:
            sid, _ = self._members.pop(aid, ("", b""))
            self._by_story.get(sid, set()).discard(aid)
        for sid in changes.deleted:
            self._stories.pop(sid, None)
            self._keys.pop(sid, None)
            for aid in self._by_story.pop(sid, set()):
                if self._members.get(aid, ("",))[0] == sid:
                    del self._members[aid]
        for sid, members in changes.members.items():
            for m in members:
                old = self._members.get(m.id)
                if old is not None:
                    self._by_story.get(old[0], set()).discard(m.id)
                self._members[m.id] = (sid, signals_to_bytes(m))
                self._by_story.setdefault(sid, set()).add(m.id)
        for aid, (lex, emb, xemb, n) in changes.bests.items():
            if aid in self._members:
                sid, blob = self._members[aid]
                m = signals_from_bytes(blob)
                m.best_lex, m.best_emb, m.best_xemb, m.compared = lex, emb, xemb, n
                self._members[aid] = (sid, signals_to_bytes(m))
        for st in changes.stories:
            self._stories[st.id] = state_meta(st)
            if st.closed:
                self._keys[st.id] = frozenset(st.lookup_keys())
            else:
                self._keys.pop(st.id, None)
        self._df.update(changes.df_counts)
        self._meta = dict(changes.meta)

    def story_ids(self, chunk: int) -> Iterator[list[str]]:
        """Every stored story id, ``chunk`` at a time, oldest first."""
        ids = sorted(self._stories, key=lambda s: (int(str(self._stories[s]["created"])), s))
        for k in range(0, len(ids), chunk):
            yield ids[k:k + chunk]

    def members(self, chunk: int) -> Iterator[list[tuple[str, str]]]:
        """(article id, story id) of every stored member, ``chunk`` rows at a time."""
        rows = sorted((a, sid) for a, (sid, _) in self._members.items())
        for k in range(0, len(rows), chunk):
            yield rows[k:k + chunk]

    def restore(self) -> tuple[dict[str, object], list[tuple[int, int]], list[StoryState]]:
        active = [sid for sid, meta in self._stories.items() if not meta["closed"]]
        return dict(self._meta), sorted(self._df.items()), self.load(sorted(active))


def _meta_overlaps(meta: dict[str, object], when: tuple[dt.date, dt.date]) -> bool:
    first, last = meta.get("first"), meta.get("last")
    return bool(first and last and str(first) <= when[1].isoformat() and str(last) >= when[0].isoformat())


class StoryStream:
    """Streaming story assignment; see the module docstring."""

    def __init__(self, settings: StorySettings | None = None, backend: StoryBackend | None = None,
                 scorer: SameStoryScorer | None = None) -> None:
        self.settings = st = settings or StorySettings()
        self.backend: StoryBackend = backend if backend is not None else MemoryBackend()
        self.scorer = scorer or SameStoryScorer(st.scorer_model, st.window_days)
        self.df = DocFreq(track=True)
        self.index = CandidateIndex()
        self.active: dict[str, StoryState] = {}
        self._member: dict[str, str] = {}  # article id -> active story id
        self._pending: dict[str, StoryState] = {}  # closed since the last flush, not yet with the backend
        self.arrivals = 0
        self.clock: dt.date | None = None
        self._dirty: set[str] = set()
        self._new_members: dict[str, list[str]] = {}
        self._deleted: set[str] = set()
        self._merges: list[StoryMerge] = []
        self._removed: set[str] = set()  # articles taken out of a story (their id may have founded it)
        self._touched: set[str] = set()  # members whose closest match changed since the last flush
        self._moved: set[str] = set()  # articles removed since the last flush (to delete from the backend)
        self._observed: set[str] = set()  # members compared with the arriving article

    # ---- restore ---------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: StorySettings | None = None, backend: StoryBackend | None = None,
             scorer: SameStoryScorer | None = None) -> StoryStream:
        """A stream continuing from what ``backend`` holds."""
        s = cls(settings, backend, scorer)
        meta, counts, active = s.backend.restore()
        if meta:
            s.arrivals = int(str(meta.get("arrivals", 0)))
            clock = meta.get("clock")
            s.clock = dt.date.fromisoformat(str(clock)) if clock else None
            s.df.load(int(str(meta.get("df_n", 0))), counts)
            s.df.take_changes()
        for state in active:
            s._activate(state)
        return s

    # ---- assignment ----------------------------------------------------------------------------------------------
    def add(self, article: Article, vectors: ArticleVectors) -> str:
        """Assign one article (analysed, with its vectors); returns its story id.  An article already in an active
        or stored story is first taken out of it (an updated article moves when it no longer belongs)."""
        return self.add_many([(article, vectors)])[0]

    def add_many(self, items: Sequence[tuple[Article, ArticleVectors]]) -> list[str]:
        """Assign a batch of articles at once (in the given order); returns their story ids.  The articles of a
        batch see each other: each is compared with its batch-mates as well as with the stories in memory, and the
        batch is grouped by average linkage with the candidate stories as clusters already formed."""
        return self.add_raw_many([raw_signals(article, vectors) for article, vectors in items])

    def add_raw_many(self, raws: Sequence[ArticleSignals]) -> list[str]:
        """:meth:`add_many` for signals made by :func:`~storylens.stories.signals.raw_signals` (the Spark runner
        makes them on its executors): the batch joins the stream's background, then each is weighed against it."""
        for raw in raws:
            if self.story_of(raw.id) is not None:
                self.remove(raw.id)
        for raw in raws:  # the whole batch joins the background first: its articles are weighed alike
            if not raw.weighted:
                self.df.add(set(raw.terms) | set(raw.names))
        sigs = [weigh_signals(raw, self.df, self.settings.terms_per_article, count=False) for raw in raws]
        return self.add_signals_many(sigs)

    def add_signals(self, s: ArticleSignals) -> str:
        return self.add_signals_many([s])[0]

    def add_signals_many(self, sigs: Sequence[ArticleSignals]) -> list[str]:
        st = self.settings
        for s in sigs:
            self.arrivals += 1
            s.arrival = self.arrivals
            if s.date is not None and (self.clock is None or s.date > self.clock):
                self.clock = s.date
            if st.df_halflife > 0 and self.arrivals % st.df_halflife == 0:
                self.df.halve()
        self.close_idle()  # by the clock as this batch moves it: a story left quiet too long takes no new article
        # candidates: the stories of each article's nearest articles in memory, closed stories sharing its keys,
        # and its nearest batch-mates; every comparison is recorded first (the relative features' context)
        batch = CandidateIndex()
        for s in sigs:
            batch.add(s)
        by_id = {s.id: s for s in sigs}
        stories: dict[str, StoryState] = {}
        wanted: dict[str, list[str]] = {}  # article -> candidate stories
        mates: set[tuple[str, str]] = set()
        for s in sigs:
            self._observed = set()
            found = self._candidates(s)
            wanted[s.id] = [x.id for x in found]
            for x in found:
                stories.setdefault(x.id, x)
            for mate in batch.nearest(s, st.candidates):
                pair = (s.id, mate) if s.id < mate else (mate, s.id)
                if pair not in mates:
                    mates.add(pair)
                    observe(s, by_id[mate])
        chosen: dict[tuple[str, str], list[ArticleSignals]] = {}
        for s in sigs:
            self._observed = set()
            for sid in wanted[s.id]:
                ms = self._members_for(stories[sid], s)
                chosen[(s.id, sid)] = ms
                if sid in self.active:  # a closed story is not changed by being looked at
                    for m in ms:
                        self._observe(s, m)
        # one graph: the candidate stories' members (clusters already formed), then the batch
        order = sorted(stories.values(), key=lambda x: (x.created, x.id))
        nodes: list[ArticleSignals] = []
        groups: list[list[int]] = []
        for x in order:
            groups.append(list(range(len(nodes), len(nodes) + len(x.members))))
            nodes.extend(x.members.values())
        first_new = len(nodes)
        nodes.extend(sigs)
        pos = {m.id: i for i, m in enumerate(nodes)}
        pairs = sorted({(pos[a], pos[b]) for a, b in mates}
                       | {(pos[m.id], pos[aid]) if pos[m.id] < pos[aid] else (pos[aid], pos[m.id])
                          for (aid, _), ms in chosen.items() for m in ms})
        probs = self.scorer.matrix(nodes, pairs) if pairs else np.zeros(0)
        labels = average_linkage(len(nodes), dict(zip(pairs, probs.tolist(), strict=True)), st.link_threshold,
                                 complete=lambda more: self.scorer.matrix(nodes, list(more)).tolist(),
                                 cap=st.story_members, initial=groups, dates=[m.date for m in nodes],
                                 max_gap_days=st.close_after_days)
        # read the clusters: a cluster holding stories keeps the oldest one's id (the others merge into it)
        out: dict[str, str] = {}
        clusters: dict[int, list[int]] = {}
        for i, lab in enumerate(labels):
            clusters.setdefault(lab, []).append(i)
        story_at = {g[0]: x for g, x in zip(groups, order, strict=True) if g}
        for lab in sorted(clusters):
            idx = clusters[lab]
            held = [story_at[i] for i in idx if i in story_at]
            new = [nodes[i] for i in idx if i >= first_new]
            if not new:
                continue  # a candidate story nothing joined
            if held:
                target = held[0]
                if target.id not in self.active:
                    self._activate(target)  # a closed story reopens
                for other in held[1:]:
                    target = self._merge(target, other, new[0].id, self._story_probability(target, other))
            else:
                target = self._found(new[0])
                new = new[1:]
            for s in new:
                self._join(target, s)
            for s in [nodes[i] for i in idx if i >= first_new]:
                out[s.id] = target.id
        for s in sigs:  # a merge after an article's join moves it along
            out[s.id] = self._member.get(s.id, out[s.id])
        return [out[s.id] for s in sigs]

    def install(self, states: Sequence[StoryState], df: DocFreq) -> None:
        """Start from stories formed elsewhere (a batch re-clustering): their members (weighted against ``df``,
        numbered by arrival) become the stream's, ``df`` its background; idle stories are closed at once."""
        for state in sorted(states, key=lambda x: (x.created, x.id)):
            state.closed = False
            self.active[state.id] = state
            for m in state.members.values():
                self.index.add(m)
                self._member[m.id] = state.id
                self.arrivals = max(self.arrivals, m.arrival)
                if m.date is not None and (self.clock is None or m.date > self.clock):
                    self.clock = m.date
            self._dirty.add(state.id)
            self._new_members[state.id] = list(state.members)
        self.df.table[:] = df.table
        self.df.n = df.n
        if self.df.changed is not None:
            self.df.changed.update(np.flatnonzero(self.df.table).tolist())
        self.close_idle()

    def _candidates(self, s: ArticleSignals) -> list[StoryState]:
        """Active stories of the nearest articles; for a late article (one dated within ``window_days`` of a closed
        story's span), closed stories sharing its rarest keys."""
        out: dict[str, StoryState] = {}
        for aid in self.index.nearest(s, self.settings.candidates):
            sid = self._member.get(aid)
            if sid is not None:
                self._observe(s, self.active[sid].members[aid])  # the context of the relative features
                if sid not in out:
                    out[sid] = self.active[sid]
        keys = lookup_keys(s)
        if keys and s.date is not None and self.settings.reopen_candidates > 0:
            window = self.settings.window_days
            when = (shift_date(s.date, -window), shift_date(s.date, window))  # the closed story's span must reach in
            want = set(keys)
            closed = [sid for sid, p in self._pending.items() if want & p.lookup_key_set() and _overlaps(p, when)]
            closed += [sid for sid in self.backend.find(keys, self.settings.reopen_candidates, when)
                       if sid not in self._pending]
            closed = closed[: self.settings.reopen_candidates]  # only these are looked at: only these are loaded
            missing = [sid for sid in closed if sid not in out and sid not in self.active and sid not in self._pending]
            loaded = {x.id: x for x in self.backend.load(missing)}
            for sid in closed:
                state = self._pending.get(sid) or loaded.get(sid)
                if state is not None and sid not in out and _overlaps(state, when):
                    out[sid] = state
        return list(out.values())

    def _members_for(self, story: StoryState, s: ArticleSignals) -> list[ArticleSignals]:
        mem = list(story.members.values())
        if len(mem) <= self.settings.story_members:
            return mem
        sims = np.stack([m.doc for m in mem]) @ s.doc
        order = sorted(range(len(mem)), key=lambda i: (-float(sims[i]), mem[i].id))
        return [mem[i] for i in order[: self.settings.story_members]]

    def _observe(self, s: ArticleSignals, m: ArticleSignals) -> None:
        if m.id not in self._observed:  # each pair once per arrival
            self._observed.add(m.id)
            observe(s, m)
            self._touched.add(m.id)

    def _story_probability(self, a: StoryState, b: StoryState) -> float:
        """Average linkage of two stories over (a spread of) their members."""
        cap = self.settings.story_members
        ma = spread(list(a.members.values()), cap)
        mb = spread(list(b.members.values()), cap)
        pairs = [(x, y) for x in ma for y in mb if x.id != y.id]
        if not pairs:
            return 0.0
        feats = np.stack([self.scorer.features(x, y) for x, y in pairs])
        return float(np.mean(self.scorer.model.probability(feats)))

    # ---- updates -------------------------------------------------------------------------------------------------
    def _found(self, s: ArticleSignals) -> StoryState:
        sid = story_id_for(s.id)
        while (sid in self.active or sid in self._pending or sid in self._deleted
               or (s.id in self._removed and self.backend.load([sid]))):
            sid = story_id_for(sid)
        story = StoryState(id=sid, created=s.arrival)
        self.active[sid] = story
        self._deleted.discard(sid)
        self._join(story, s)
        return story

    def _join(self, story: StoryState, s: ArticleSignals) -> None:
        story.add(s, s.arrival)
        self.index.add(s)
        self._member[s.id] = story.id
        self._dirty.add(story.id)
        self._new_members.setdefault(story.id, []).append(s.id)

    def _activate(self, story: StoryState) -> None:
        self._pending.pop(story.id, None)
        story.closed = False
        self.active[story.id] = story
        for m in story.members.values():
            self.index.add(m)
            self._member[m.id] = story.id
        self._dirty.add(story.id)

    def _evict(self, story: StoryState) -> None:
        for aid in story.members:
            self.index.remove(aid)
            self._member.pop(aid, None)
        self.active.pop(story.id, None)

    def _merge(self, a: StoryState, b: StoryState, bridge: str, score: float) -> StoryState:
        keep, gone = (a, b) if (a.created, a.id) <= (b.created, b.id) else (b, a)
        for x in (keep, gone):
            if x.id not in self.active:
                self._activate(x)
        for m in list(gone.members.values()):
            keep.add(m, gone.last_arrival)
            self._member[m.id] = keep.id
        self._new_members.setdefault(keep.id, []).extend(gone.members)
        self._new_members.pop(gone.id, None)
        keep.last_arrival = max(keep.last_arrival, gone.last_arrival)
        self.active.pop(gone.id, None)
        self._dirty.discard(gone.id)
        self._dirty.add(keep.id)
        self._deleted.add(gone.id)
        self._merges.append(StoryMerge(kept=keep.id, merged=gone.id, bridge_article=bridge, score=round(score, 4)))
        return keep

    def remove(self, article_id: str) -> str | None:
        """Take an article out of its story (active or stored); an emptied story is deleted.  Returns the story."""
        sid = self.story_of(article_id)
        if sid is None or sid in self._deleted:
            return None
        if sid not in self.active:
            stored = self._pending.get(sid) or next(iter(self.backend.load([sid])), None)
            if stored is None or article_id not in stored.members:
                return None
            self._activate(stored)
        story = self.active[sid]
        story.remove(article_id)
        self._removed.add(article_id)
        self._moved.add(article_id)
        for ms in self._new_members.values():
            if article_id in ms:
                ms.remove(article_id)
        self.index.remove(article_id)
        self._member.pop(article_id, None)
        if not story.members:
            self.active.pop(sid, None)
            self._dirty.discard(sid)
            self._deleted.add(sid)
        else:
            self._dirty.add(sid)
        return sid

    def close_idle(self) -> list[str]:
        """Close the stories that received nothing for ``close_after_days`` of stream time (undated stories: for
        ``close_after_arrivals`` articles).  Returns their ids."""
        st = self.settings
        closed: list[str] = []
        for sid in sorted(self.active):
            story = self.active[sid]
            if story.last is not None and self.clock is not None:
                idle = (self.clock - story.last).days > st.close_after_days
            else:
                idle = self.arrivals - story.last_arrival > st.close_after_arrivals
            if idle:
                closed.append(sid)
        for sid in closed:
            story = self.active[sid]
            self._evict(story)
            story.closed = True
            self._pending[sid] = story
            self._dirty.add(sid)
        return closed

    # ---- output --------------------------------------------------------------------------------------------------
    def story_of(self, article_id: str) -> str | None:
        sid = self._member.get(article_id)
        if sid is not None:
            return sid
        for p in self._pending.values():
            if article_id in p.members:
                return p.id
        return self.backend.story_of(article_id)

    def all_states(self) -> list[StoryState]:
        """Active stories and stories closed since the last flush."""
        return sorted([*self.active.values(), *self._pending.values()], key=lambda x: (x.created, x.id))

    def stories(self) -> list[Story]:
        """The public records of the stories in memory (active and just closed), oldest first."""
        return [x.to_story() for x in self.all_states()]

    def changed_stories(self) -> list[Story]:
        """The public records of the stories changed since the last flush."""
        return [x.to_story() for x in self.all_states() if x.id in self._dirty]

    def new_merges(self) -> list[StoryMerge]:
        return list(self._merges)

    def dirty_ids(self) -> set[str]:
        """Stories changed since the last flush."""
        return set(self._dirty)

    def flush(self, apply: bool = True) -> StreamChanges:
        """Everything changed since the last flush, handed to the backend (and returned).  With ``apply=False``
        the caller persists the changes itself (the local runner, in the transaction of the batch's last
        article)."""
        states = [x for x in self.all_states() if x.id in self._dirty]
        by_id = {x.id: x for x in states}
        members = {sid: [by_id[sid].members[a] for a in ids if a in by_id[sid].members]
                   for sid, ids in self._new_members.items() if sid in by_id}
        written = {m.id for ms in members.values() for m in ms}
        bests = {}
        for aid in sorted(self._touched - written):
            sid = self._member.get(aid)
            story = self.active.get(sid) if sid else None
            m = story.members.get(aid) if story else None
            if m is not None:
                bests[aid] = (m.best_lex, m.best_emb, m.best_xemb, m.compared)
        changes = StreamChanges(
            stories=states, members=members, bests=bests, removed=sorted(self._moved - written),
            deleted=sorted(self._deleted), merges=list(self._merges), df_counts=self.df.take_changes(),
            meta={"arrivals": self.arrivals, "clock": self.clock.isoformat() if self.clock else None,
                  "df_n": self.df.n})
        if apply:
            self.backend.apply(changes)
        self._pending.clear()
        self._dirty.clear()
        self._new_members.clear()
        self._deleted.clear()
        self._merges.clear()
        self._touched.clear()
        self._moved.clear()
        return changes


