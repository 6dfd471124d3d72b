"""Narratives: stories far apart in time that carry the same theme and the same actors, linked incrementally.

Each story is reduced to a :class:`StorySummary` (its centroid, its members' names and terms).  When a story
changes, it is compared with the stories that share one of its main names (asked of a :class:`NarrativeBackend`);
two stories are linked when ``0.5 * centroid cosine + 0.3 * term cosine + 0.2 * shared actors + 0.1 * name cosine``
reaches ``narrative_threshold`` and they share a name.  A narrative is a connected group of linked stories (two at
least); links are only added, so narratives grow and merge as stories arrive, whatever the time between them.
The title is made of the entities and the key phrase most of its stories share.
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
class NarrativeChanges:
    summaries: list[StorySummary] = field(default_factory=list)  # new or changed story summaries
    dropped: list[str] = field(default_factory=list)  # stories gone (merged away, emptied)
    narratives: list[Narrative] = field(default_factory=list)  # new or changed narratives (full membership)
    deleted: list[str] = field(default_factory=list)  # narratives gone (merged into another, or too small)


class NarrativeBackend(Protocol):
    def candidates(self, keys: Sequence[str], limit: int) -> list[StorySummary]:
        """Stored summaries of stories carrying any of ``keys`` (most shared first)."""

    def narratives_of(self, story_ids: Sequence[str]) -> dict[str, str]:
        """The narrative of each story that has one."""

    def narratives(self, ids: Sequence[str]) -> list[Narrative]:
        """Stored narratives."""

    def summaries(self, story_ids: Sequence[str]) -> list[StorySummary]:
        """Stored summaries."""

    def apply(self, changes: NarrativeChanges) -> None:
        """Persist one update."""


class MemoryNarratives:
    """A narrative backend in memory (one-shot runs, tests)."""

    def __init__(self) -> None:
        self._summaries: dict[str, StorySummary] = {}
        self._narrative: dict[str, str] = {}
        self._narratives: dict[str, Narrative] = {}

    def candidates(self, keys: Sequence[str], limit: int) -> list[StorySummary]:
        want = set(keys)
        hits = [(len(want & set(s.link_keys())), s.id) for s in self._summaries.values() if want & set(s.link_keys())]
        return [self._summaries[sid] for _, sid in sorted(hits, key=lambda x: (-x[0], x[1]))[:limit]]

    def narratives_of(self, story_ids: Sequence[str]) -> dict[str, str]:
        return {s: self._narrative[s] for s in story_ids if s in self._narrative}

    def narratives(self, ids: Sequence[str]) -> list[Narrative]:
        return [self._narratives[i] for i in ids if i in self._narratives]

    def summaries(self, story_ids: Sequence[str]) -> list[StorySummary]:
        return [self._summaries[s] for s in story_ids if s in self._summaries]

    def apply(self, changes: NarrativeChanges) -> None:
        for sid in changes.dropped:
            self._summaries.pop(sid, None)
            self._narrative.pop(sid, None)
        for s in changes.summaries:
            self._summaries[s.id] = s
        for nid in changes.deleted:
            n = self._narratives.pop(nid, None)
            for sid in n.stories if n else []:
                if self._narrative.get(sid) == nid:
                    del self._narrative[sid]
        for n in changes.narratives:
            self._narratives[n.id] = n
            for sid in n.stories:
                self._narrative[sid] = n.id

    def all(self) -> list[Narrative]:
        return sorted(self._narratives.values(), key=lambda n: (-len(n.stories), n.id))


def narrative_id_for(story_id: str) -> str:
    return "nr-" + hashlib.sha1(story_id.encode("utf-8")).hexdigest()[:12]


class NarrativeLinker:
    """Incremental narrative linking over a :class:`NarrativeBackend`."""

    def __init__(self, settings: StorySettings | None = None, backend: NarrativeBackend | None = None) -> None:
        self.settings = settings or StorySettings()
        self.backend: NarrativeBackend = backend if backend is not None else MemoryNarratives()

    def update(self, changed: Iterable[StoryState], dropped: Sequence[str] = (), *, apply: bool = True
               ) -> NarrativeChanges:
        """Summaries of the changed stories, their links to the stored stories, and the narratives that result.
        ``dropped``: stories that no longer exist (merged away or emptied)."""
        summaries = [summarize(s) for s in changed if s.members]
        fresh = {s.id: s for s in summaries}
        gone = set(dropped)
        touched_narratives = set(self.backend.narratives_of([*fresh, *gone]).values())
        # links: each changed story against the stored stories sharing its names, and against the other changed
        links: list[tuple[str, str]] = []
        for s in summaries:
            pool = {c.id: c for c in self.backend.candidates(s.link_keys(), CANDIDATES) if c.id not in gone}
            pool.update({k: v for k, v in fresh.items() if set(v.link_keys()) & set(s.link_keys())})
            for cid in sorted(pool):
                other = fresh.get(cid, pool[cid])
                if cid != s.id and similarity(s, other) >= self.settings.narrative_threshold:
                    links.append((s.id, cid))
        for a, b in links:
            touched_narratives.update(self.backend.narratives_of([a, b]).values())
        # the touched narratives' stories plus the newly linked ones form the affected part of the graph
        old = self.backend.narratives(sorted(touched_narratives))
        stories = {sid for n in old for sid in n.stories} | {x for link in links for x in link}
        stories -= gone
        parent = {sid: sid for sid in stories}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for n in old:  # existing narratives stay linked (a story merged away drops out)
            kept = [sid for sid in n.stories if sid in parent]
            for sid in kept[1:]:
                parent[find(sid)] = find(kept[0])
        for a, b in links:
            if a in parent and b in parent:
                ra, rb = find(a), find(b)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
        groups: dict[str, list[str]] = {}
        for sid in stories:
            groups.setdefault(find(sid), []).append(sid)
        known = {s.id: s for s in self.backend.summaries(sorted(stories - set(fresh)))}
        known.update(fresh)
        old_by_story = {sid: n.id for n in old for sid in n.stories}
        narratives: list[Narrative] = []
        used: set[str] = set()
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort(key=lambda sid: (_first(known.get(sid)), sid))
            # the narrative keeps the id of the oldest narrative it holds, else gets one from its first story
            olds = sorted({old_by_story[sid] for sid in members if sid in old_by_story})
            nid = next((o for o in olds if o not in used), None) or narrative_id_for(min(members))
            used.add(nid)
            title, keywords = _title([known[sid] for sid in members if sid in known])
            narratives.append(Narrative(id=nid, title=title, stories=members, keywords=keywords))
        changes = NarrativeChanges(summaries=summaries, dropped=sorted(gone), narratives=narratives,
                                   deleted=sorted({n.id for n in old} - used))
        if apply:
            self.backend.apply(changes)
        return changes


def _first(s: StorySummary | None) -> dt.date:
    return (s.first or s.last or dt.date.max) if s is not None else dt.date.max


def link_narratives(states: Sequence[StoryState], settings: StorySettings | None = None) -> list[Narrative]:
    """Narratives of a set of stories at once (one-shot runs, batch re-clustering)."""
    backend = MemoryNarratives()
    linker = NarrativeLinker(settings, backend)
    ordered = sorted(states, key=lambda s: (s.first or dt.date.max, s.id))
    for k in range(0, len(ordered), 256):
        linker.update(ordered[k:k + 256])
    return backend.all()


def _title(stories: list[StorySummary]) -> tuple[str, list[str]]:
    """Entities then a key phrase shared by the most stories (ties: the heavier)."""
    k = len(stories)
    share: Counter[str] = Counter()
    mass: dict[str, float] = {}
    for s in stories:
        share.update(set(s.names))
        for n, v in s.names.items():
            mass[n] = mass.get(n, 0.0) + v
    # at equal share a full name ("elena marsh") beats its parts
    ents = sorted(share, key=lambda n: (-share[n], -(" " in n), -mass[n], n))
    chosen: list[str] = []
    for n in ents:
        if share[n] < max(2, (k + 1) // 2):
            break
        bare = n[2:] if n[1:2] == ":" else n
        if any(bare in o or o in bare for o in chosen):
            continue
        chosen.append(bare)
        if len(chosen) == 3:
            break
    tshare: Counter[str] = Counter()
    tmass: dict[str, float] = {}
    for s in stories:
        for w, tv in s.terms.items():
            tshare[w] += 1
            tmass[w] = tmass.get(w, 0.0) + tv
    phrases = sorted((w for w in tshare if " " in w and not any(p.isdigit() for p in w.split())),
                     key=lambda w: (-tshare[w], -tmass[w], w))
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
