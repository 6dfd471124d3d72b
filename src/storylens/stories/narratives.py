"""Narratives: stories far apart in time that carry the same theme and the same actors, linked incrementally.

Each story is reduced to a :class:`StorySummary` (its centroid, its members' names and terms).  When a story
changes, it is compared with the stories that share one of its main names (asked of a :class:`NarrativeBackend`);
two stories are alike when ``0.5 * centroid cosine + 0.3 * term cosine + 0.2 * shared actors + 0.1 * name cosine``
reaches ``narrative_threshold`` and they share a name (:class:`NarrativeLinker` says how a story joins or founds a
narrative).  A narrative is grown one story at a time against the narrative as a whole, so that a recurring actor
does not chain unrelated topics into one.  The title is made of the narrative's main entities and key phrase.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from storylens.embed import DIM, normalise
from storylens.model import Narrative
from storylens.settings import StorySettings
from storylens.stories.features import cosine
from storylens.stories.state import StoryState

SUMMARY_NAMES = 40
SUMMARY_TERMS = 60
LINK_KEYS = 8  # a story's heaviest names that find the stories it may link with
CANDIDATES = 50


@dataclass(slots=True)
class StorySummary:
    """What narrative linking knows of a story."""

    id: str
    centroid: np.ndarray
    names: dict[str, float]
    terms: dict[str, float]
    first: dt.date | None = None
    last: dt.date | None = None
    size: int = 0

    def link_keys(self) -> list[str]:
        return [k for k, _ in sorted(self.names.items(), key=lambda kv: (-kv[1], kv[0]))[:LINK_KEYS]]

    def to_bytes(self) -> bytes:
        head = json.dumps({"id": self.id, "names": self.names, "terms": self.terms, "size": self.size,
                           "first": self.first.isoformat() if self.first else None,
                           "last": self.last.isoformat() if self.last else None},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return struct.pack("<I", len(head)) + head + self.centroid.astype("<f2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> StorySummary:
        (n,) = struct.unpack("<I", data[:4])
        d = json.loads(data[4:4 + n].decode("utf-8"))
        vec = np.frombuffer(data[4 + n:], dtype="<f2").astype(np.float32)
        return cls(id=d["id"], centroid=vec, names={k: float(v) for k, v in d["names"].items()},
                   terms={k: float(v) for k, v in d["terms"].items()}, size=int(d["size"]),
                   first=dt.date.fromisoformat(d["first"]) if d["first"] else None,
                   last=dt.date.fromisoformat(d["last"]) if d["last"] else None)


def _top(bag: Counter[str], n: int) -> dict[str, float]:
    return {k: round(float(v), 5) for k, v in sorted(bag.items(), key=lambda kv: (-kv[1], kv[0]))[:n]}


def summarize(state: StoryState) -> StorySummary:
    names: Counter[str] = Counter()
    terms: Counter[str] = Counter()
    vec = np.zeros(DIM, dtype=np.float32)
    for m in state.members.values():
        names.update(m.names)
        terms.update(m.terms)
        vec += m.doc
    centroid = np.asarray(normalise(vec), dtype=np.float16).astype(np.float32)
    return StorySummary(id=state.id, centroid=centroid, names=_top(names, SUMMARY_NAMES),
                        terms=_top(terms, SUMMARY_TERMS), first=state.first, last=state.last,
                        size=len(state.members))


def similarity(a: StorySummary, b: StorySummary) -> float:
    """Theme and actors of two stories; 0 when they share no name."""
    shared = set(a.names) & set(b.names)
    if not shared:
        return 0.0
    emb = float(np.dot(a.centroid, b.centroid))
    actors = cosine(dict.fromkeys(a.names, 1.0), dict.fromkeys(b.names, 1.0))
    return 0.5 * emb + 0.3 * cosine(a.terms, b.terms) + 0.2 * actors + 0.1 * cosine(a.names, b.names)


@dataclass(slots=True)
class NarrativeState:
    """A narrative: its stories and the sum of their summaries (what a story is compared with to join it)."""

    id: str
    stories: list[str]
    total: StorySummary  # centroid = the sum of the stories' centroids; names and terms summed

    def add(self, s: StorySummary) -> None:
        self._fold(s, 1.0)
        if s.id not in self.stories:
            self.stories.append(s.id)

    def remove(self, s: StorySummary) -> None:
        self._fold(s, -1.0)
        self.stories = [x for x in self.stories if x != s.id]

    def _fold(self, s: StorySummary, sign: float) -> None:
        t = self.total
        t.centroid = t.centroid + sign * s.centroid
        for bag, other in ((t.names, s.names), (t.terms, s.terms)):
            for k, v in other.items():
                nv = bag.get(k, 0.0) + sign * v
                if nv > 1e-9:
                    bag[k] = nv
                else:
                    bag.pop(k, None)
        t.size += int(sign)

    def view(self) -> StorySummary:
        """The narrative as one summary (its centroid normalised, its main names and terms)."""
        t = self.total
        return StorySummary(id=self.id, centroid=np.asarray(normalise(t.centroid), dtype=np.float32),
                            names=_top(Counter(t.names), SUMMARY_NAMES), terms=_top(Counter(t.terms), SUMMARY_TERMS),
                            size=len(self.stories))

    def record(self) -> Narrative:
        title, keywords = _title(self.view(), len(self.stories))
        return Narrative(id=self.id, title=title, stories=list(self.stories), keywords=keywords)


@dataclass(slots=True)
class NarrativeChanges:
    summaries: list[StorySummary] = field(default_factory=list)  # new or changed story summaries
    dropped: list[str] = field(default_factory=list)  # stories gone (merged away, emptied)
    narratives: list[NarrativeState] = field(default_factory=list)  # new or changed narratives
    deleted: list[str] = field(default_factory=list)  # narratives gone (fewer than two stories left)


class NarrativeBackend(Protocol):
    def candidates(self, keys: Sequence[str], limit: int) -> list[StorySummary]:
        """Stored summaries of stories carrying any of ``keys`` (most shared first)."""

    def summaries(self, story_ids: Sequence[str]) -> list[StorySummary]:
        """Stored summaries."""

    def narratives_of(self, story_ids: Sequence[str]) -> dict[str, str]:
        """The narrative of each story that has one."""

    def narrative_states(self, ids: Sequence[str]) -> list[NarrativeState]:
        """Stored narratives with their summed summaries."""

    def apply(self, changes: NarrativeChanges) -> None:
        """Persist one update."""


class MemoryNarratives:
    """A narrative backend in memory (one-shot runs, tests), keeping serialised copies as a store would."""

    def __init__(self) -> None:
        self._summaries: dict[str, bytes] = {}
        self._keys: dict[str, frozenset[str]] = {}
        self._narrative: dict[str, str] = {}
        self._narratives: dict[str, tuple[list[str], bytes]] = {}

    def candidates(self, keys: Sequence[str], limit: int) -> list[StorySummary]:
        want = set(keys)
        hits = [(len(want & k), sid) for sid, k in self._keys.items() if want & k]
        return self.summaries([sid for _, sid in sorted(hits, key=lambda x: (-x[0], x[1]))[:limit]])

    def summaries(self, story_ids: Sequence[str]) -> list[StorySummary]:
        return [StorySummary.from_bytes(self._summaries[s]) for s in story_ids if s in self._summaries]

    def narratives_of(self, story_ids: Sequence[str]) -> dict[str, str]:
        return {s: self._narrative[s] for s in story_ids if s in self._narrative}

    def narrative_states(self, ids: Sequence[str]) -> list[NarrativeState]:
        return [NarrativeState(i, list(self._narratives[i][0]), StorySummary.from_bytes(self._narratives[i][1]))
                for i in ids if i in self._narratives]

    def apply(self, changes: NarrativeChanges) -> None:
        for sid in changes.dropped:
            self._summaries.pop(sid, None)
            self._keys.pop(sid, None)
            self._narrative.pop(sid, None)
        for s in changes.summaries:
            self._summaries[s.id] = s.to_bytes()
            self._keys[s.id] = frozenset(s.link_keys())
        for nid in changes.deleted:
            stories, _ = self._narratives.pop(nid, ([], b""))
            for sid in stories:
                if self._narrative.get(sid) == nid:
                    del self._narrative[sid]
        for n in changes.narratives:
            old, _ = self._narratives.get(n.id, ([], b""))
            for sid in old:
                if sid not in n.stories and self._narrative.get(sid) == n.id:
                    del self._narrative[sid]
            self._narratives[n.id] = (list(n.stories), n.total.to_bytes())
            for sid in n.stories:
                self._narrative[sid] = n.id

    def contents(self) -> NarrativeChanges:
        """Everything held, as the changes that write it into an empty backend."""
        return NarrativeChanges(summaries=self.summaries(sorted(self._summaries)),
                                narratives=self.narrative_states(sorted(self._narratives)))

    def all(self) -> list[Narrative]:
        return sorted((s.record() for s in self.narrative_states(list(self._narratives))),
                      key=lambda n: (-len(n.stories), n.id))


def narrative_id_for(story_id: str) -> str:
    return "nr-" + hashlib.sha1(story_id.encode("utf-8")).hexdigest()[:12]


class NarrativeLinker:
    """Incremental narrative linking over a :class:`NarrativeBackend`.

    A changed story already in a narrative stays there (the narrative's sum follows its new summary).  A story in no
    narrative is compared with the stored stories sharing one of its main names; with the most similar one, if that
    reaches ``narrative_threshold``: when that story has a narrative, the story joins it only if it is as similar to
    the narrative as a whole (so narratives do not chain from topic to topic); otherwise the two found a narrative.
    """

    def __init__(self, settings: StorySettings | None = None, backend: NarrativeBackend | None = None) -> None:
        self.settings = settings or StorySettings()
        self.backend: NarrativeBackend = backend if backend is not None else MemoryNarratives()

    def update(self, changed: Iterable[StoryState], dropped: Sequence[str] = (), *, apply: bool = True
               ) -> NarrativeChanges:
        """The changed stories' summaries and the narratives that change with them.  ``dropped``: stories that no
        longer exist (merged away or emptied)."""
        thr = self.settings.narrative_threshold
        summaries = [summarize(s) for s in changed if s.members]
        fresh = {s.id: s for s in summaries}
        gone = [x for x in dropped if x not in fresh]
        old = {s.id: s for s in self.backend.summaries([*fresh, *gone])}
        member_of = self.backend.narratives_of([*fresh, *gone])
        states = {n.id: n for n in self.backend.narrative_states(sorted(set(member_of.values())))}
        touched: set[str] = set()
        for sid in gone:  # a story merged away leaves its narrative
            nid = member_of.pop(sid, None)
            if nid in states and sid in old:
                states[nid].remove(old[sid])
                touched.add(nid)
        for s in summaries:
            nid = member_of.get(s.id)
            if nid in states:  # the narrative follows the story's new summary
                if s.id in old:
                    states[nid].remove(old[s.id])
                states[nid].add(s)
                touched.add(nid)
                continue
            best, best_sim = None, thr
            pool = {c.id: c for c in self.backend.candidates(s.link_keys(), CANDIDATES)}
            pool.update({k: v for k, v in fresh.items() if set(v.link_keys()) & set(s.link_keys())})
            for cid in sorted(pool):
                if cid == s.id or cid in gone:
                    continue
                sim = similarity(s, fresh.get(cid, pool[cid]))
                if sim >= best_sim:
                    best, best_sim = fresh.get(cid, pool[cid]), sim
            if best is None:
                continue
            other = member_of.get(best.id) or self.backend.narratives_of([best.id]).get(best.id)
            if other is not None and other not in states:
                states.update({n.id: n for n in self.backend.narrative_states([other])})
            if other in states:
                if similarity(s, states[other].view()) >= thr:
                    states[other].add(s)
                    member_of[s.id] = other
                    touched.add(other)
                continue
            nid = narrative_id_for(min(s.id, best.id))
            state = NarrativeState(nid, [], StorySummary(id=nid, centroid=np.zeros(DIM, dtype=np.float32), names={},
                                                          terms={}))
            for x in sorted((best, s), key=lambda x: (x.first or x.last or dt.date.max, x.id)):
                state.add(x)
            states[nid] = state
            member_of[s.id] = member_of[best.id] = nid
            touched.add(nid)
        changes = NarrativeChanges(summaries=summaries, dropped=sorted(gone))
        for nid in sorted(touched):
            n = states[nid]
            if len(n.stories) >= 2:
                changes.narratives.append(n)
            else:
                changes.deleted.append(nid)
        if apply:
            self.backend.apply(changes)
        return changes


def link_narratives(states: Sequence[StoryState], settings: StorySettings | None = None) -> list[Narrative]:
    """Narratives of a set of stories at once (one-shot runs, batch re-clustering), linked in time order."""
    backend = MemoryNarratives()
    linker = NarrativeLinker(settings, backend)
    ordered = sorted(states, key=lambda s: (s.first or dt.date.max, s.id))
    for k in range(0, len(ordered), 64):
        linker.update(ordered[k:k + 64])
    return backend.all()


def _title(summary: StorySummary, n_stories: int) -> tuple[str, list[str]]:
    """The main entities of the narrative (people first) and its main key phrase."""
    chosen: list[str] = []
    for name in sorted(summary.names, key=lambda n: (-summary.names[n], n)):
        bare = name[2:] if name[1:2] == ":" else name
        if any(bare in o or o in bare for o in chosen):
            continue
        chosen.append(bare)
        if len(chosen) == 3:
            break
    phrases = sorted((w for w in summary.terms if " " in w and not any(p.isdigit() for p in w.split())),
                     key=lambda w: (-summary.terms[w], w))
    taken = {w for c in chosen for w in c.split()}
    phrase = next((p for p in phrases if not taken & set(p.split())), None)
    ent_txt = ", ".join(_display(n) for n in chosen)
    title = f"{ent_txt}: {phrase}" if ent_txt and phrase else (ent_txt or phrase or "narrative")
    keywords = [_display(n) for n in chosen] + [p for p in phrases[:5] if p != phrase][:4]
    if phrase:
        keywords.insert(len(chosen), phrase)
    return title, keywords


def _display(name: str) -> str:
    if name.isupper() or len(name) <= 4:
        return name.upper()
    return " ".join(w.capitalize() for w in name.split())
