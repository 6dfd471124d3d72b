"""The local runner: read → clean → detect → dedupe → analyze → embed → assign story → link narratives.

Stages are plain functions over typed records (``storylens.ingest``, ``storylens.clean``, ``storylens.nlp``,
``storylens.embed``, ``storylens.stories``); this module composes them in batches, isolates per-item failures
(a failing item is reported with its reason, the rest of the batch goes on) and hands records to the store.
Heavy components (spaCy, natasha, USE) are loaded once per process on first use.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from storylens.model import Article, Entity, RawDocument, ReadError, Story, StoryMerge, shift_date
from storylens.settings import Settings
from storylens.store.faults import ArticlesNotStored, StoreFailure, store_failure
from storylens.stories.dating import refine_weekday_dates

if TYPE_CHECKING:
    from storylens.embed import ArticleVectors, Embedder
    from storylens.store import Store
    from storylens.workers import Processed, WorkerPool

log = logging.getLogger(__name__)
T = TypeVar("T")

Status = Literal["new", "duplicate", "unchanged", "updated", "rejected"]
EMBED_MODEL = "use-multilingual-v3"
STREAM_MARKER = "story_stream:arrivals"  # the stream's arrival count as last committed (another writer changes it)
RELINK_MARKER = "narratives:relink"  # set while every narrative is being linked again; cleared with the new ones
ASSIGNMENT_BATCH = 64  # articles per batch (storylens.stories.stream.ASSIGNMENT_BATCH: both runners agree)


@dataclass(slots=True)
class ItemResult:
    """What happened to one input item."""

    source: str
    status: Status
    id: str | None = None
    reason: str | None = None
    stage: str | None = None
    duplicate_of: str | None = None
    story_id: str | None = None
    title: str | None = None


@dataclass(slots=True)
class IngestReport:
    results: list[ItemResult] = field(default_factory=list)
    run_id: int | None = None

    def count(self, status: Status) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def rejected(self) -> list[ItemResult]:
        return [r for r in self.results if r.status == "rejected"]

    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in ("new", "updated", "duplicate", "unchanged", "rejected")}

    def summary(self) -> str:
        c = self.counts()
        return (f"{c['new']} new, {c['updated']} updated, {c['duplicate']} duplicates, {c['unchanged']} unchanged, "
                f"{c['rejected']} rejected")


class IngestAborted(Exception):
    """The store stopped taking writes (:class:`~storylens.store.faults.StoreFailure`: a full disk, a lost server):
    the ingest stopped.  What was stored is consistent and kept; ``not_stored`` are the items read but not stored
    (the input after them was not read): running the same ingest again stores them, and only them."""

    def __init__(self, failure: StoreFailure, not_stored: list[ItemResult], report: IngestReport) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.not_stored = not_stored
        self.report = report

    def advice(self) -> str:
        what = ("free some space (or move the store to a larger disk)" if self.failure.kind != "connection"
                else "when the database server answers again")
        return (f"{what}, then run the same ingest again: what was stored is kept, and only what is missing is "
                "added")


Item = str | Path | Mapping[str, Any] | RawDocument


def read_items(items: Iterable[Item], settings: Settings) -> Iterator[RawDocument | ReadError]:
    """Paths, URLs, ``-`` and input-contract dicts to raw documents, in order."""
    from storylens.ingest import read_records

    paths: list[str | Path] = []
    for it in items:
        if isinstance(it, RawDocument):
            yield from _flush(paths, settings)
            yield it
        elif isinstance(it, Mapping):
            yield from _flush(paths, settings)
            yield from read_records([it])
        else:
            paths.append(it)
    yield from _flush(paths, settings)


def _flush(paths: list[str | Path], settings: Settings) -> Iterator[RawDocument | ReadError]:
    if paths:
        from storylens.ingest import read_inputs

        yield from read_inputs(list(paths), settings.ingest)
        paths.clear()


def batched(it: Iterable[T], n: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for x in it:
        batch.append(x)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def _sort_key(a: Article) -> tuple[dt.date, str]:
    return (a.published.value or dt.date.max, a.id)


class Components:
    """The stateful components one runner needs, created on first use: the sentence encoder and, for a large
    ingest on several cores, the worker processes of the per-article stages (:mod:`storylens.workers`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None
        self._pool: WorkerPool | None = None
        self._pool_failed = False

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from storylens.embed import Embedder

            self._embedder = Embedder()
        return self._embedder

    def prepare(self, raw: RawDocument, furniture: Any) -> Article:
        from storylens.clean import prepare

        return prepare(raw, self.settings, furniture)

    def analyze(self, articles: list[Article]) -> tuple[list[Article], list[tuple[Article, str]]]:
        """Analyze a batch; when the batch fails, retry one by one so a bad item names itself."""
        from storylens.workers import analyze_isolated

        return analyze_isolated(articles, self.settings.nlp)

    def vectors(self, articles: list[Article]) -> list[ArticleVectors]:
        from storylens.embed import article_vectors

        return list(article_vectors(articles, self.embedder)) if articles else []

    def process(self, articles: list[Article], embed_ids: set[str]) -> Processed:
        """Analyze ``articles`` and embed those in ``embed_ids``, in this process (what a Spark partition calls)."""
        from storylens.workers import process

        return process(articles, embed_ids, self.settings.nlp, self.embedder)

    # ---- several cores ----------------------------------------------------------------------------------------
    def workers(self) -> int:
        """Worker processes for the per-article stages (``settings.ingest.workers``; 0: one per usable core)."""
        from storylens.workers import usable_cores

        n = self.settings.ingest.workers
        return n if n > 0 else (usable_cores() if usable_cores() > 1 else 1)

    def start(self, articles: list[Article], embed_ids: set[str]) -> Callable[[], Processed]:
        """Begin :meth:`process` on the worker processes when that pays (several cores, enough articles, or the
        workers already running); returns a function that waits for the result.  Without workers the work is done
        when the returned function is called."""
        pool = self._pool
        if pool is None and not self._pool_failed and self.workers() > 1 \
                and len(articles) >= self.settings.ingest.workers_from:
            from storylens.workers import WorkerPool

            pool = self._pool = WorkerPool(self.workers(), self.settings.nlp)
        if pool is None or len(articles) < 2:
            return lambda: self.process(articles, embed_ids)
        futures = pool.submit(articles, embed_ids)

        def wait() -> Processed:
            from storylens.workers import Processed

            out = Processed()
            try:
                for f in futures:
                    out.extend(f.result())
            except Exception as e:  # noqa: BLE001 - a worker died (killed, out of memory): go on in this process
                log.warning("ingest worker processes failed (%s): going on in this process", e)
                self.close()
                self._pool_failed = True
                return self.process(articles, embed_ids)
            return out

        return wait

    def close(self) -> None:
        """Stop the worker processes (the next large batch starts them again)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None


@dataclass(slots=True)
class _Batch:
    """One batch on its way through the stages."""

    prepared: list[Article] = field(default_factory=list)
    updated: set[str] = field(default_factory=set)
    analyzed: list[Article] = field(default_factory=list)
    vectors: dict[str, ArticleVectors] = field(default_factory=dict)
    results: list[ItemResult] = field(default_factory=list)
    generation: int = 0  # the session's duplicate state the batch was checked against

    @property
    def originals(self) -> list[Article]:
        return [a for a in self.analyzed if a.duplicate_of is None]


@dataclass(slots=True)
class _Assignment:
    """What the story stage decided for a batch, to be stored with it."""

    story_of: dict[str, str | None]
    stories: list[Story]
    moved: dict[str, str]
    merges: list[StoryMerge]
    deleted: list[str]
    stream: Any  # StreamChanges
    narratives: Any  # NarrativeChanges | None


class _Session:
    """The streaming components of one ingest run: furniture model, duplicate index, entity resolver, story
    stream, narrative linker.  Reloaded when another writer changed the store."""

    def __init__(self, runner: Runner) -> None:
        from storylens.nlp import EntityResolver
        from storylens.stories.dedupe import Deduper

        store = runner.store
        self.runner = runner
        self.deduper = Deduper.from_signatures(store.signatures(), runner.settings.dedupe)
        self.furniture = runner._load_furniture()
        self.resolver = EntityResolver(store.entities())
        self.stream: Any = None  # opened when the first original arrives
        self.marker = store.get_state(STREAM_MARKER)  # the store's marker as our state knows it
        self.generation = 0  # incremented by every reload

    def stale(self) -> bool:
        return self.runner.store.get_state(STREAM_MARKER) != self.marker

    def reload(self) -> None:
        from storylens.nlp import EntityResolver
        from storylens.stories.dedupe import Deduper

        store = self.runner.store
        self.resolver = EntityResolver(store.entities())
        self.deduper = Deduper.from_signatures(store.signatures(), self.runner.settings.dedupe)
        self.stream = None
        self.marker = store.get_state(STREAM_MARKER)
        self.generation += 1


class Runner:
    """Ingest items into a store: read → clean → detect → dedupe → analyze → embed → assign story → link narratives →
    store, batch by batch, one transaction per article."""

    def __init__(self, store: Store, settings: Settings | None = None, components: Components | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.c = components or Components(self.settings)
        # a long-lived writer (the writer process of `storylens serve`) keeps its duplicate index, entity resolver
        # and story stream from one ingest to the next instead of loading them from the store each time (seconds on
        # a large store); they are reloaded when another writer changed the store, as within one ingest
        self.keep_session = False
        self._session: _Session | None = None

    # ---- streaming state ------------------------------------------------------------------------------
    def _load_furniture(self) -> Any:
        from storylens.store.furniture import load_furniture

        return load_furniture(self.store, self.settings.clean.repeated_line_min_articles)

    def open_stream(self) -> Any:
        """The story stream as the store holds it; stored originals it has not seen (a batch whose stream state
        was not committed) are assigned first, in arrival order."""
        from storylens.embed import ArticleVectors
        from storylens.store.stream import StoreStoryBackend
        from storylens.stories.stream import StoryStream

        stream = StoryStream.open(self.settings.stories, StoreStoryBackend(self.store))
        missing = self.store.unassigned_originals()
        for chunk in batched(missing, 256):
            arts = {a.id: a for a in self.store.articles(chunk)}
            vecs = self.store.embeddings(chunk)
            for aid in chunk:
                if aid in arts and aid in vecs:
                    stream.add(arts[aid], ArticleVectors.from_bytes(vecs[aid]))
        if missing:
            log.warning("assigned %d stored articles the story state had missed", len(missing))
        return stream

    # ---- ingest -----------------------------------------------------------------------------------------
    def ingest(self, items: Iterable[Item], on_result: Callable[[ItemResult], None] | None = None,
               batch_size: int = ASSIGNMENT_BATCH, link: bool = True) -> IngestReport:
        """Run every stage over ``items`` (paths, URLs, ``-``, input-contract dicts), ``batch_size`` at a time.
        Items are read lazily; one bad item is reported and never stops the batch."""
        names = ([str(i) if not isinstance(i, Mapping) else "record" for i in items]
                 if isinstance(items, list | tuple) else ["(stream)"])
        report = IngestReport(run_id=self.store.start_run(names))

        def emit(r: ItemResult) -> None:
            report.results.append(r)
            if r.status == "rejected":
                self._record(f"the rejection of {r.source}", lambda: self.store.record_error(
                    report.run_id, r.source, r.stage or "ingest", r.reason or "rejected"))
            if on_result is not None:
                on_result(r)

        if link and self.relink_pending():
            log.warning("a relink of every narrative was cut short: completing it first")
            self.link_narratives()
            self._session = None
        kept, self._session = self._session, None
        # a kept session is used while no other writer stored anything since (else all of it is loaded afresh,
        # the furniture model too)
        session = kept if kept is not None and not kept.stale() else _Session(self)
        status = "done"
        # one batch in flight: while the worker processes analyze and embed batch k+1, this process stores batch k
        pending: tuple[_Batch, Callable[[], Processed]] | None = None
        unstored: list[_Batch] = []  # the batches read and not stored yet
        try:
            for chunk in _document_batches(read_items(items, self.settings), batch_size, emit):
                batch = self._prepare(chunk, session, pending[0] if pending is not None else None)
                job = self._start(batch) if batch.prepared else None
                unstored.append(batch)
                if pending is not None:
                    self._finish(*pending, session, link, report.run_id, emit)
                    unstored = [b for b in unstored if b is not pending[0]]
                if job is None:
                    for res in batch.results:
                        emit(res)
                    unstored = [b for b in unstored if b is not batch]
                pending = (batch, job) if job is not None else None
            if pending is not None:
                self._finish(*pending, session, link, report.run_id, emit)
        except Exception as e:
            status = "interrupted"
            failure = store_failure(e, self.store.url)
            if failure is None:
                raise
            raise IngestAborted(failure, _not_stored(unstored, failure), report) from e
        except BaseException:
            status = "interrupted"  # the session may hold what was not stored: not kept
            raise
        finally:
            self._record("the end of the ingest run",
                         lambda: self.store.finish_run(report.run_id or 0, report.counts(), status))
        if self.keep_session:
            self._session = session
        return report

    def _record(self, what: str, write: Callable[[], None]) -> None:
        """A bookkeeping write (a rejection, the end of a run) that a store failure must not turn into the ingest's
        own failure: the failure is logged instead."""
        try:
            write()
        except Exception as e:
            failure = store_failure(e, self.store.url)
            if failure is None:
                raise
            log.warning("could not record %s: %s", what, failure)

    def _start(self, batch: _Batch) -> Callable[[], Processed]:
        """analyze every prepared article, embed the originals (on the worker processes when there are some)."""
        return self.c.start(batch.prepared, {a.id for a in batch.prepared if a.duplicate_of is None})

    def _finish(self, batch: _Batch, job: Callable[[], Processed], session: _Session, link: bool,
                run_id: int | None, emit: Callable[[ItemResult], None]) -> None:
        """Wait for the batch's analysis and vectors, then assign stories and store it (one writer at a time)."""
        early, batch.results = batch.results, []
        for res in early:  # what preparing the batch reported (read errors, unchanged items), in input order
            emit(res)
        from storylens.embed import ArticleVectors

        done = job()
        # the vectors as the store keeps them (float16), so a stream reopened from the store and the Spark runner
        # (which ships them as bytes) see exactly these
        batch.analyzed = done.analyzed
        batch.vectors = {k: ArticleVectors.from_bytes(v.to_bytes()) for k, v in done.vectors.items()}
        for a, stage, reason in done.failed:
            emit(ItemResult(source=a.source, id=a.id, status="rejected", stage=stage, reason=reason))
        if not batch.analyzed:
            return
        # from here to the batch's last write, one writer per store (another process may be ingesting too); what it
        # stored since our last batch makes our state stale, so it is reloaded
        waited, delay = 0.0, 0.5
        unstorable: list[ItemResult] = []
        meanwhile: list[ItemResult] = []
        for attempt in itertools.count():
            try:
                with self.store.writer_lock():
                    meanwhile += self._stored_meanwhile(batch)
                    if not batch.analyzed:
                        break
                    if attempt or session.stale():
                        log.info("reloading duplicate, story and entity state (another writer stored articles, or "
                                 "the batch is stored again)")
                        session.reload()
                    if batch.generation != session.generation:  # deduplicated against state since reloaded
                        self._dedupe(batch, session, recheck=True)
                        batch.generation = session.generation
                    refine_weekday_dates(batch.analyzed, self._quote_lookup)
                    new_entities = session.resolver.resolve(batch.analyzed)
                    assignment = self._assign(batch, session, link)
                    self._store(batch, session, assignment, new_entities, run_id)
                break
            except ArticlesNotStored as e:
                # the batch was rolled back: assigned and stored again without the articles the store refused
                batch.results = []
                dropped = self._drop(batch, e.failed)
                if not dropped:  # never expected: the refused articles are the batch's
                    raise
                unstorable += dropped
                if not batch.analyzed:
                    break
            except Exception as e:
                # a lost connection rolled the batch back: once the server answers, the batch is assigned and stored
                # again from the store's state (the lock was lost with the connection: another writer may have
                # stored articles meanwhile)
                failure = store_failure(e, self.store.url)
                if failure is None or failure.kind != "connection" or waited >= self.settings.ingest.reconnect_s:
                    raise
                delay = min(delay, self.settings.ingest.reconnect_s - waited)
                log.warning("%s: storing the batch of %d articles again in %.1f s", failure, len(batch.analyzed), delay)
                batch.results = []
                time.sleep(delay)
                waited, delay = waited + delay, delay * 2
        for res in [*meanwhile, *unstorable, *batch.results]:  # after the lock: a caller's callback may itself write to the store
            emit(res)

    def _drop(self, batch: _Batch, failed: dict[str, str]) -> list[ItemResult]:
        """Take the articles the store refused out of ``batch``, with the copies of those among them that were
        originals (a copy is stored with its original); their results."""
        out = []
        for a in batch.analyzed:
            if a.id in failed:
                reason = f"could not be stored: {failed[a.id]}"
            elif a.duplicate_of in failed:
                reason = f"not stored: its original {a.duplicate_of} could not be stored"
            else:
                continue
            out.append(ItemResult(source=a.source, id=a.id, status="rejected", stage="store", reason=reason))
        gone = {r.id for r in out}
        batch.analyzed = [a for a in batch.analyzed if a.id not in gone]
        batch.vectors = {k: v for k, v in batch.vectors.items() if k not in gone}
        return out

    def _stored_meanwhile(self, batch: _Batch) -> list[ItemResult]:
        """Articles of the batch that another writer stored under the same id since the batch was prepared (the same
        record posted and ingested from a file at once): the same content is unchanged and leaves the batch, other
        content is an update.  Called under the writer lock; the results of the articles taken out."""
        stored = self.store.content_hashes([a.id for a in batch.analyzed if a.id not in batch.updated])
        if not stored:
            return []
        keep, out = [], []
        for a in batch.analyzed:
            h = stored.get(a.id)
            if h is not None and h == a.content_hash:
                out.append(ItemResult(source=a.source, id=a.id, status="unchanged", title=a.title))
                continue
            if h is not None:
                batch.updated.add(a.id)
            keep.append(a)
        batch.analyzed = keep
        ids = {a.id for a in keep}
        batch.vectors = {k: v for k, v in batch.vectors.items() if k in ids}
        return out

    def _prepare(self, chunk: list[RawDocument | ReadError], session: _Session, inflight: _Batch | None = None
                 ) -> _Batch:
        """read errors reported; clean and detect; unchanged items skipped; duplicates marked.  ``inflight``: the
        batch still being analyzed (not stored yet): its articles count as stored."""
        batch = _Batch(generation=session.generation)
        stored_soon = {a.id: a.content_hash for a in inflight.prepared} if inflight is not None else {}
        raws = [r for r in chunk if isinstance(r, RawDocument)]
        for r in chunk:
            if isinstance(r, ReadError):
                batch.results.append(ItemResult(source=r.source, status="rejected", reason=r.reason, stage=r.stage))
        for raw in raws:
            session.furniture.observe(raw)
        seen: set[str] = set()
        for raw in raws:
            try:
                art = self.c.prepare(raw, session.furniture)
            except Exception as e:  # noqa: BLE001 - one bad item never stops the batch
                batch.results.append(ItemResult(source=raw.source, id=raw.key, status="rejected", stage="clean",
                                                reason=str(e) or type(e).__name__))
                continue
            old_hash = stored_soon[art.id] if art.id in stored_soon else self.store.content_hash(art.id)
            if art.id in seen or old_hash == art.content_hash:
                batch.results.append(ItemResult(source=raw.source, id=art.id, status="unchanged", title=art.title))
                continue
            seen.add(art.id)
            if old_hash is not None:
                batch.updated.add(art.id)
            batch.prepared.append(art)
        self._dedupe(batch, session)
        return batch

    def _dedupe(self, batch: _Batch, session: _Session, recheck: bool = False) -> None:
        arts = [a for a in batch.analyzed if a.duplicate_of is None] if recheck else batch.prepared
        for a in dedupe_order([a for a in arts if a.id not in batch.updated]):
            a.duplicate_of, a.duplicate_kind = session.deduper.check_and_add(a)
        if recheck:
            keep = {a.id for a in batch.originals}
            batch.vectors = {k: v for k, v in batch.vectors.items() if k in keep}

    def _assign(self, batch: _Batch, session: _Session, link: bool) -> _Assignment:
        """Originals join or found stories (in assignment order); copies follow their originals; the changed
        stories' narratives are updated."""
        from storylens.stories.stream import assignment_order

        originals = [a for a in batch.originals if a.id in batch.vectors]
        if originals and session.stream is None:
            session.stream = self.open_stream()
        stream = session.stream
        story_of: dict[str, str | None] = {}
        if stream is not None and originals:  # the batch is assigned as one (its articles see each other)
            order = assignment_order(originals, len(originals))
            story_of.update(zip([a.id for a in order], stream.add_many([(a, batch.vectors[a.id]) for a in order]),
                                strict=True))
        for a in batch.analyzed:
            if a.duplicate_of is not None:
                story_of[a.id] = (story_of.get(a.duplicate_of) or (stream.story_of(a.duplicate_of) if stream else None)
                                  or self.store.story_of([a.duplicate_of]).get(a.duplicate_of))
        if stream is None:
            return _Assignment(story_of, [], {}, [], [], None, None)
        changed_states = [s for s in stream.all_states() if s.id in stream.dirty_ids()]
        stories = [s.to_story() for s in changed_states]
        changes = stream.flush(apply=False)
        moved = {m.id: sid for sid, ms in changes.members.items() for m in ms}
        narratives = None
        if link:
            from storylens.store.narratives import StoreNarratives
            from storylens.stories.narratives import NarrativeLinker

            linker = NarrativeLinker(self.settings.stories, StoreNarratives(self.store))
            narratives = linker.update(changed_states, changes.deleted, apply=False)
        return _Assignment(story_of, stories, moved, changes.merges, changes.deleted, changes, narratives)

    def _store(self, batch: _Batch, session: _Session, asg: _Assignment, new_entities: Sequence[Entity],
               run_id: int | None) -> None:
        """The batch in one transaction with its story, narrative and streaming state: every article or none (the
        articles the store refuses raise :class:`ArticlesNotStored`, and :meth:`_finish` stores the others again).
        When the batch's own writes fail, one transaction per article."""
        from storylens.store import ArticleWrite

        ordered = sorted(batch.analyzed, key=_sort_key)
        writes = []
        for a in ordered:
            v = batch.vectors.get(a.id)
            writes.append(ArticleWrite(a, session.deduper.signature(a),
                                       (EMBED_MODEL, v.to_bytes()) if v is not None else None, asg.story_of.get(a.id)))
        furniture = session.furniture.changes()
        marker = str(asg.stream.meta.get("arrivals", 0)).encode() if asg.stream is not None else None
        try:
            errors = self.store.save_batch(
                writes, run_id=run_id, entities=new_entities, stories=asg.stories, merges=asg.merges, moved=asg.moved,
                deleted_stories=asg.deleted, stream=asg.stream, narratives=asg.narratives, furniture=furniture,
                complete_state={STREAM_MARKER: marker} if marker is not None else None, all_or_nothing=True)
        except ArticlesNotStored:
            raise  # the caller stores the batch again without them
        except Exception as e:  # noqa: BLE001 - the batch's own writes failed: one transaction per article instead
            if store_failure(e, self.store.url) is not None:  # the store's fault, not the batch's: nothing stored
                raise
            log.warning("the batch could not be stored in one transaction: storing its articles one by one",
                        exc_info=True)
            self._store_one_by_one(batch, session, asg, new_entities, run_id)
            return
        session.furniture.commit(furniture)
        assert not any(errors)  # an article the store refused raised ArticlesNotStored
        batch.results.extend(self._stored(batch, asg, a) for a in ordered)
        if marker is not None:
            session.marker = marker

    def _stored(self, batch: _Batch, asg: _Assignment, a: Article) -> ItemResult:
        status: Status = "updated" if a.id in batch.updated else "duplicate" if a.duplicate_of else "new"
        return ItemResult(source=a.source, id=a.id, status=status, duplicate_of=a.duplicate_of,
                          story_id=asg.moved.get(a.id, asg.story_of.get(a.id)), title=a.title)

    def _store_one_by_one(self, batch: _Batch, session: _Session, asg: _Assignment, new_entities: Sequence[Entity],
                          run_id: int | None) -> None:
        """One transaction per article; the batch's story, narrative and streaming state with its last article."""
        ordered = sorted(batch.analyzed, key=_sort_key)
        failed = False
        for i, a in enumerate(ordered):
            last = i == len(ordered) - 1
            v = batch.vectors.get(a.id)
            state: dict[str, bytes] = {}
            furniture = session.furniture.changes() if last else None
            if last and asg.stream is not None and not failed:
                state[STREAM_MARKER] = str(asg.stream.meta.get("arrivals", 0)).encode()
            try:
                self.store.save_article(
                    a, run_id=run_id, minhash=session.deduper.signature(a),
                    embedding=(EMBED_MODEL, v.to_bytes()) if v is not None else None,
                    entities=_entities_for(a, new_entities) if not last else new_entities,
                    stories=asg.stories if last else (), merges=asg.merges if last else (),
                    moved=asg.moved if last else None, deleted_stories=asg.deleted if last else (),
                    stream=asg.stream if last and not failed else None,
                    narratives=asg.narratives if last and not failed else None,
                    state=state, furniture=furniture, story_id=asg.story_of.get(a.id))
            except Exception as e:  # noqa: BLE001 - the transaction rolled back; the batch goes on
                batch.results.append(ItemResult(source=a.source, id=a.id, status="rejected", stage="store",
                                                reason=f"could not be stored: {type(e).__name__}: {str(e)[:300]}"))
                failed = True
                continue
            if furniture is not None:
                session.furniture.commit(furniture)
            if last and STREAM_MARKER in state:
                session.marker = state[STREAM_MARKER]
            batch.results.append(self._stored(batch, asg, a))
        if failed:
            session.stream = None
            session.marker = b"-"

    def _quote_lookup(self, normalised: str, before: dt.date) -> list[tuple[str, dt.date]]:
        """Stored quotes (normalised words, date) of firmly dated articles of the weeks before ``before`` that
        share this quote's opening words (a weekday is ambiguous only within a few weeks: the date bound keeps
        this off a full scan)."""
        from storylens.stories.dating import LOOKBACK_DAYS, MIN_WORDS, words

        # the longest of the opening words: the most selective substring that any carrier must contain
        needle = max(normalised.split()[:MIN_WORDS], key=len, default="")
        rows = self.store.firmly_dated_quotes(needle, shift_date(before, -LOOKBACK_DAYS), before)
        return [(words(text), d) for text, d in rows]

    def link_narratives(self) -> None:
        """Narratives of every stored story, linked again from scratch in time order (after a batch
        re-clustering or a load); later ingests continue incrementally from them.  One writer at a time; the
        narratives are replaced in one transaction, and a relink cut short (killed) is completed by the next
        ingest (:data:`RELINK_MARKER`)."""
        from storylens.stories.narratives import MemoryNarratives, NarrativeLinker

        with self.store.writer_lock():
            self.store.put_state(RELINK_MARKER, b"1")  # committed first: what a kill in the relink leaves behind
            states, _ = self._story_states()
            # linked from an empty start in memory (what the store would hold chunk after chunk), written at once
            backend = MemoryNarratives()
            linker = NarrativeLinker(self.settings.stories, backend)
            ordered = sorted(states, key=lambda s: (s.first or dt.date.max, s.id))
            for chunk in batched(ordered, ASSIGNMENT_BATCH):
                linker.update(chunk)
            self.store.replace_narratives(backend.contents(), clear_state=[RELINK_MARKER])

    def relink_pending(self) -> bool:
        """Whether a relink of every narrative was started and never finished (the process was killed)."""
        return self.store.get_state(RELINK_MARKER) is not None

    def _story_states(self, stories: Sequence[Story] | None = None) -> tuple[list[Any], Any]:
        """Every stored story (or ``stories``, not stored yet) rebuilt as a story state from its articles (signals
        against the background of all of them, members numbered in publication order), and that background."""
        from storylens.embed import ArticleVectors
        from storylens.stories.recluster import background, batch_signals
        from storylens.stories.state import StoryState

        if stories is None:
            stories = self.store.stories()
        ids = [aid for s in stories for aid in s.articles]
        arts = sorted((a for a in self.store.articles(ids) if a.duplicate_of is None), key=_sort_key)
        vecs = self.store.embeddings([a.id for a in arts])
        keep = [a for a in arts if a.id in vecs]
        df = background(keep)
        sigs = {s.id: s for s in batch_signals(keep, [ArticleVectors.from_bytes(vecs[a.id]) for a in keep],
                                                  self.settings.stories, df)}
        rank = {a.id: i + 1 for i, a in enumerate(keep)}
        out = []
        for st in stories:
            members = sorted((sigs[a] for a in st.articles if a in sigs), key=lambda m: rank[m.id])
            if not members:
                continue
            state = StoryState(id=st.id, created=rank[members[0].id])
            for m in members:
                m.arrival = rank[m.id]
                state.add(m, m.arrival)
            out.append(state)
        return out, df

    def recluster(self, since: dt.date | None = None) -> tuple[int, int]:
        """Batch re-clustering for back-fills: rebuild all stories (or those touching ``since`` onwards) with the
        story scorer seeing every article at once.  The story stream then continues from the new stories."""
        from storylens.embed import ArticleVectors
        from storylens.store.stream import StoreStoryBackend
        from storylens.stories.recluster import recluster_states
        from storylens.stories.stream import StoryStream

        with self.store.writer_lock():
            articles = [a for a in self.store.articles(since=since) if a.duplicate_of is None]
            vecs = self.store.embeddings([a.id for a in articles])
            articles = [a for a in articles if a.id in vecs]
            states, df = recluster_states(articles, [ArticleVectors.from_bytes(vecs[a.id]) for a in articles],
                                          self.settings.stories)
            stories = [s.to_story() for s in states]
            if since is not None:
                untouched = [s for s in self.store.stories() if s.last_seen is not None and s.last_seen < since]
                stories = untouched + stories
            # duplicates follow their originals
            member = {aid: s.id for s in stories for aid in s.articles}
            by_id = {s.id: s for s in stories}
            for d in self.store.articles():
                if d.duplicate_of and d.duplicate_of in member:
                    by_id[member[d.duplicate_of]].articles.append(d.id)
            # the stream continues from the new stories as they are
            if since is not None:
                states, df = self._story_states(stories)
            stream = StoryStream(self.settings.stories, StoreStoryBackend(self.store))
            stream.install(states, df)
            # stories, stream state and the marker of a relink to come in one transaction: a kill leaves either the
            # old stories or the new ones with their stream, and narratives the next ingest links if this run cannot
            self.store.replace_stories(stories, [], stream=stream.flush(apply=False),
                                       state={STREAM_MARKER: str(stream.arrivals).encode(), RELINK_MARKER: b"1"})
            self.link_narratives()
        return len(articles), len(stories)


def _not_stored(batches: Sequence[_Batch], failure: StoreFailure) -> list[ItemResult]:
    """The items of ``batches`` (read, not stored) as rejected for ``failure``."""
    reason = f"not stored: {failure}"
    return [ItemResult(source=a.source, id=a.id, status="rejected", stage="store", reason=reason, title=a.title)
            for b in batches for a in (b.analyzed or b.prepared)]


def _document_batches(items: Iterable[RawDocument | ReadError], n: int, emit: Callable[[ItemResult], None]
                      ) -> Iterator[list[RawDocument | ReadError]]:
    """Batches of ``n`` documents in reading order (what the Spark runner reproduces); read errors are reported as
    they come and take no place in a batch."""
    def documents() -> Iterator[RawDocument | ReadError]:
        for it in items:
            if isinstance(it, ReadError):
                emit(ItemResult(source=it.source, status="rejected", reason=it.reason, stage=it.stage))
            else:
                yield it

    yield from batched(documents(), n)


def dedupe_order(articles: Sequence[Article]) -> list[Article]:
    """The order in which a batch meets the duplicate index, so that an original precedes its copies: by
    publication date, then articles that say they are republished ("originally published on …") last."""
    def key(ia: tuple[int, Article]) -> tuple[dt.date, int, int]:
        i, a = ia
        syndicated = any(r.rule == "syndication_notice" for r in a.removed)
        return (a.published.value or dt.date.max, int(syndicated), i)

    return [a for _, a in sorted(enumerate(articles), key=key)]


def _entities_for(article: Article, entities: Sequence[Entity]) -> list[Entity]:
    ids = {m.entity_id for m in article.entities} | {q.speaker.entity_id for q in article.quotes if q.speaker}
    return [e for e in entities if e.id in ids]


def analyze_items(items: Iterable[Item], settings: Settings | None = None,
                  on_error: Callable[[ItemResult], None] | None = None, batch_size: int = 32) -> Iterator[Article]:
    """Store-less analysis for ``storylens analyze``: prepared, deduplicated (within the input) and analyzed."""
    from storylens.nlp import EntityResolver
    from storylens.stories.dedupe import Deduper

    settings = settings or Settings()
    comps = Components(settings)
    deduper = Deduper.from_signatures((), settings.dedupe)
    resolver = EntityResolver()
    from storylens.clean import FurnitureModel

    furniture = FurnitureModel()
    try:
        for batch in batched(read_items(items, settings), batch_size):
            arts: list[Article] = []
            for r in batch:
                if isinstance(r, ReadError):
                    if on_error:
                        on_error(ItemResult(source=r.source, status="rejected", reason=r.reason, stage=r.stage))
                    continue
                furniture.observe(r)
                try:
                    a = comps.prepare(r, furniture)
                except Exception as e:  # noqa: BLE001
                    if on_error:
                        on_error(ItemResult(source=r.source, id=r.key, status="rejected", stage="clean",
                                            reason=str(e)))
                    continue
                arts.append(a)
            for a in dedupe_order(arts):
                a.duplicate_of, a.duplicate_kind = deduper.check_and_add(a)
            done = comps.start(arts, set())()  # on the worker processes when the input is large enough
            for a, stage, reason in done.failed:
                if on_error:
                    on_error(ItemResult(source=a.source, id=a.id, status="rejected", stage=stage, reason=reason))
            ok = done.analyzed
            refine_weekday_dates(ok)
            resolver.resolve(ok)
            yield from ok
    finally:
        comps.close()


def score_pairs(pairs: Iterable[Mapping[str, Any]], settings: Settings | None = None,
                on_error: Callable[[ItemResult], None] | None = None) -> list[Any]:
    """``storylens similarity``: ``{"id", "a": {article}, "b": {article}}`` records (articles in the input contract)
    to :class:`~storylens.stories.similarity.PairScore` records.  Every article of every pair is read, cleaned,
    analysed and embedded once; a pair whose record or articles are unusable is reported through ``on_error`` (with
    its id and the reason) and skipped."""
    from storylens.stories.similarity import pair_scores

    settings = settings or Settings()
    records: dict[str, Mapping[str, Any]] = {}
    wanted: list[tuple[str, str, str]] = []
    for n, p in enumerate(pairs, 1):
        pid = str(p.get("id") or f"pair-{n}") if isinstance(p, Mapping) else f"pair-{n}"
        if not isinstance(p, Mapping) or not isinstance(p.get("a"), Mapping) or not isinstance(p.get("b"), Mapping):
            if on_error:
                on_error(ItemResult(source=pid, status="rejected", stage="read",
                                    reason='a pair needs "a" and "b" articles (objects in the input contract)'))
            continue
        ids = []
        for side in ("a", "b"):
            rec = dict(p[side])
            rec["id"] = str(rec.get("id") or f"{pid}:{side}")
            if rec["id"] in records and records[rec["id"]] != p[side] and not p[side].get("id"):
                rec["id"] = f"{pid}:{side}"
            records.setdefault(rec["id"], rec)
            ids.append(rec["id"])
        wanted.append((pid, ids[0], ids[1]))
    failed: dict[str, str] = {}

    def bad(r: ItemResult) -> None:
        failed[r.id or r.source] = r.reason or "rejected"

    from storylens.ingest import record_to_raw

    raws: list[RawDocument] = []
    for rid, record in records.items():
        raw = record_to_raw(record, rid)
        if isinstance(raw, ReadError):
            failed[rid] = raw.reason
        else:
            raws.append(raw)
    arts = {a.id: a for a in analyze_items(raws, settings, on_error=bad)}
    ok = [w for w in wanted if w[1] in arts and w[2] in arts]
    for pid, a, b in wanted:
        if (pid, a, b) not in ok and on_error:
            why = "; ".join(f"article {x!r}: {failed.get(x, 'could not be read')}" for x in (a, b) if x not in arts)
            on_error(ItemResult(source=pid, id=pid, status="rejected", stage="analyze", reason=why))
    used = [arts[x] for x in dict.fromkeys(i for w in ok for i in w[1:])]
    vectors = Components(settings).vectors(used)
    return pair_scores(used, vectors, ok, settings.stories)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
