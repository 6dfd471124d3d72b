"""The store: persists the records the stages produce.  SQLite by default (WAL), any SQLAlchemy URL otherwise.

Every article is written in one transaction together with everything derived from it (mentions, quotes,
embedding, story membership, the streaming state that reflects it), so a killed ingest leaves a consistent
database and a re-run resumes without duplicates.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    Select,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from storylens.model import Article, Entity, Narrative, Story, StoryMerge, article_from_jsonable, to_jsonable
from storylens.store.faults import ArticlesNotStored, store_failure
from storylens.store.schema import (
    ArticleRow,
    ComparisonRow,
    EmbeddingRow,
    EntityMentionRow,
    EntityRow,
    IngestionRunRow,
    ItemErrorRow,
    NarrativeRow,
    QuoteGroupRow,
    QuoteRow,
    SourceRow,
    StateRow,
    StoryMergeRow,
    StoryRow,
    utcnow,
)

MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True)


def at_head(engine: Engine) -> bool:
    """Whether the schema is at the newest Alembic revision (nothing to migrate)."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass(slots=True)
class StoredQuote:
    id: str
    article_id: str
    text: str
    kind: str
    start: int
    end: int
    speaker: str | None
    speaker_text: str | None
    cue: str | None
    outlet: str | None
    published: dt.date | None
    title: str | None
    story_id: str | None


@dataclass(slots=True)
class ArticleWrite:
    """One article to store with what the stages derived from it."""

    article: Article
    minhash: bytes | None = None
    embedding: tuple[str, bytes] | None = None  # (model, vectors)
    story_id: str | None = None


S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _where_articles(q: S, outlet: str | None, since: dt.date | None, until: dt.date | None,
                    story_id: str | None) -> S:
    """``q`` narrowed to articles of an outlet (any case), published in a span, of a story."""
    if outlet:
        q = q.where(func.lower(ArticleRow.outlet) == outlet.lower())
    if since:
        q = q.where(ArticleRow.published >= since)
    if until:
        q = q.where(ArticleRow.published <= until)
    if story_id:
        q = q.where(ArticleRow.story_id == story_id)
    return q


WRITER_LOCK_KEY = 0x5701_7C3E  # PostgreSQL advisory lock id of storylens writers


class Sessions(sessionmaker[Session]):
    """``sessions()`` to read, ``sessions.begin()`` for a write transaction.

    On SQLite a write transaction takes the database's write lock before it reads (``BEGIN IMMEDIATE``, which waits
    up to the busy timeout for another process's transaction).  A transaction that reads first and writes later
    fails at once with "database is locked" when another connection committed in between (a WAL reader's snapshot
    cannot move forward), and the busy timeout does not cover that case."""

    immediate = False

    @contextmanager
    def begin(self) -> Iterator[Session]:
        with self() as session, session.begin():
            if self.immediate:
                session.execute(text("BEGIN IMMEDIATE"))
            yield session


class Store:
    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._lock_depth = threading.local()  # how deep this thread is in writer_lock
        if migrate and not at_head(self.engine):
            with self.writer_lock():  # processes starting at once on a new store: one creates the tables
                upgrade(self.engine)
        self.session = Sessions(self.engine, expire_on_commit=False)
        self.session.immediate = self.dialect == "sqlite"

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time across processes (story assignment reads and writes the whole story state):
        an exclusive ``flock`` on ``<database>.lock`` for an SQLite file, a session advisory lock on PostgreSQL.
        Readers are never blocked.  Re-entrant in one thread (a relink of the narratives under a caller's lock)."""
        if getattr(self._lock_depth, "n", 0):
            self._lock_depth.n += 1
            try:
                yield
            finally:
                self._lock_depth.n -= 1
            return
        with self._writer_lock():
            self._lock_depth.n = 1
            try:
                yield
            finally:
                self._lock_depth.n = 0

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITER_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    try:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_LOCK_KEY})
                        conn.commit()
                    except Exception as e:
                        # the server closed the connection (restarted): the lock went with it
                        if store_failure(e, self.url) is None:
                            raise
            return
        db = self.engine.url.database if self.dialect == "sqlite" else None
        if not db or db == ":memory:" or db.startswith("file:"):
            yield
            return
        with open(f"{db}.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ---- runs and errors ----------------------------------------------------------------------------------
    def start_run(self, inputs: Sequence[str]) -> int:
        with self.session.begin() as s:
            run = IngestionRunRow(inputs=list(inputs))
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, counts: dict[str, int], status: str = "done") -> None:
        with self.session.begin() as s:
            s.execute(update(IngestionRunRow).where(IngestionRunRow.id == run_id).values(
                finished_at=utcnow(), status=status, n_new=counts.get("new", 0),
                n_duplicate=counts.get("duplicate", 0), n_unchanged=counts.get("unchanged", 0),
                n_rejected=counts.get("rejected", 0)))

    def record_error(self, run_id: int | None, source: str, stage: str, reason: str) -> None:
        with self.session.begin() as s:
            s.add(ItemErrorRow(run_id=run_id, source=source, stage=stage, reason=reason))

    def errors(self, run_id: int | None = None) -> list[dict[str, Any]]:
        with self.session() as s:
            q = select(ItemErrorRow).order_by(ItemErrorRow.id)
            if run_id is not None:
                q = q.where(ItemErrorRow.run_id == run_id)
            return [{"source": e.source, "stage": e.stage, "reason": e.reason, "run_id": e.run_id}
                    for e in s.scalars(q)]

    def runs(self) -> list[IngestionRunRow]:
        with self.session() as s:
            return list(s.scalars(select(IngestionRunRow).order_by(IngestionRunRow.id)))

    # ---- articles -----------------------------------------------------------------------------------------
    def content_hash(self, article_id: str) -> str | None:
        with self.session() as s:
            return s.scalar(select(ArticleRow.content_hash).where(ArticleRow.id == article_id))

    def content_hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        """id → content hash of those of ``article_ids`` that are stored."""
        out: dict[str, str] = {}
        with self.session() as s:
            for k in range(0, len(article_ids), 500):
                q = select(ArticleRow.id, ArticleRow.content_hash).where(ArticleRow.id.in_(article_ids[k:k + 500]))
                out.update({aid: h for aid, h in s.execute(q)})
        return out

    def check(self, limit: int = 20) -> list[Any]:
        """Every broken invariant (:class:`storylens.store.check.Violation`); empty when the store is consistent."""
        from storylens.store.check import check_store

        return check_store(self, limit)

    def count_articles(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(ArticleRow)) or 0)

    def signatures(self) -> Iterator[tuple[str, str, bytes]]:
        """(id, content_hash, minhash) of stored originals, to rebuild the duplicate index.  Copies are left out, as
        the index in an ingest leaves them out: a later copy is marked a copy of the original, never of a copy (whose
        story it would then not follow when the original's story is merged)."""
        with self.session() as s:
            q = (select(ArticleRow.id, ArticleRow.content_hash, ArticleRow.minhash)
                 .where(ArticleRow.duplicate_of.is_(None)).order_by(ArticleRow.seq))
            for aid, h, mh in s.execute(q):
                yield aid, h, mh or b""

    def save_article(
        self,
        article: Article,
        *,
        run_id: int | None,
        minhash: bytes | None = None,
        embedding: tuple[str, bytes] | None = None,
        entities: Iterable[Entity] = (),
        stories: Iterable[Story] = (),
        merges: Iterable[StoryMerge] = (),
        moved: dict[str, str] | None = None,
        state: dict[str, bytes] | None = None,
        story_id: str | None = None,
        deleted_stories: Iterable[str] = (),
        stream: Any = None,
        narratives: Any = None,
        furniture: Any = None,
    ) -> None:
        """Write one article and everything derived from it in a single transaction (replacing an older copy).

        With the last article of a batch come the batch's story changes: changed stories, merges, deleted stories,
        the articles that moved (their copies move with them), the story stream's changes (``StreamChanges``), the
        narrative changes (``NarrativeChanges``) and what the furniture model learned (``FurnitureChanges``)."""
        with self.session.begin() as s:
            self._write_article(s, ArticleWrite(article, minhash, embedding, story_id), run_id, self._next_seq(s))
            for e in entities:
                self._upsert_entity(s, e)
            self._write_changes(s, stories, merges, moved, deleted_stories, stream, narratives, state,
                                touched={story_id} if story_id else set(), furniture=furniture)

    def save_batch(
        self,
        writes: Sequence[ArticleWrite],
        *,
        run_id: int | None,
        entities: Iterable[Entity] = (),
        stories: Iterable[Story] = (),
        merges: Iterable[StoryMerge] = (),
        moved: dict[str, str] | None = None,
        deleted_stories: Iterable[str] = (),
        stream: Any = None,
        narratives: Any = None,
        state: dict[str, bytes] | None = None,
        complete_state: dict[str, bytes] | None = None,
        furniture: Any = None,
        all_or_nothing: bool = False,
    ) -> list[str | None]:
        """Write a batch of articles in one transaction, each article all or nothing (a savepoint of its own): an
        article that cannot be stored is rolled back alone and the others are stored.  Returns, per write, None or
        the reason it was not stored.

        With the articles come the batch's new entities and story changes (as :meth:`save_article` takes them with
        the last article); ``stream``, ``narratives`` and ``complete_state`` only when every article was stored (the
        story state must not count an article the store does not hold).  ``all_or_nothing``: when an article
        cannot be stored, nothing is (:class:`~storylens.store.faults.ArticlesNotStored` names them), so that the
        caller can assign the others again without it (its story changes counted it)."""
        errors: list[str | None] = []
        with self.session.begin() as s:
            self._upsert_entities(s, list(entities))
            seq = self._next_seq(s)
            for w in writes:
                try:
                    with s.begin_nested():
                        if self._write_article(s, w, run_id, seq):
                            seq += 1
                    errors.append(None)
                except Exception as e:  # noqa: BLE001 - the savepoint rolled back this article alone
                    if store_failure(e, self.url) is not None:  # the store's fault: the transaction is lost whole
                        raise
                    errors.append(f"{type(e).__name__}: {str(e)[:300]}")
            complete = all(e is None for e in errors)
            if all_or_nothing and not complete:
                raise ArticlesNotStored({w.article.id: e for w, e in zip(writes, errors, strict=True) if e is not None})
            self._write_changes(s, stories, merges, moved, deleted_stories, stream if complete else None,
                                narratives if complete else None,
                                {**(state or {}), **((complete_state or {}) if complete else {})},
                                touched={w.story_id for w, e in zip(writes, errors, strict=True)
                                         if e is None and w.story_id}, furniture=furniture)
        return errors

    def _next_seq(self, s: Session) -> int:
        return int(s.scalar(select(func.coalesce(func.max(ArticleRow.seq), 0))) or 0) + 1

    def _write_article(self, s: Session, w: ArticleWrite, run_id: int | None, seq: int) -> bool:
        """One article and what is derived from it (replacing an older copy); True when ``seq`` was used."""
        article = w.article
        source_id = self._source(s, article.source)
        old = s.get(ArticleRow, article.id)
        if old is not None:
            seq = old.seq
            s.execute(delete(EntityMentionRow).where(EntityMentionRow.article_id == article.id))
            s.execute(delete(QuoteRow).where(QuoteRow.article_id == article.id))
            s.execute(delete(EmbeddingRow).where(EmbeddingRow.article_id == article.id))
            s.delete(old)
            s.flush()
        s.add(ArticleRow(
            id=article.id, seq=seq, source=article.source, source_id=source_id, run_id=run_id, url=article.url,
            title=article.title, outlet=article.outlet, published=article.published.value,
            published_source=article.published.source, published_inferred=article.published.inferred,
            language=article.language, text=article.text, content_hash=article.content_hash,
            duplicate_of=article.duplicate_of, duplicate_kind=article.duplicate_kind, story_id=w.story_id,
            minhash=w.minhash, record=to_jsonable(article)))
        s.flush()
        if article.entities:
            s.execute(insert(EntityMentionRow), [
                {"article_id": article.id, "entity_id": m.entity_id, "text": m.text, "label": m.label,
                 "start": m.start, "end": m.end} for m in article.entities])
        if article.quotes:
            s.execute(insert(QuoteRow), [
                {"id": q.id or f"{article.id}:q{i}", "article_id": article.id, "text": q.text, "kind": q.kind,
                 "start": q.start, "end": q.end, "speaker_name": q.speaker.name if q.speaker else None,
                 "speaker_text": q.speaker.text if q.speaker else None,
                 "speaker_entity_id": q.speaker.entity_id if q.speaker else None,
                 "cue": q.cue.text if q.cue else None} for i, q in enumerate(article.quotes)])
        if w.embedding is not None:
            s.add(EmbeddingRow(article_id=article.id, model=w.embedding[0], data=w.embedding[1]))
            s.flush()
        return old is None

    def _write_changes(self, s: Session, stories: Iterable[Story], merges: Iterable[StoryMerge],
                       moved: dict[str, str] | None, deleted_stories: Iterable[str], stream: Any, narratives: Any,
                       state: dict[str, bytes] | None, touched: set[str] | None = None,
                       furniture: Any = None) -> None:
        """A batch's story changes: changed stories, merges, deleted stories, the articles that moved (their copies
        move with them), the story stream's changes and the narrative changes, opaque state, and what the furniture
        model learned.  ``touched``: the stories an article was written to (None: every story given counts as
        changed)."""
        stories = list(stories)
        merges = list(merges)
        for st in stories:
            self._upsert_story(s, st, touched=touched is None or st.id in touched)
        copied_to = sorted((touched or set()) - {st.id for st in stories})  # a copy joined: the story's list changed
        if copied_to:
            s.execute(update(StoryRow).where(StoryRow.id.in_(copied_to)).values(updated_at=utcnow()))
        for mg in merges:
            s.add(StoryMergeRow(kept=mg.kept, merged=mg.merged, bridge_article=mg.bridge_article, score=mg.score))
        gone = sorted({mg.merged for mg in merges} | set(deleted_stories))
        if gone:
            s.execute(delete(StoryRow).where(StoryRow.id.in_(gone)))
            s.execute(delete(ComparisonRow).where(ComparisonRow.story_id.in_(gone)))
            s.execute(delete(QuoteGroupRow).where(QuoteGroupRow.story_id.in_(gone)))
        by_story: dict[str, list[str]] = {}
        for aid, sid in (moved or {}).items():
            by_story.setdefault(sid, []).append(aid)
        for sid, aids in by_story.items():  # moved originals and their copies
            for k in range(0, len(aids), 500):
                chunk = aids[k:k + 500]
                s.execute(update(ArticleRow).where(or_(ArticleRow.id.in_(chunk), ArticleRow.duplicate_of.in_(chunk)))
                          .values(story_id=sid))
        self._span_from_members(s, [st.id for st in stories])
        if stream is not None:
            from storylens.store.stream import apply_changes

            apply_changes(s, stream)
        if narratives is not None:
            s.flush()
            from storylens.store.narratives import apply_narrative_changes

            apply_narrative_changes(s, narratives)
        for key, data in (state or {}).items():
            self._put_state(s, key, data)
        if furniture:
            from storylens.store.furniture import apply_furniture_changes

            apply_furniture_changes(s, furniture)

    def _span_from_members(self, s: Session, story_ids: Sequence[str]) -> None:
        """A story's shown first/last dates: the span of its members' publication dates, inferred ones included
        (story assignment itself only trusts firm dates, so its own span can be narrower)."""
        if not story_ids:
            return
        q = (select(ArticleRow.story_id, func.min(ArticleRow.published), func.max(ArticleRow.published))
             .where(ArticleRow.story_id.in_(list(story_ids))).group_by(ArticleRow.story_id))
        for sid, first, last in s.execute(q).all():
            if first is not None:
                s.execute(update(StoryRow).where(StoryRow.id == sid).values(first_seen=first, last_seen=last))

    def _source(self, s: Session, location: str) -> int:
        loc = location.split("#", 1)[0]
        kind = "url" if loc.startswith(("http://", "https://")) else ("api" if loc in ("api", "-", "stdin") else "file")
        row = s.scalar(select(SourceRow).where(SourceRow.location == loc))
        if row is None:
            row = SourceRow(kind=kind, location=loc)
            s.add(row)
            s.flush()
        else:
            row.last_seen = utcnow()
        return row.id

    def articles(
        self,
        ids: Sequence[str] | None = None,
        *,
        outlet: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        story_id: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Article]:
        with self.session() as s:
            q = select(ArticleRow.record).order_by(ArticleRow.seq)
            if ids is not None:
                q = q.where(ArticleRow.id.in_(list(ids)))
            q = _where_articles(q, outlet, since, until, story_id)
            if limit is not None:
                q = q.limit(limit).offset(offset)
            return [article_from_jsonable(r) for r in s.scalars(q)]

    def article_summaries(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Articles without text or analysis, for listings: one query, no record decoding."""
        if not ids:
            return []
        with self.session() as s:
            nq = (select(QuoteRow.article_id, func.count().label("n")).where(QuoteRow.article_id.in_(list(ids)))
                  .group_by(QuoteRow.article_id).subquery())
            q = (select(ArticleRow.id, ArticleRow.published, ArticleRow.outlet, ArticleRow.language, ArticleRow.title,
                        ArticleRow.duplicate_of, func.coalesce(nq.c.n, 0), ArticleRow.url, ArticleRow.source,
                        ArticleRow.story_id)
                 .outerjoin(nq, nq.c.article_id == ArticleRow.id).where(ArticleRow.id.in_(list(ids)))
                 .order_by(ArticleRow.published, ArticleRow.seq))
            return [{"id": r[0], "published": r[1].isoformat() if r[1] else None, "outlet": r[2], "language": r[3],
                     "title": r[4], "duplicate_of": r[5], "quotes": int(r[6]), "url": r[7], "source": r[8],
                     "story_id": r[9]} for r in s.execute(q)]

    def count_stories(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(StoryRow)) or 0)

    def article(self, article_id: str) -> Article | None:
        found = self.articles([article_id])
        return found[0] if found else None

    def story_of(self, article_ids: Sequence[str]) -> dict[str, str | None]:
        with self.session() as s:
            q = select(ArticleRow.id, ArticleRow.story_id).where(ArticleRow.id.in_(list(article_ids)))
            return {a: sid for a, sid in s.execute(q)}

    def embeddings(self, article_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        with self.session() as s:
            q = select(EmbeddingRow.article_id, EmbeddingRow.data)
            if article_ids is not None:
                q = q.where(EmbeddingRow.article_id.in_(list(article_ids)))
            return {a: d for a, d in s.execute(q)}

    # ---- entities -------------------------------------------------------------------------------------------
    def _upsert_entities(self, s: Session, entities: Sequence[Entity]) -> None:
        """Insert or update many entities: one query finds which exist."""
        latest = {e.id: e for e in entities}
        if not latest:
            return
        ids = list(latest)
        existing: set[str] = set()
        for k in range(0, len(ids), 500):
            existing.update(s.scalars(select(EntityRow.id).where(EntityRow.id.in_(ids[k:k + 500]))))
        new = [e for i, e in latest.items() if i not in existing]
        if new:
            s.execute(insert(EntityRow), [{"id": e.id, "name": e.name, "label": e.label, "aliases": list(e.aliases),
                                           "evidence": list(e.evidence)} for e in new])
        for i in ids:
            if i in existing:
                self._upsert_entity(s, latest[i])

    def _upsert_entity(self, s: Session, e: Entity) -> None:
        row = s.get(EntityRow, e.id)
        if row is None:
            s.add(EntityRow(id=e.id, name=e.name, label=e.label, aliases=list(e.aliases), evidence=list(e.evidence)))
        else:
            row.name, row.label, row.aliases, row.evidence = e.name, e.label, list(e.aliases), list(e.evidence)

    def entities(self, label: str | None = None, name: str | None = None) -> list[Entity]:
        with self.session() as s:
            q = select(EntityRow).order_by(EntityRow.name)
            if label:
                q = q.where(func.upper(EntityRow.label) == label.upper())
            rows = list(s.scalars(q))
        out = [Entity(id=r.id, name=r.name, label=r.label, aliases=list(r.aliases), evidence=list(r.evidence))
               for r in rows]
        if name:
            n = name.casefold()
            out = [e for e in out if n in e.name.casefold() or any(n == a.casefold() for a in e.aliases)]
        return out

    def entity_article_counts(self) -> dict[str, int]:
        with self.session() as s:
            q = select(EntityMentionRow.entity_id, func.count(func.distinct(EntityMentionRow.article_id))).group_by(
                EntityMentionRow.entity_id)
            return {eid: int(n) for eid, n in s.execute(q) if eid}

    def entity_articles(self, entity_id: str) -> list[str]:
        with self.session() as s:
            q = select(func.distinct(EntityMentionRow.article_id)).where(EntityMentionRow.entity_id == entity_id)
            return list(s.scalars(q))

    # ---- quotes ---------------------------------------------------------------------------------------------
    def quotes(
        self,
        *,
        speaker: str | None = None,
        outlet: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        article_id: str | None = None,
        story_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[StoredQuote]:
        with self.session() as s:
            stmt = (select(QuoteRow, ArticleRow.outlet, ArticleRow.published, ArticleRow.title, ArticleRow.story_id)
                    .join(ArticleRow, ArticleRow.id == QuoteRow.article_id)
                    .order_by(ArticleRow.published, ArticleRow.seq, QuoteRow.start))
            if speaker:
                needle = speaker.lower()
                stmt = stmt.where(or_(func.lower(QuoteRow.speaker_name).contains(needle, autoescape=True),
                                      func.lower(QuoteRow.speaker_text).contains(needle, autoescape=True)))
            stmt = _where_articles(stmt, outlet, since, until, story_id)
            if article_id:
                stmt = stmt.where(QuoteRow.article_id == article_id)
            if q:
                stmt = stmt.where(func.lower(QuoteRow.text).contains(q.lower(), autoescape=True))
            if limit is not None:
                stmt = stmt.limit(limit).offset(offset)
            return [StoredQuote(id=r.id, article_id=r.article_id, text=r.text, kind=r.kind, start=r.start, end=r.end,
                                speaker=r.speaker_name, speaker_text=r.speaker_text, cue=r.cue, outlet=o,
                                published=p, title=t, story_id=sid)
                    for r, o, p, t, sid in s.execute(stmt)]

    def firmly_dated_quotes(self, contains: str, since: dt.date, until: dt.date,
                            limit: int = 200) -> list[tuple[str, dt.date]]:
        """(quote text, publication date) of quotes containing ``contains`` in articles whose date is not a guess
        from the body text, published between ``since`` and ``until`` (for cross-article dating)."""
        with self.session() as s:
            stmt = (select(QuoteRow.text, ArticleRow.published)
                    .join(ArticleRow, ArticleRow.id == QuoteRow.article_id)
                    .where(ArticleRow.published >= since, ArticleRow.published <= until,
                           or_(ArticleRow.published_source != "text", ArticleRow.published_inferred.is_(False)),
                           func.lower(QuoteRow.text).contains(contains.lower(), autoescape=True))
                    .limit(limit))
            return [(t, d) for t, d in s.execute(stmt) if d is not None]

    # ---- stories and narratives -------------------------------------------------------------------------------
    def _upsert_story(self, s: Session, st: Story, touched: bool = True) -> None:
        """Write a story.  Its ``updated_at`` (which dates its stored comparison and the servers' cached bodies)
        moves only when it changed: a new story, ``touched`` (an article of it was written), another title, keywords
        or outlets, or other original members than stored (a story the stream only closed or reopened keeps it)."""
        row = s.get(StoryRow, st.id)
        changed = touched or row is None or (st.title, list(st.keywords), list(st.outlets), len(st.articles)) != (
            row.title, list(row.keywords), list(row.outlets), row.n_articles)
        if not changed:
            members = s.scalars(select(ArticleRow.id).where(ArticleRow.story_id == st.id,
                                                            ArticleRow.duplicate_of.is_(None)))
            changed = set(members) != set(st.articles)
        if row is None:
            row = StoryRow(id=st.id)
            s.add(row)
        row.title, row.first_seen, row.last_seen = st.title, st.first_seen, st.last_seen
        row.keywords, row.outlets, row.n_articles = list(st.keywords), list(st.outlets), len(st.articles)
        if changed:
            row.updated_at = utcnow()

    def unassigned_originals(self) -> list[str]:
        """Stored originals that no story-stream member row holds (in arrival order)."""
        from storylens.store.schema import StoryMemberRow

        with self.session() as s:
            q = (select(ArticleRow.id).outerjoin(StoryMemberRow, StoryMemberRow.article_id == ArticleRow.id)
                 .where(ArticleRow.duplicate_of.is_(None), StoryMemberRow.article_id.is_(None))
                 .order_by(ArticleRow.seq))
            return list(s.scalars(q))

    def reset_stream(self) -> None:
        """Forget the story stream's state (after a batch re-clustering): the next ingest rebuilds it from the
        stored articles, in arrival order."""
        with self.session.begin() as s:
            self._reset_stream(s)

    def _reset_stream(self, s: Session) -> None:
        from storylens.store.schema import StoryKeyRow, StoryMemberRow, StoryStateRow, StreamDocFreqRow
        from storylens.store.stream import STREAM_KEY

        for row in (StoryMemberRow, StoryStateRow, StoryKeyRow, StreamDocFreqRow):
            s.execute(delete(row))
        s.execute(delete(StateRow).where(StateRow.key.in_([STREAM_KEY, "story_stream:arrivals"])))

    def replace_stories(self, stories: Sequence[Story], merges: Sequence[StoryMerge] = (),
                        state: dict[str, bytes] | None = None, stream: Any = None) -> None:
        """Batch re-clustering: replace all stories and memberships in one transaction.  The comparisons and quote
        groups of stories that are gone go with them, and so do the narratives (they name the old stories: the
        caller links them again).  ``stream``: the story stream's state over the new stories (``StreamChanges``),
        written in place of the old one (None keeps the old state)."""
        with self.session.begin() as s:
            s.execute(delete(StoryRow))
            s.execute(update(ArticleRow).values(story_id=None))
            self._reset_narratives(s)
            for st in stories:
                self._upsert_story(s, st)
                if st.articles:
                    s.execute(update(ArticleRow).where(ArticleRow.id.in_(st.articles)).values(story_id=st.id))
            for mg in merges:
                s.add(StoryMergeRow(kept=mg.kept, merged=mg.merged, bridge_article=mg.bridge_article, score=mg.score))
            self._span_from_members(s, [st.id for st in stories])
            s.flush()
            stored = select(StoryRow.id)
            s.execute(delete(ComparisonRow).where(ComparisonRow.story_id.not_in(stored)))
            s.execute(delete(QuoteGroupRow).where(QuoteGroupRow.story_id.is_not(None),
                                                  QuoteGroupRow.story_id.not_in(stored)))
            if stream is not None:
                from storylens.store.stream import apply_changes

                self._reset_stream(s)
                s.flush()
                apply_changes(s, stream)
            for key, data in (state or {}).items():
                self._put_state(s, key, data)

    def stories(
        self,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        outlet: str | None = None,
        entity_id: str | None = None,
        q: str | None = None,
        ids: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Story]:
        with self.session() as s:
            stmt = select(StoryRow).order_by(StoryRow.last_seen.desc(), StoryRow.id)
            if ids is not None:
                stmt = stmt.where(StoryRow.id.in_(list(ids)))
            if since:
                stmt = stmt.where(StoryRow.last_seen >= since)
            if until:
                stmt = stmt.where(StoryRow.first_seen <= until)
            if q:
                stmt = stmt.where(func.lower(StoryRow.title).contains(q.lower(), autoescape=True))
            if outlet:
                sub = select(ArticleRow.story_id).where(func.lower(ArticleRow.outlet) == outlet.lower())
                stmt = stmt.where(StoryRow.id.in_(sub))
            if entity_id:
                sub = (select(ArticleRow.story_id).join(EntityMentionRow, EntityMentionRow.article_id == ArticleRow.id)
                       .where(EntityMentionRow.entity_id == entity_id))
                stmt = stmt.where(StoryRow.id.in_(sub))
            if limit is not None:
                stmt = stmt.limit(limit).offset(offset)
            rows = list(s.scalars(stmt))
            members: dict[str, list[str]] = {r.id: [] for r in rows}
            if rows:
                mq = (select(ArticleRow.story_id, ArticleRow.id).where(ArticleRow.story_id.in_(list(members)))
                      .order_by(ArticleRow.published, ArticleRow.seq))
                for sid, aid in s.execute(mq):
                    if sid is not None:
                        members[sid].append(aid)
        return [Story(id=r.id, title=r.title, articles=members[r.id], first_seen=r.first_seen, last_seen=r.last_seen,
                      keywords=list(r.keywords), outlets=list(r.outlets)) for r in rows]

    def story(self, story_id: str) -> Story | None:
        found = self.stories(ids=[story_id])
        return found[0] if found else None

    def story_updated_at(self, story_id: str) -> dt.datetime | None:
        with self.session() as s:
            return s.scalar(select(StoryRow.updated_at).where(StoryRow.id == story_id))

    def merges(self) -> list[StoryMerge]:
        with self.session() as s:
            return [StoryMerge(kept=m.kept, merged=m.merged, bridge_article=m.bridge_article, score=m.score)
                    for m in s.scalars(select(StoryMergeRow).order_by(StoryMergeRow.id))]

    def reset_narratives(self) -> None:
        """Forget every narrative and the linker's story summaries (before linking all stories again)."""
        with self.session.begin() as s:
            self._reset_narratives(s)

    def _reset_narratives(self, s: Session) -> None:
        from storylens.store.schema import NarrativeSummaryRow, StoryNameRow, StorySummaryRow

        for row in (StorySummaryRow, StoryNameRow, NarrativeSummaryRow, NarrativeRow):
            s.execute(delete(row))
        s.execute(update(StoryRow).values(narrative_id=None))

    def replace_narratives(self, changes: Any, state: dict[str, bytes] | None = None,
                           clear_state: Sequence[str] = ()) -> None:
        """Every narrative and story summary replaced by ``changes`` (``NarrativeChanges`` from an empty start: a
        relink of all stories), in one transaction: a relink cut short leaves the narratives as they were.  With it,
        ``state`` is written and the ``clear_state`` keys are removed."""
        from storylens.store.narratives import apply_narrative_changes

        with self.session.begin() as s:
            self._reset_narratives(s)
            s.flush()
            apply_narrative_changes(s, changes)
            for key, data in (state or {}).items():
                self._put_state(s, key, data)
            if clear_state:
                s.execute(delete(StateRow).where(StateRow.key.in_(list(clear_state))))

    def narratives(self, ids: Sequence[str] | None = None) -> list[Narrative]:
        with self.session() as s:
            q = select(NarrativeRow).order_by(NarrativeRow.id)
            if ids is not None:
                q = q.where(NarrativeRow.id.in_(list(ids)))
            return [Narrative(id=n.id, title=n.title, stories=list(n.stories), keywords=list(n.keywords))
                    for n in s.scalars(q)]

    # ---- compare cache ------------------------------------------------------------------------------------
    def cached_comparison(self, story_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(ComparisonRow, story_id)
            updated = s.scalar(select(StoryRow.updated_at).where(StoryRow.id == story_id))
            if row is None or updated is None or row.story_updated_at < updated:
                return None
            return row.data

    def comparison_text(self, story_id: str) -> str | None:
        """The cached comparison as stored (JSON text, not decoded: served as is) when it is as new as the story."""
        found = self.stored_comparison_text(story_id)
        return found[0] if found is not None and found[1] else None

    def stored_comparison_text(self, story_id: str) -> tuple[str, bool, int | None] | None:
        """The story's last stored comparison (JSON text, not decoded), whether it is as new as the story, and its
        ``version`` (read by the database, so the text need not be decoded to know it)."""
        with self.session() as s:
            row = s.execute(select(cast(ComparisonRow.data, Text), ComparisonRow.story_updated_at, StoryRow.updated_at,
                                   ComparisonRow.data["version"].as_integer())
                            .join(StoryRow, StoryRow.id == ComparisonRow.story_id)
                            .where(ComparisonRow.story_id == story_id)).first()
        if row is None or row[0] is None:
            return None
        return str(row[0]), row[1] >= row[2], None if row[3] is None else int(row[3])

    def story_stamp(self, story_id: str) -> tuple[dt.datetime, dt.datetime | None] | None:
        """When the story last changed and what story state its stored comparison was computed from (None: no
        comparison); None when there is no such story.  One small query: what a response cache keys on."""
        with self.session() as s:
            row = s.execute(select(StoryRow.updated_at, ComparisonRow.story_updated_at)
                            .outerjoin(ComparisonRow, ComparisonRow.story_id == StoryRow.id)
                            .where(StoryRow.id == story_id)).first()
        return None if row is None else (row[0], row[1])

    def stale_comparisons(self, limit: int = 1000) -> list[str]:
        """Stories whose stored comparison is older than the story (the most recently changed first)."""
        with self.session() as s:
            q = (select(StoryRow.id).join(ComparisonRow, ComparisonRow.story_id == StoryRow.id)
                 .where(ComparisonRow.story_updated_at < StoryRow.updated_at)
                 .order_by(StoryRow.updated_at.desc()).limit(limit))
            return list(s.scalars(q))

    def save_comparison(self, story_id: str, data: dict[str, Any], groups: Sequence[dict[str, Any]],
                        as_of: dt.datetime | None = None) -> None:
        """Store a story's comparison computed from the story as it was at ``as_of`` (its ``updated_at`` then;
        default: now), so a story that changed during the computation keeps a stale comparison."""
        with self.session.begin() as s:
            updated = as_of or s.scalar(select(StoryRow.updated_at).where(StoryRow.id == story_id)) or utcnow()
            row = s.get(ComparisonRow, story_id)
            if row is None:
                s.add(ComparisonRow(story_id=story_id, story_updated_at=updated, data=data))
            else:
                row.story_updated_at, row.data = updated, data
            s.execute(delete(QuoteGroupRow).where(QuoteGroupRow.story_id == story_id))
            for g in groups:
                s.merge(QuoteGroupRow(id=g["id"], story_id=story_id, canonical=g["canonical"], speaker=g.get("speaker"),
                                      data=g))

    def quote_group(self, group_id: str) -> dict[str, Any] | None:
        with self.session() as s:
            row = s.get(QuoteGroupRow, group_id)
            return None if row is None else row.data

    def quote_group_members(self, story_ids: Sequence[str] | None) -> list[tuple[str, str]]:
        """(quote group id, variant quote id) of the computed quote groups of these stories (None: of every group),
        in group order: the database reads the ids out of the stored groups (SQLite's ``json_each``, PostgreSQL's
        ``json_array_elements``), so the groups' texts are never decoded here."""
        ids = None if story_ids is None else list(story_ids)
        if ids is not None and not ids:
            return []
        where = "" if ids is None else "WHERE g.story_id IN :ids "
        if self.dialect == "sqlite":
            sql = ("SELECT g.id, json_extract(v.value, '$.quote_id') FROM quote_groups g, "
                   f"json_each(g.data, '$.variants') v {where}ORDER BY g.story_id, g.id, v.key")
        elif self.dialect == "postgresql":
            sql = ("SELECT g.id, v.value ->> 'quote_id' FROM quote_groups g, "
                   "json_array_elements(g.data -> 'variants') WITH ORDINALITY AS v(value, n) "
                   f"{where}ORDER BY g.story_id, g.id, v.n")
        else:
            return [(g["id"], v["quote_id"]) for g in self.quote_groups(story_ids=ids)
                    for v in g.get("variants", [])]
        stmt = text(sql)
        if ids is not None:
            stmt = stmt.bindparams(bindparam("ids", expanding=True))
        with self.engine.connect() as conn:
            return [(str(gid), str(qid)) for gid, qid in conn.execute(stmt, {"ids": ids} if ids is not None else {})
                    if qid is not None]

    def quote_groups(self, story_ids: Sequence[str] | None = None, speaker: str | None = None) -> list[dict[str, Any]]:
        """Computed quote groups (of stories whose comparison is cached), optionally of some stories or a speaker."""
        with self.session() as s:
            q = select(QuoteGroupRow.data).order_by(QuoteGroupRow.story_id, QuoteGroupRow.id)
            if story_ids is not None:
                q = q.where(QuoteGroupRow.story_id.in_(list(story_ids)))
            if speaker:
                q = q.where(func.lower(QuoteGroupRow.speaker) == speaker.lower())
            return list(s.scalars(q))

    # ---- outlets -------------------------------------------------------------------------------------------
    def outlets(self) -> list[dict[str, Any]]:
        """Every outlet with its article count, first and last publication date and number of stories."""
        with self.session() as s:
            q = (select(ArticleRow.outlet, func.count(), func.min(ArticleRow.published), func.max(ArticleRow.published),
                        func.count(func.distinct(ArticleRow.story_id)))
                 .group_by(ArticleRow.outlet).order_by(func.count().desc(), ArticleRow.outlet))
            return [{"outlet": o, "articles": int(n), "first": first, "last": last, "stories": int(ns)}
                    for o, n, first, last, ns in s.execute(q)]

    # ---- opaque state -------------------------------------------------------------------------------------
    def _put_state(self, s: Session, key: str, data: bytes) -> None:
        row = s.get(StateRow, key)
        if row is None:
            s.add(StateRow(key=key, version=1, data=data))
        else:
            row.data, row.version = data, row.version + 1

    def get_state(self, key: str) -> bytes | None:
        with self.session() as s:
            return s.scalar(select(StateRow.data).where(StateRow.key == key))

    def put_state(self, key: str, data: bytes) -> None:
        with self.session.begin() as s:
            self._put_state(s, key, data)
