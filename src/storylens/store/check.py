"""What a consistent store holds, checked: ``storylens check`` and the fault tests read a store with
:func:`check_store` after a crash, a restart or a full disk.

Each invariant is one SQL query that lists the rows breaking it (at most ``limit`` of each kind), so a check of a
large store reads it once per invariant and never loads articles into Python."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, text

if TYPE_CHECKING:
    from storylens.store.db import Store


@dataclass(frozen=True)
class Violation:
    invariant: str  # what should hold, in words
    item: str  # the article, story, quote group or narrative that breaks it

    def __str__(self) -> str:
        return f"{self.invariant}: {self.item}"


# (invariant, query listing the offending items).  Every query is plain SQL that SQLite and PostgreSQL both run.
_INVARIANTS: tuple[tuple[str, str], ...] = (
    ("an original article belongs to no story",
     "SELECT a.id FROM articles a WHERE a.duplicate_of IS NULL AND a.story_id IS NULL ORDER BY a.seq"),
    ("an article belongs to a story that is not stored",
     "SELECT a.id FROM articles a LEFT JOIN stories s ON s.id = a.story_id "
     "WHERE a.story_id IS NOT NULL AND s.id IS NULL ORDER BY a.seq"),
    ("a copy points at an article that is not stored",
     "SELECT a.id FROM articles a LEFT JOIN articles o ON o.id = a.duplicate_of "
     "WHERE a.duplicate_of IS NOT NULL AND o.id IS NULL ORDER BY a.seq"),
    ("a copy points at another copy, not at an original",
     "SELECT a.id FROM articles a JOIN articles o ON o.id = a.duplicate_of "
     "WHERE o.duplicate_of IS NOT NULL ORDER BY a.seq"),
    ("a copy is not in its original's story",
     "SELECT a.id FROM articles a JOIN articles o ON o.id = a.duplicate_of "
     "WHERE o.story_id IS NOT NULL AND (a.story_id IS NULL OR a.story_id <> o.story_id) ORDER BY a.seq"),
    ("a story has no original article",
     "SELECT s.id FROM stories s WHERE NOT EXISTS "
     "(SELECT 1 FROM articles a WHERE a.story_id = s.id AND a.duplicate_of IS NULL) ORDER BY s.id"),
    ("a quote belongs to an article that is not stored",
     "SELECT q.id FROM quotes q LEFT JOIN articles a ON a.id = q.article_id WHERE a.id IS NULL ORDER BY q.id"),
    ("a quote lies outside its article's text",
     "SELECT q.id FROM quotes q JOIN articles a ON a.id = q.article_id "
     "WHERE q.start < 0 OR q.start > q.\"end\" OR q.\"end\" > length(a.text) ORDER BY q.id"),
    ("a quote group belongs to a story that is not stored",
     "SELECT g.id FROM quote_groups g LEFT JOIN stories s ON s.id = g.story_id "
     "WHERE g.story_id IS NOT NULL AND s.id IS NULL ORDER BY g.id"),
    ("a comparison belongs to a story that is not stored",
     "SELECT c.story_id FROM comparisons c LEFT JOIN stories s ON s.id = c.story_id WHERE s.id IS NULL "
     "ORDER BY c.story_id"),
    ("a story is in a narrative that is not stored",
     "SELECT s.id FROM stories s LEFT JOIN narratives n ON n.id = s.narrative_id "
     "WHERE s.narrative_id IS NOT NULL AND n.id IS NULL ORDER BY s.id"),
    ("the story stream holds an article that is not stored",
     "SELECT m.article_id FROM story_members m LEFT JOIN articles a ON a.id = m.article_id WHERE a.id IS NULL "
     "ORDER BY m.article_id"),
    ("the story stream puts an article in another story than the store",
     "SELECT m.article_id FROM story_members m JOIN articles a ON a.id = m.article_id "
     "WHERE a.story_id IS NULL OR a.story_id <> m.story_id ORDER BY m.article_id"),
)


def check_store(store: Store, limit: int = 20) -> list[Violation]:
    """Every broken invariant of ``store`` (at most ``limit`` items of each); an empty list when it is consistent.

    Besides the SQL invariants: each quote group's variants are stored quotes, each narrative lists stored stories
    (each story in one narrative at most), and the SQLite search index holds each article once."""
    out: list[Violation] = []
    with store.engine.connect() as conn:
        for invariant, query in _INVARIANTS:
            for (item,) in conn.execute(text(f"{query} LIMIT {int(limit)}")):
                out.append(Violation(invariant, str(item)))
        out += _quote_group_variants(store, conn, limit)
        out += _narrative_members(conn, limit)
        if store.dialect == "sqlite" and conn.execute(
                text("SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'")).first() is not None:
            n_fts = conn.execute(text("SELECT count(*) FROM articles_fts")).scalar()
            n_art = conn.execute(text("SELECT count(*) FROM articles")).scalar()
            if n_fts != n_art:
                out.append(Violation("the search index holds each article once",
                                     f"{n_fts} indexed rows for {n_art} articles"))
    return out


def _json(value: Any) -> Any:
    """A JSON column as read by plain SQL: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _quote_group_variants(store: Store, conn: Connection, limit: int) -> list[Violation]:
    """Quote groups whose variants name a quote the store does not hold (a variant of one statement of a longer
    quote is named ``<quote id>@<start>-<end>``)."""
    wanted: dict[str, set[str]] = {}
    for gid, qid in store.quote_group_members(None):
        wanted.setdefault(qid.split("@", 1)[0], set()).add(gid)
    ids = list(wanted)
    stored: set[str] = set()
    q = text("SELECT id FROM quotes WHERE id IN :ids").bindparams(bindparam("ids", expanding=True))
    for k in range(0, len(ids), 500):
        stored.update(conn.execute(q, {"ids": ids[k:k + 500]}).scalars())
    bad = sorted({g for qid, groups in wanted.items() if qid not in stored for g in groups})
    return [Violation("a quote group names a quote that is not stored", g) for g in bad[:limit]]


def _narrative_members(conn: Connection, limit: int) -> list[Violation]:
    """Narratives listing a story the store does not hold, stories listed by two narratives, and a narrative and a
    story that disagree on whether the story is in it."""
    narrative_of: dict[str, str | None] = {str(sid): nid for sid, nid in
                                           conn.execute(text("SELECT id, narrative_id FROM stories"))}
    seen: dict[str, str] = {}
    out: list[Violation] = []
    for nid, members in conn.execute(text("SELECT id, stories FROM narratives ORDER BY id")):
        for sid in _json(members) or []:
            if sid not in narrative_of:
                out.append(Violation("a narrative lists a story that is not stored", f"{nid} → {sid}"))
            elif sid in seen:
                out.append(Violation("a story is in two narratives", f"{sid} in {seen[sid]} and {nid}"))
            elif narrative_of[sid] != nid:
                out.append(Violation("a narrative lists a story that names another narrative or none",
                                     f"{nid} → {sid} ({narrative_of[sid] or 'none'})"))
            seen.setdefault(sid, nid)
    listed = set(conn.execute(text("SELECT id FROM narratives")).scalars())
    for sid, nid in sorted(narrative_of.items()):  # (a narrative not stored at all is an SQL invariant's)
        if nid is not None and nid in listed and seen.get(sid) != nid:
            out.append(Violation("a story names a narrative that does not list it", f"{sid} → {nid}"))
    return out[:limit]
