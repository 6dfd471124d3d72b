"""The learned furniture model in the store (``furniture_lines``), written line by line: a batch writes only the
lines it counted, so the cost of a batch does not grow with the history.

Several writers may learn at once (``serve``, ``watch`` and ``ingest`` on one store): a line's stored articles are
the union of what each writer saw, so no writer erases another's counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from storylens.clean.furniture import FurnitureChanges, FurnitureModel
from storylens.store.schema import FurnitureLineRow

if TYPE_CHECKING:
    from storylens.store.db import Store

_CHUNK = 500


def load_furniture(store: Store, min_articles: int = 3, max_words: int = 15) -> FurnitureModel:
    """The stored model (empty when nothing was learned yet)."""
    def rows() -> Iterator[tuple[str, bool, list[str]]]:
        with store.session() as s:
            for r in s.execute(select(FurnitureLineRow.key, FurnitureLineRow.furniture, FurnitureLineRow.articles)
                               .execution_options(yield_per=10_000)):
                yield r.key, bool(r.furniture), [a for a in r.articles.split(",") if a]

    return FurnitureModel(min_articles, max_words).load_lines(rows())


def apply_furniture_changes(s: Session, changes: FurnitureChanges) -> None:
    """Write ``changes`` inside the caller's transaction, merging with what other writers stored meanwhile."""
    keys = sorted({*changes.furniture, *changes.seen, *changes.dropped})
    stored: dict[str, tuple[bool, str]] = {}
    for i in range(0, len(keys), _CHUNK):
        q = (select(FurnitureLineRow.key, FurnitureLineRow.furniture, FurnitureLineRow.articles)
             .where(FurnitureLineRow.key.in_(keys[i:i + _CHUNK])))
        stored.update((k, (bool(f), a)) for k, f, a in s.execute(q))
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for k in changes.furniture:
        (changed if k in stored else new).append({"key": k, "furniture": True, "articles": ""})
    for k, arts in changes.seen.items():
        if k not in stored:
            new.append({"key": k, "furniture": False, "articles": ",".join(arts)})
        elif not stored[k][0]:
            union = list(dict.fromkeys([*(a for a in stored[k][1].split(",") if a), *arts]))
            furniture = len(union) >= changes.min_articles
            changed.append({"key": k, "furniture": furniture, "articles": "" if furniture else ",".join(union)})
    if new:
        s.execute(insert(FurnitureLineRow), new)
    if changed:
        s.execute(update(FurnitureLineRow), changed)  # by primary key
    # a forgotten candidate goes unless another writer has seen it in a second article meanwhile
    gone = [k for k in changes.dropped if k in stored and not stored[k][0] and "," not in stored[k][1]]
    for i in range(0, len(gone), _CHUNK):
        s.execute(delete(FurnitureLineRow).where(FurnitureLineRow.key.in_(gone[i:i + _CHUNK])))
