"""The store as the narrative linker's backend (``story_summaries``, ``story_names``, ``narrative_summaries``,
``narratives`` and ``stories.narrative_id``).  :func:`apply_narrative_changes` writes one update inside a caller's
session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storylens.store.schema import NarrativeRow, NarrativeSummaryRow, StoryNameRow, StoryRow, StorySummaryRow
from storylens.stories.narratives import NarrativeChanges, NarrativeState, StorySummary

if TYPE_CHECKING:
    from storylens.store.db import Store

_CHUNK = 500


class StoreNarratives:
    """:class:`~storylens.stories.narratives.NarrativeBackend` over a :class:`~storylens.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def candidates(self, keys: Sequence[str], limit: int) -> list[StorySummary]:
        if not keys:
            return []
        with self.store.session() as s:
            n = func.count(StoryNameRow.key)
            q = (select(StoryNameRow.story_id, n).where(StoryNameRow.key.in_(list(keys)))
                 .group_by(StoryNameRow.story_id).order_by(n.desc(), StoryNameRow.story_id).limit(limit))
            ids = [sid for sid, _ in s.execute(q)]
        return self.summaries(ids)

    def summaries(self, story_ids: Sequence[str]) -> list[StorySummary]:
        out: dict[str, StorySummary] = {}
        ids = list(story_ids)
        with self.store.session() as s:
            for k in range(0, len(ids), _CHUNK):
                q = select(StorySummaryRow).where(StorySummaryRow.story_id.in_(ids[k:k + _CHUNK]))
                for r in s.scalars(q):
                    out[r.story_id] = StorySummary.from_bytes(r.data)
        return [out[i] for i in ids if i in out]

    def narratives_of(self, story_ids: Sequence[str]) -> dict[str, str]:
        ids = list(story_ids)
        out: dict[str, str] = {}
        with self.store.session() as s:
            for k in range(0, len(ids), _CHUNK):
                q = select(StoryRow.id, StoryRow.narrative_id).where(StoryRow.id.in_(ids[k:k + _CHUNK]),
                                                                     StoryRow.narrative_id.is_not(None))
                out.update({sid: nid for sid, nid in s.execute(q) if nid is not None})
        return out

    def narrative_states(self, ids: Sequence[str]) -> list[NarrativeState]:
        if not ids:
            return []
        with self.store.session() as s:
            rows = {r.id: r for r in s.scalars(select(NarrativeRow).where(NarrativeRow.id.in_(list(ids))))}
            sums = {r.narrative_id: r.data for r in s.scalars(
                select(NarrativeSummaryRow).where(NarrativeSummaryRow.narrative_id.in_(list(ids))))}
        return [NarrativeState(i, list(rows[i].stories), StorySummary.from_bytes(sums[i]))
                for i in ids if i in rows and i in sums]

    def apply(self, changes: NarrativeChanges) -> None:
        with self.store.session.begin() as s:
            apply_narrative_changes(s, changes)


def apply_narrative_changes(s: Session, changes: NarrativeChanges) -> None:
    dropped = list(changes.dropped)
    for k in range(0, len(dropped), _CHUNK):
        chunk = dropped[k:k + _CHUNK]
        s.execute(delete(StorySummaryRow).where(StorySummaryRow.story_id.in_(chunk)))
        s.execute(delete(StoryNameRow).where(StoryNameRow.story_id.in_(chunk)))
    for summary in changes.summaries:
        row = s.get(StorySummaryRow, summary.id)
        if row is None:
            s.add(StorySummaryRow(story_id=summary.id, data=summary.to_bytes()))
        else:
            row.data = summary.to_bytes()
        s.execute(delete(StoryNameRow).where(StoryNameRow.story_id == summary.id))
        for key in summary.link_keys():
            s.add(StoryNameRow(key=key[:256], story_id=summary.id))
    for nid in changes.deleted:
        s.execute(update(StoryRow).where(StoryRow.narrative_id == nid).values(narrative_id=None))
        s.execute(delete(NarrativeRow).where(NarrativeRow.id == nid))
        s.execute(delete(NarrativeSummaryRow).where(NarrativeSummaryRow.narrative_id == nid))
    for state in changes.narratives:
        n = state.record()
        nrow = s.get(NarrativeRow, n.id)
        if nrow is None:
            s.add(NarrativeRow(id=n.id, title=n.title, stories=list(n.stories), keywords=list(n.keywords)))
        else:
            nrow.title, nrow.stories, nrow.keywords = n.title, list(n.stories), list(n.keywords)
        srow = s.get(NarrativeSummaryRow, n.id)
        if srow is None:
            s.add(NarrativeSummaryRow(narrative_id=n.id, data=state.total.to_bytes()))
        else:
            srow.data = state.total.to_bytes()
        s.execute(update(StoryRow).where(StoryRow.narrative_id == n.id, StoryRow.id.not_in(list(n.stories)))
                  .values(narrative_id=None))
        s.execute(update(StoryRow).where(StoryRow.id.in_(list(n.stories))).values(narrative_id=n.id))
    s.flush()
