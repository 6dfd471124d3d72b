"""A story while it is being built: its members' signals, its span, what the outside world sees of it.

:class:`StoryState` is what :class:`~storylens.stories.stream.StoryStream` keeps in memory for an active story and
what a :class:`~storylens.stories.stream.StoryBackend` persists for a closed one.  :func:`signals_to_bytes` /
:func:`signals_from_bytes` serialise one member (no pickle: a JSON header and float16 rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from storylens.embed import DIM, normalise
from storylens.model import Story
from storylens.stories.signals import ArticleSignals

_MAGIC = b"SLS1"


def story_id_for(founder: str) -> str:
    """A story's id: derived from its founding article's id, so it never changes as data arrives."""
    return "st-" + hashlib.sha1(founder.encode("utf-8")).hexdigest()[:12]


@dataclass(slots=True)
class StoryState:
    id: str
    members: dict[str, ArticleSignals] = field(default_factory=dict)  # article id -> signals, in joining order
    first: dt.date | None = None  # firm dates only
    last: dt.date | None = None
    last_arrival: int = 0  # the stream's arrival counter when the story last received an article
    closed: bool = False
    created: int = 0  # the stream's arrival counter when the story was founded: the older story keeps its id
    _key_set: frozenset[str] | None = field(default=None, repr=False, compare=False)  # lookup keys, until it changes

    def lookup_keys(self, limit: int = 64) -> list[str]:
        """The lookup keys of the story (its members' rarest names and terms), by how many members carry them."""
        from storylens.stories.index import lookup_keys

        c: Counter[str] = Counter()
        for m in self.members.values():
            c.update(lookup_keys(m))
        return [k for k, _ in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]]

    def lookup_key_set(self) -> frozenset[str]:
        if self._key_set is None:
            self._key_set = frozenset(self.lookup_keys())
        return self._key_set

    def add(self, s: ArticleSignals, arrival: int) -> None:
        self._key_set = None
        last = next(reversed(self.members.values()), None)
        self.members[s.id] = s
        if last is not None and (s.arrival, s.id) < (last.arrival, last.id):  # members stay in arrival order
            self.members = dict(sorted(self.members.items(), key=lambda kv: (kv[1].arrival, kv[0])))
        self.last_arrival = max(self.last_arrival, arrival)
        if s.date is not None:
            self.first = s.date if self.first is None else min(self.first, s.date)
            self.last = s.date if self.last is None else max(self.last, s.date)

    def remove(self, article_id: str) -> None:
        self._key_set = None
        self.members.pop(article_id, None)
        dates = [m.date for m in self.members.values() if m.date is not None]
        self.first, self.last = (min(dates), max(dates)) if dates else (None, None)

    def centroid(self) -> np.ndarray:
        return normalise(np.sum([m.doc for m in self.members.values()], axis=0)) if self.members else np.zeros(DIM)

    def to_story(self) -> Story:
        """The public record: members by date, the title nearest the centroid, key phrases, outlets."""
        mem = list(self.members.values())
        c = self.centroid()
        titled = [m for m in mem if m.title_text]
        title = (max(titled, key=lambda m: (float(np.dot(m.title, c)), -mem.index(m))).title_text
                 if titled else (mem[0].id if mem else self.id))
        terms: Counter[str] = Counter()
        for m in mem:
            terms.update(m.terms)
        outlets: list[str] = []
        for m in mem:
            if m.outlet and m.outlet not in outlets:
                outlets.append(m.outlet)
        arts = sorted(self.members, key=lambda a: (_iso(self.members[a].date), a))
        return Story(id=self.id, title=title or self.id, articles=arts, first_seen=self.first, last_seen=self.last,
                     keywords=key_phrases(dict(terms)), outlets=outlets)


def _iso(d: dt.date | None) -> str:
    return d.isoformat() if d else "9999"


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


# ---- serialisation of one member's signals --------------------------------------------------------------------
def signals_to_bytes(s: ArticleSignals) -> bytes:
    head = json.dumps({
        "id": s.id, "date": s.date.isoformat() if s.date else None, "script": s.script, "language": s.language,
        "words": s.words, "terms": s.terms, "names": s.names, "people": sorted(s.people), "places": sorted(s.places),
        "numbers": sorted(s.numbers), "quotes": sorted(s.quotes), "days": s.days, "years": sorted(s.years),
        "outlet": s.outlet, "title": s.title_text, "best": [s.best_lex, s.best_emb, s.best_xemb, s.compared],
        "arrival": s.arrival},
        ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    rows = np.vstack([s.doc.reshape(1, DIM), s.title.reshape(1, DIM), s.lead.reshape(1, DIM),
                      np.asarray(s.sents, dtype=np.float32).reshape(-1, DIM)]).astype("<f2")
    return _MAGIC + struct.pack("<II", len(head), rows.shape[0]) + head + rows.tobytes()


def signals_from_bytes(data: bytes) -> ArticleSignals:
    if data[:4] != _MAGIC:
        raise ValueError("not a story-signals blob")
    n_head, n_rows = struct.unpack("<II", data[4:12])
    d = json.loads(data[12:12 + n_head].decode("utf-8"))
    rows = np.frombuffer(data[12 + n_head:], dtype="<f2").astype(np.float32).reshape(n_rows, DIM)
    return ArticleSignals(
        id=d["id"], date=dt.date.fromisoformat(d["date"]) if d["date"] else None, script=d["script"],
        language=d["language"], words=int(d["words"]), doc=rows[0].copy(), title=rows[1].copy(), lead=rows[2].copy(),
        sents=rows[3:].copy(), terms={k: float(v) for k, v in d["terms"].items()},
        names={k: float(v) for k, v in d["names"].items()}, people=frozenset(d["people"]),
        places=frozenset(d["places"]), numbers=frozenset(d["numbers"]), quotes=frozenset(d["quotes"]),
        days=[(p[0], p[1], p[2]) for p in d["days"]], years=frozenset(d["years"]), outlet=d["outlet"],
        title_text=d["title"], best_lex=float(d["best"][0]), best_emb=float(d["best"][1]),
        best_xemb=float(d["best"][2]), compared=int(d["best"][3]),
        arrival=int(d.get("arrival", 0)))


def state_meta(st: StoryState) -> dict[str, object]:
    """The story's own fields (its members are stored one by one)."""
    return {"id": st.id, "first": st.first.isoformat() if st.first else None,
            "last": st.last.isoformat() if st.last else None, "last_arrival": st.last_arrival, "closed": st.closed,
            "created": st.created}


def state_from_parts(meta: dict[str, object], members: Iterable[ArticleSignals]) -> StoryState:
    first, last = meta.get("first"), meta.get("last")
    st = StoryState(id=str(meta["id"]), first=dt.date.fromisoformat(str(first)) if first else None,
                    last=dt.date.fromisoformat(str(last)) if last else None,
                    last_arrival=int(str(meta["last_arrival"])), closed=bool(meta["closed"]),
                    created=int(str(meta["created"])))
    for m in sorted(members, key=lambda m: (m.arrival, m.id)):
        st.members[m.id] = m
    return st
