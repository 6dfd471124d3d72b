"""The store as the story stream's backend: per-story state, members' signals, lookup keys of closed stories and
the stream's background counts, in the tables ``story_states``, ``story_members``, ``story_keys`` and ``stream_df``.

:func:`apply_changes` writes one :class:`~storylens.stories.stream.StreamChanges` inside a caller's session (the
local runner does it in the transaction of a batch's last article, so an article and the story state that reflects
it are committed together).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from storylens.store.schema import StateRow, StoryKeyRow, StoryMemberRow, StoryStateRow, StreamDocFreqRow
from storylens.stories.state import StoryState, signals_from_bytes, signals_to_bytes, state_from_parts, state_meta
from storylens.stories.stream import StreamChanges

if TYPE_CHECKING:
    from storylens.store.db import Store

STREAM_KEY = "story_stream"  # the stream's counters, in the state table
_CHUNK = 500  # ids per IN (...) clause


def _chunks(xs: Sequence[Any]) -> list[Sequence[Any]]:
    return [xs[k:k + _CHUNK] for k in range(0, len(xs), _CHUNK)]


class StoreStoryBackend:
    """:class:`~storylens.stories.stream.StoryBackend` over a :class:`~storylens.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, keys: Sequence[str], limit: int, when: tuple[dt.date, dt.date] | None = None) -> list[str]:
        if not keys or limit <= 0:
            return []
        with self.store.session() as s:
            n = func.count(StoryKeyRow.key)
            q = select(StoryKeyRow.story_id, n).where(StoryKeyRow.key.in_(list(keys)))
            if when is not None:
                q = q.join(StoryStateRow, StoryStateRow.id == StoryKeyRow.story_id).where(
                    StoryStateRow.first <= when[1], StoryStateRow.last >= when[0])
            q = q.group_by(StoryKeyRow.story_id).order_by(n.desc(), StoryKeyRow.story_id).limit(limit)
            return [sid for sid, _ in s.execute(q)]

    def load(self, story_ids: Sequence[str]) -> list[StoryState]:
        if not story_ids:
            return []
        out: list[StoryState] = []
        with self.store.session() as s:
            for chunk in _chunks(list(story_ids)):
                rows = {r.id: r for r in s.scalars(select(StoryStateRow).where(StoryStateRow.id.in_(chunk)))}
                members: dict[str, list[Any]] = {sid: [] for sid in rows}
                q = select(StoryMemberRow).where(StoryMemberRow.story_id.in_(list(rows)))
                for m in s.scalars(q):
                    sig = signals_from_bytes(m.data)
                    sig.best_lex, sig.best_emb, sig.best_xemb, sig.compared = (m.best_lex, m.best_emb, m.best_xemb,
                                                                               m.compared)
                    members[m.story_id].append(sig)
                for sid in chunk:
                    if sid in rows:
                        r = rows[sid]
                        out.append(state_from_parts(
                            {"id": r.id, "first": r.first.isoformat() if r.first else None,
                             "last": r.last.isoformat() if r.last else None, "last_arrival": r.last_arrival,
                             "closed": r.closed, "created": r.created}, members[sid]))
        return out

    def story_of(self, article_id: str) -> str | None:
        with self.store.session() as s:
            return s.scalar(select(StoryMemberRow.story_id).where(StoryMemberRow.article_id == article_id))

    def apply(self, changes: StreamChanges) -> None:
        with self.store.session.begin() as s:
            apply_changes(s, changes)

    def count(self) -> int:
        """Stories stored (open and closed)."""
        with self.store.session() as s:
            return int(s.scalar(select(func.count()).select_from(StoryStateRow)) or 0)

    def story_ids(self, chunk: int) -> Iterator[list[str]]:
        """Every stored story id, ``chunk`` at a time, oldest first."""
        with self.store.session() as s:
            ids = list(s.scalars(select(StoryStateRow.id).order_by(StoryStateRow.created, StoryStateRow.id)))
        for k in range(0, len(ids), chunk):
            yield ids[k:k + chunk]

    def members(self, chunk: int) -> Iterator[list[tuple[str, str]]]:
        """(article id, story id) of every stored member, ``chunk`` rows at a time."""
        last = ""
        while True:
            with self.store.session() as s:
                q = (select(StoryMemberRow.article_id, StoryMemberRow.story_id)
                     .where(StoryMemberRow.article_id > last).order_by(StoryMemberRow.article_id).limit(chunk))
                rows = [(a, b) for a, b in s.execute(q)]
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def restore(self) -> tuple[dict[str, object], list[tuple[int, int]], list[StoryState]]:
        with self.store.session() as s:
            raw = s.scalar(select(StateRow.data).where(StateRow.key == STREAM_KEY))
            meta = json.loads(raw.decode("utf-8")) if raw else {}
            counts = [(int(b), int(c)) for b, c in s.execute(select(StreamDocFreqRow.bucket, StreamDocFreqRow.count))]
            active = list(s.scalars(select(StoryStateRow.id).where(StoryStateRow.closed.is_(False))
                                    .order_by(StoryStateRow.created, StoryStateRow.id)))
        return meta, counts, self.load(active)


def apply_changes(s: Session, changes: StreamChanges) -> None:
    """Write one flush of the stream in the session ``s``."""
    for chunk in _chunks(changes.removed):
        s.execute(delete(StoryMemberRow).where(StoryMemberRow.article_id.in_(list(chunk))))
    for chunk in _chunks(changes.deleted):
        s.execute(delete(StoryStateRow).where(StoryStateRow.id.in_(list(chunk))))
        s.execute(delete(StoryKeyRow).where(StoryKeyRow.story_id.in_(list(chunk))))
        s.execute(delete(StoryMemberRow).where(StoryMemberRow.story_id.in_(list(chunk))))
    for sid, members in changes.members.items():
        for m in members:
            mrow = s.get(StoryMemberRow, m.id)
            if mrow is None:
                s.add(StoryMemberRow(article_id=m.id, story_id=sid, position=m.arrival, best_lex=m.best_lex,
                                     best_emb=m.best_emb, best_xemb=m.best_xemb, compared=m.compared,
                                     data=signals_to_bytes(m)))
            else:
                mrow.story_id, mrow.position, mrow.data = sid, m.arrival, signals_to_bytes(m)
                mrow.best_lex, mrow.best_emb, mrow.best_xemb = m.best_lex, m.best_emb, m.best_xemb
                mrow.compared = m.compared
    s.flush()
    if changes.bests:  # ORM bulk UPDATE by primary key (one executemany)
        s.execute(update(StoryMemberRow), [
            {"article_id": aid, "best_lex": lex, "best_emb": emb, "best_xemb": xemb, "compared": n}
            for aid, (lex, emb, xemb, n) in changes.bests.items()])
    for st in changes.stories:
        meta = state_meta(st)
        row = s.get(StoryStateRow, st.id)
        if row is None:
            row = StoryStateRow(id=st.id)
            s.add(row)
        row.closed, row.first, row.last = st.closed, st.first, st.last
        row.last_arrival, row.created = st.last_arrival, st.created
        s.execute(delete(StoryKeyRow).where(StoryKeyRow.story_id == st.id))
        if meta["closed"]:
            for key in st.lookup_keys():
                s.add(StoryKeyRow(key=key[:256], story_id=st.id))
    s.flush()
    if changes.df_counts:
        existing: set[int] = set()
        buckets = sorted(changes.df_counts)
        for chunk in _chunks(buckets):
            existing.update(s.scalars(select(StreamDocFreqRow.bucket).where(StreamDocFreqRow.bucket.in_(list(chunk)))))
        old = [{"bucket": b, "count": changes.df_counts[b]} for b in buckets if b in existing]
        new = [{"bucket": b, "count": changes.df_counts[b]} for b in buckets if b not in existing]
        if old:
            s.execute(update(StreamDocFreqRow), old)
        if new:
            s.execute(insert(StreamDocFreqRow), new)
    data = json.dumps(changes.meta, sort_keys=True).encode("utf-8")
    srow = s.get(StateRow, STREAM_KEY)
    if srow is None:
        s.add(StateRow(key=STREAM_KEY, version=1, data=data))
    else:
        srow.data, srow.version = data, srow.version + 1
