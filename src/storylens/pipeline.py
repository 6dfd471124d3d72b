"""The local runner: read → clean → detect → dedupe → analyze → embed → assign story → link narratives.

Stages are plain functions over typed records (``storylens.ingest``, ``storylens.clean``, ``storylens.nlp``,
``storylens.embed``, ``storylens.stories``); this module composes them in batches, isolates per-item failures
(a failing item is reported with its reason, the rest of the batch goes on) and hands records to the store.
Heavy components (spaCy, natasha, USE) are loaded once per process on first use.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from storylens.model import Article, Entity, RawDocument, ReadError, Story
from storylens.settings import Settings
from storylens.stories.dating import refine_weekday_dates

if TYPE_CHECKING:
    from storylens.embed import ArticleVectors, Embedder
    from storylens.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

Status = Literal["new", "duplicate", "unchanged", "updated", "rejected"]
EMBED_MODEL = "use-multilingual-v3"
ASSIGNER_KEY = "story_assigner"
FURNITURE_KEY = "furniture"


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
    """The stateful components one runner needs, created on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedder: Embedder | None = None

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
        from storylens.nlp import analyze

        try:
            return list(analyze(articles, self.settings.nlp)), []
        except Exception:  # noqa: BLE001 - isolate the failing item below
            ok: list[Article] = []
            bad: list[tuple[Article, str]] = []
            for a in articles:
                try:
                    ok.extend(analyze([a], self.settings.nlp))
                except Exception as e:  # noqa: BLE001
                    bad.append((a, f"analysis failed: {type(e).__name__}: {e}"))
            return ok, bad

    def vectors(self, articles: list[Article]) -> list[ArticleVectors]:
        from storylens.embed import article_vectors

        return list(article_vectors(articles, self.embedder)) if articles else []


class Runner:
    """Ingest items into a store, one transaction per article."""

    def __init__(self, store: Store, settings: Settings | None = None, components: Components | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.c = components or Components(self.settings)

    # ---- streaming state ------------------------------------------------------------------------------
    def _load_furniture(self) -> Any:
        from storylens.clean import FurnitureModel

        data = self.store.get_state(FURNITURE_KEY)
        return FurnitureModel.from_json(data.decode("utf-8")) if data else FurnitureModel()

    def _load_assigner(self) -> Any:
        """The streaming story assigner, as of the last stored article; replayed from the store when stale."""
        from storylens.stories import StoryAssigner

        data = self.store.get_state(ASSIGNER_KEY)
        marker = self.store.get_state(ASSIGNER_KEY + ":n")
        n_assigned = self._n_assignable()
        if data and marker and int(marker) == n_assigned:
            try:
                return StoryAssigner.from_state(data, self.settings.stories)
            except Exception as e:  # noqa: BLE001 - a state of an older version is rebuilt below
                log.warning("story state unreadable (%s); rebuilding from the store", e)
        return self._replay_assigner()

    def _n_assignable(self) -> int:
        return sum(1 for _ in self._assignable_ids())

    def _assignable_ids(self) -> Iterator[str]:
        from sqlalchemy import select

        from storylens.store.schema import ArticleRow

        with self.store.session() as s:
            q = select(ArticleRow.id).where(ArticleRow.duplicate_of.is_(None)).order_by(ArticleRow.seq)
            yield from s.scalars(q)

    def _replay_assigner(self) -> Any:
        """Rebuild the assigner by re-adding stored originals in their stored order (deterministic ids)."""
        from storylens.embed import ArticleVectors
        from storylens.stories import StoryAssigner

        assigner = StoryAssigner(self.settings.stories)
        ids = list(self._assignable_ids())
        for chunk in batched(ids, 500):
            arts = {a.id: a for a in self.store.articles(chunk)}
            vecs = self.store.embeddings(chunk)
            for aid in chunk:
                if aid in arts and aid in vecs:
                    assigner.add(arts[aid], ArticleVectors.from_bytes(vecs[aid]))
        return assigner

    # ---- ingest -----------------------------------------------------------------------------------------
    def ingest(self, items: Iterable[Item], on_result: Callable[[ItemResult], None] | None = None,
               batch_size: int = 64, link: bool = True) -> IngestReport:
        from storylens.nlp import EntityResolver
        from storylens.stories.dedupe import Deduper

        materialised = list(items)
        report = IngestReport(run_id=self.store.start_run([str(i) if not isinstance(i, Mapping) else "record"
                                                          for i in materialised]))
        known = self.store.get_state(ASSIGNER_KEY + ":n")  # the store's marker as our state knows it
        deduper = Deduper.from_signatures(self.store.signatures(), self.settings.dedupe)
        furniture = self._load_furniture()
        resolver = EntityResolver(self.store.entities())
        assigner = None  # loaded when the first new original arrives
        n_assigned = 0  # stored originals the assigner state reflects (its marker, so a stale state is replayed)
        any_assigned = False

        def emit(r: ItemResult) -> None:
            report.results.append(r)
            if r.status == "rejected":
                self.store.record_error(report.run_id, r.source, r.stage or "ingest", r.reason or "rejected")
            if on_result is not None:
                on_result(r)

        status = "done"
        try:
            for batch in batched(read_items(materialised, self.settings), batch_size):
                raws = [r for r in batch if isinstance(r, RawDocument)]
                for r in batch:
                    if isinstance(r, ReadError):
                        emit(ItemResult(source=r.source, status="rejected", reason=r.reason, stage=r.stage))
                for raw in raws:
                    furniture.observe(raw)
                prepared: list[Article] = []
                updated: set[str] = set()
                seen_in_batch: set[str] = set()
                for raw in raws:
                    try:
                        art = self.c.prepare(raw, furniture)
                    except Exception as e:  # noqa: BLE001 - one bad item never stops the batch
                        emit(ItemResult(source=raw.source, id=raw.key, status="rejected", stage="clean",
                                        reason=str(e) or type(e).__name__))
                        continue
                    old_hash = self.store.content_hash(art.id)
                    if art.id in seen_in_batch or old_hash == art.content_hash:
                        emit(ItemResult(source=raw.source, id=art.id, status="unchanged", title=art.title))
                        continue
                    seen_in_batch.add(art.id)
                    if old_hash is not None:
                        updated.add(art.id)
                    prepared.append(art)
                for art in dedupe_order(prepared):
                    if art.id not in updated:
                        art.duplicate_of, art.duplicate_kind = deduper.check_and_add(art)
                if not prepared:
                    continue
                analyzed, failed = self.c.analyze(prepared)
                for a, reason in failed:
                    emit(ItemResult(source=a.source, id=a.id, status="rejected", stage="analyze", reason=reason))
                if not analyzed:
                    continue
                originals = [a for a in analyzed if a.duplicate_of is None]
                vectors = dict(zip([a.id for a in originals], self.c.vectors(originals), strict=True))
                done: list[ItemResult] = []
                # from here to the last write of the batch, one writer per store (another process may be
                # ingesting too: `storylens watch` beside `storylens serve`); what it stored since our last batch
                # makes our assigner and entity resolver stale, so they are reloaded
                with self.store.writer_lock():
                    if self.store.get_state(ASSIGNER_KEY + ":n") != known:
                        log.info("another writer stored articles: reloading duplicate, story and entity state")
                        assigner = None
                        resolver = EntityResolver(self.store.entities())
                        deduper = Deduper.from_signatures(self.store.signatures(), self.settings.dedupe)
                        for a in dedupe_order([a for a in originals if a.id not in updated]):
                            a.duplicate_of, a.duplicate_kind = deduper.check_and_add(a)
                        originals = [a for a in originals if a.duplicate_of is None]
                        vectors = {a.id: vectors[a.id] for a in originals}
                    refine_weekday_dates(analyzed, self._quote_lookup)
                    new_entities = resolver.resolve(analyzed)
                    if originals and assigner is None:
                        assigner = self._load_assigner()
                        n_assigned = self._n_assignable()
                    any_assigned = any_assigned or bool(originals)
                    story_of: dict[str, str | None] = {}
                    touched: set[str] = set()
                    n_merges = len(assigner.merges) if assigner is not None else 0
                    ordered = sorted(analyzed, key=_sort_key)
                    for a in ordered:
                        if a.duplicate_of is None and assigner is not None:
                            sid = assigner.add(a, vectors[a.id])
                            touched.add(sid)
                            story_of[a.id] = sid
                    new_merges = list(assigner.merges[n_merges:]) if assigner is not None else []
                    for a in analyzed:
                        if a.duplicate_of is not None:
                            story_of[a.id] = (story_of.get(a.duplicate_of)
                                              or self.store.story_of([a.duplicate_of]).get(a.duplicate_of))
                    all_stories: dict[str, Story] = ({s.id: s for s in assigner.stories()}
                                                     if assigner is not None else {})
                    for mg in new_merges:
                        touched.add(mg.kept)
                        touched.discard(mg.merged)
                    changed = [all_stories[s] for s in touched if s in all_stories]
                    # membership of the touched stories, so merges move the articles of the merged story too
                    moved = {aid: st.id for st in changed for aid in st.articles}
                    store_failed = False
                    for i, a in enumerate(ordered):
                        last = i == len(ordered) - 1
                        v = vectors.get(a.id)
                        state: dict[str, bytes] = {}
                        if last:
                            state[FURNITURE_KEY] = furniture.to_json().encode("utf-8")
                            if assigner is not None:
                                state[ASSIGNER_KEY] = assigner.to_state()
                        try:
                            self.store.save_article(
                                a, run_id=report.run_id, minhash=deduper.signature(a),
                                embedding=(EMBED_MODEL, v.to_bytes()) if v is not None else None,
                                entities=_entities_for(a, new_entities) if not last else new_entities,
                                stories=changed if last else (), merges=new_merges if last else (),
                                moved=moved if last else None, state=state, story_id=story_of.get(a.id))
                        except Exception as e:  # noqa: BLE001 - the transaction rolled back; the batch goes on
                            done.append(ItemResult(source=a.source, id=a.id, status="rejected", stage="store",
                                                   reason=f"could not be stored: {type(e).__name__}: {str(e)[:300]}"))
                            store_failed = True
                            continue
                        if a.duplicate_of is None and a.id not in updated:
                            n_assigned += 1
                        if last and assigner is not None and not store_failed:
                            known = str(n_assigned).encode()
                            self.store.put_state(ASSIGNER_KEY + ":n", known)
                        status_: Status = ("updated" if a.id in updated else
                                           "duplicate" if a.duplicate_of else "new")
                        done.append(ItemResult(source=a.source, id=a.id, status=status_, duplicate_of=a.duplicate_of,
                                               story_id=moved.get(a.id, story_of.get(a.id)), title=a.title))
                    if store_failed:
                        # the in-memory assigner holds an article the store does not: rebuild it from the store
                        known = b"-1"
                        self.store.put_state(ASSIGNER_KEY + ":n", known)
                        assigner = None
                for res in done:  # after the lock: a caller's callback may itself write to the store
                    emit(res)
            if link and any_assigned:
                self.link_narratives()
        except BaseException:
            status = "interrupted"
            raise
        finally:
            self.store.finish_run(report.run_id or 0, report.counts(), status)
        return report

    def _quote_lookup(self, normalised: str, before: dt.date) -> list[tuple[str, dt.date]]:
        """Stored quotes (normalised words, date) of firmly dated articles of the weeks before ``before`` that
        share this quote's opening words (a weekday is ambiguous only within a few weeks: the date bound keeps
        this off a full scan)."""
        from storylens.stories.dating import LOOKBACK_DAYS, MIN_WORDS, words

        # the longest of the opening words: the most selective substring that any carrier must contain
        needle = max(normalised.split()[:MIN_WORDS], key=len, default="")
        rows = self.store.firmly_dated_quotes(needle, before - dt.timedelta(days=LOOKBACK_DAYS), before)
        return [(words(text), d) for text, d in rows]

    def link_narratives(self) -> None:
        from storylens.embed import ArticleVectors
        from storylens.stories import link_narratives

        stories = self.store.stories()
        ids = [aid for s in stories for aid in s.articles]
        articles = self.store.articles(ids)
        vecs = self.store.embeddings(ids)
        keep = [a for a in articles if a.id in vecs]
        narratives = link_narratives(stories, keep, [ArticleVectors.from_bytes(vecs[a.id]) for a in keep],
                                     self.settings.stories)
        self.store.save_narratives(narratives)

    def recluster(self, since: dt.date | None = None) -> tuple[int, int]:
        """Batch re-clustering for back-fills: rebuild all stories (or those touching ``since`` onwards)."""
        from storylens.embed import ArticleVectors
        from storylens.stories import recluster

        articles = [a for a in self.store.articles(since=since) if a.duplicate_of is None]
        vecs = self.store.embeddings([a.id for a in articles])
        articles = [a for a in articles if a.id in vecs]
        stories, merges = recluster(articles, [ArticleVectors.from_bytes(vecs[a.id]) for a in articles],
                                    self.settings.stories)
        if since is not None:
            untouched = [s for s in self.store.stories() if s.last_seen is not None and s.last_seen < since]
            stories = untouched + stories
        # duplicates follow their originals
        member = {aid: s.id for s in stories for aid in s.articles}
        for d in self.store.articles():
            if d.duplicate_of and d.duplicate_of in member:
                next(s for s in stories if s.id == member[d.duplicate_of]).articles.append(d.id)
        self.store.replace_stories(stories, merges)
        self.store.put_state(ASSIGNER_KEY + ":n", b"-1")  # the streaming state is rebuilt on next ingest
        self.link_narratives()
        return len(articles), len(stories)


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
                    on_error(ItemResult(source=r.source, id=r.key, status="rejected", stage="clean", reason=str(e)))
                continue
            arts.append(a)
        for a in dedupe_order(arts):
            a.duplicate_of, a.duplicate_kind = deduper.check_and_add(a)
        ok, bad = comps.analyze(arts)
        for a, reason in bad:
            if on_error:
                on_error(ItemResult(source=a.source, id=a.id, status="rejected", stage="analyze", reason=reason))
        refine_weekday_dates(ok)
        resolver.resolve(ok)
        yield from ok


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
