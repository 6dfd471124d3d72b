"""The distributed runner: the local runner's stages on Spark, writing Parquet tables.

Same stage functions as :mod:`storylens.pipeline`, a different runner:

==============  ============================================================================================
read            files listed on the driver (local paths exactly as ``storylens.ingest`` walks them; any
                Hadoop-compatible URI through Hadoop's FileSystem), one task per file (``read_path`` on a local
                file, ``binaryFiles`` for remote ones); Parquet inputs through ``spark.read.parquet``
clean/detect    ``storylens.clean.prepare`` per partition, with the furniture model learned over the whole input
                first (partition models merged on the driver, or observed on the driver when they cannot merge)
dedupe          ``Deduper.signature`` per article; LSH banding as a Spark join (every article of a band bucket
                linked to the bucket's first article), connected components of the candidate graph, then the
                library's own ``Deduper`` replayed inside each component in input order -> same result as local
analyze         ``storylens.nlp.analyze`` per partition (``Components.analyze``: one bad item names itself)
entities        ``EntityResolver`` over the analyzed records streamed to the driver in input order
embed           ``article_vectors`` per partition, originals only
assign story    story signals per partition; one ``StoryStream`` on the driver fed batch by batch in the local
                runner's order through ``toLocalIterator`` (a scratch store on the driver's disk holds closed
                stories), so both runners give the same stories; duplicates follow their original
quote groups    ``storylens.compare.group_quotes`` per story
==============  ============================================================================================

Heavy components (spaCy, natasha, USE) live in module-level caches, so each Python worker process loads them
once and reuses them for every task it runs (``spark.python.worker.reuse``).  A malformed record becomes a row
of the ``errors`` table with its source, stage and reason; it never fails the job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storylens.model import Article, Entity, RawDocument, ReadError, to_jsonable
from storylens.settings import Settings

if TYPE_CHECKING:
    from pyspark import RDD, Broadcast
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

TABLES = ("articles", "quotes", "entities", "canonical_entities", "stories", "quote_groups", "errors")
Ordinal = tuple[int, int, int]  # (input number, file number, record number): the local runner's reading order
BAND_ROWS = 4  # rows per LSH band of the Spark blocking (a superset of the Deduper's own candidates)

# ---- per-executor caches ---------------------------------------------------------------------------------

_CACHE: dict[str, Any] = {}


def components(settings: Settings) -> Any:
    """The runner components of this process (models load on first use, once per Python worker)."""
    from storylens.pipeline import Components

    key = "components:" + repr(settings)
    comp = _CACHE.get(key)
    if comp is None:
        _task_threads()
        comp = _CACHE[key] = Components(settings)
    return comp


def _task_threads() -> None:
    """Inside a Spark task, compute on the task's cores only (``spark.task.cpus``, 1 by default).

    An executor runs one Python worker per task slot, all at once; left alone each worker would size its BLAS pool
    and the sentence encoder's threads to the whole machine (2 workers x 2 threads on ``local[2]``), and the
    oversubscribed threads slow every stage.  On the driver (no task context) nothing changes."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is None or os.environ.get("STORYLENS_SPARK_KEEP_THREADS"):
        return
    try:
        n = max(1, int(ctx.cpus()))
    except Exception:  # noqa: BLE001 - older Spark: one core per task
        n = 1
    os.environ["STORYLENS_EMBED_THREADS"] = str(n)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)


def model_loads() -> int:
    """How many component sets this process created (tests check models are not loaded per row)."""
    return sum(1 for k in _CACHE if k.startswith("components:"))


# ---- options and report ----------------------------------------------------------------------------------


@dataclass(slots=True)
class SparkOptions:
    partitions: int | None = None  # default: 2 x the default parallelism
    write_mode: str = "overwrite"


@dataclass(slots=True)
class SparkReport:
    out: str
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        c = self.counts
        return (f"{c.get('articles', 0)} articles ({c.get('duplicates', 0)} duplicates), {c.get('quotes', 0)} quotes, "
                f"{c.get('stories', 0)} stories, {c.get('quote_groups', 0)} quote groups, "
                f"{c.get('errors', 0)} errors -> {self.out}")


# ---- reading ---------------------------------------------------------------------------------------------


def _is_local(uri: str) -> bool:
    return "://" not in uri and not uri.startswith(("file:", "hdfs:", "s3a:", "gs:", "abfs:")) or uri.startswith(
        "file:")


def _local_path(uri: str) -> str:
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return uri


def _is_parquet(name: str) -> bool:
    return name.lower().endswith((".parquet", ".parq"))


@dataclass(slots=True)
class InputFile:
    ordinal: tuple[int, int]
    uri: str
    local: bool
    parquet: bool


def list_inputs(spark: SparkSession, inputs: Sequence[str], settings: Settings,
                hadoop: bool = False) -> tuple[list[InputFile], list[ReadError]]:
    """Every input file in the local runner's order; unreadable inputs are errors, not exceptions.

    ``hadoop=True`` lists and reads local paths through Hadoop too (as ``file:`` URIs), as on a cluster.
    """
    from storylens.ingest import _walk

    files: list[InputFile] = []
    errors: list[ReadError] = []
    exts = tuple(e.lower() for e in settings.ingest.extensions) + (".parquet", ".parq")
    for i, s in enumerate(inputs):
        found: list[tuple[str, bool]] = []
        if hadoop and _is_local(s):
            s = "file:" + os.path.abspath(_local_path(s))
        if _is_local(s) and not hadoop:
            p = Path(_local_path(s))
            if p.is_dir():
                for f in _walk(p, settings.ingest):
                    if isinstance(f, ReadError):
                        errors.append(f)
                    else:
                        found.append((str(f), True))
                found += [(str(f), True) for f in sorted(p.rglob("*.parquet")) if not
                          any(part.startswith((".", "_")) for part in f.relative_to(p).parts)]
            elif p.exists():
                found.append((str(p), True))
            else:
                errors.append(ReadError(s, f"no such file or directory: {s}"))
        else:
            try:
                found += [(u, False) for u in _hadoop_list(spark, s, exts)]
            except Exception as e:  # noqa: BLE001 - one bad input never stops the job
                errors.append(ReadError(s, f"cannot list {s}: {type(e).__name__}: {e}"))
            if not found and not any(e.source == s for e in errors):
                errors.append(ReadError(s, f"no such file or directory: {s}"))
        for j, (uri, local) in enumerate(found):
            files.append(InputFile((i, j), uri, local, _is_parquet(uri)))
    return files, errors


def _hadoop_list(spark: SparkSession, uri: str, exts: tuple[str, ...]) -> list[str]:
    """Files under a Hadoop-compatible URI (a glob, a directory: recursive, hidden and ``_`` names skipped)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(conf)
    statuses = fs.globStatus(path) or []
    out: list[str] = []
    for st in statuses:
        if st.isDirectory():
            it = fs.listFiles(st.getPath(), True)
            root = st.getPath().toString().rstrip("/") + "/"
            while it.hasNext():
                f = it.next().getPath().toString()
                rel = f[len(root):] if f.startswith(root) else f.rsplit("/", 1)[-1]
                if any(part.startswith((".", "_")) for part in rel.split("/")):
                    continue
                if f.lower().endswith(exts):
                    out.append(f)
        else:
            out.append(st.getPath().toString())
    return sorted(out, key=lambda u: u.split("/"))


Item = tuple[str, Any]  # ("doc", (ordinal, RawDocument)) | ("err", ReadError)


def _read_local(f: InputFile, settings: Settings) -> Iterator[Item]:
    from storylens.ingest import read_path

    for k, r in enumerate(read_path(Path(f.uri), settings.ingest, explicit=True)):
        if isinstance(r, ReadError):
            yield ("err", r)
        else:
            yield ("doc", ((*f.ordinal, k), r))


def _read_remote(f: InputFile, data: bytes, settings: Settings) -> Iterator[Item]:
    """A file fetched by Spark: written to a local temp file with the same name, read, sources renamed back."""
    from storylens.ingest import read_path

    name = f.uri.rstrip("/").rsplit("/", 1)[-1] or "input"
    with tempfile.TemporaryDirectory(prefix="storylens-") as d:
        tmp = Path(d) / name
        tmp.write_bytes(data)
        for k, r in enumerate(read_path(tmp, settings.ingest, explicit=True)):
            if isinstance(r, ReadError):
                yield ("err", ReadError(r.source.replace(str(tmp), f.uri), r.reason.replace(str(tmp), f.uri), r.stage))
            else:
                r.source = r.source.replace(str(tmp), f.uri)
                yield ("doc", ((*f.ordinal, k), r))


def _read_parquet(spark: SparkSession, f: InputFile) -> RDD[Item]:
    """Rows of the input contract (``id``, ``url``, ``title``, ``text``/``html``, ``published``, ``outlet``,
    ``language``) from a Parquet file or dataset; the source is ``<uri>#<row>`` (1-based)."""
    df = spark.read.parquet(f.uri)
    uri = f.uri
    ordinal = f.ordinal

    def convert(pair: tuple[Any, int]) -> Item:
        from storylens.ingest import record_to_raw

        row, k = pair
        rec = {key: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
               for key, v in row.asDict(recursive=True).items() if v is not None}
        r = record_to_raw(rec, f"{uri}#{k + 1}")
        return ("err", r) if isinstance(r, ReadError) else ("doc", ((*ordinal, k), r))

    return df.rdd.zipWithIndex().map(convert)


def read(spark: SparkSession, files: Sequence[InputFile], settings: Settings, partitions: int) -> RDD[Item]:
    sc = spark.sparkContext
    parts: list[RDD[Item]] = []
    local = [f for f in files if f.local and not f.parquet]
    remote = [f for f in files if not f.local and not f.parquet]
    if local:
        parts.append(sc.parallelize(local, max(1, min(len(local), partitions)))
                     .flatMap(lambda f: _read_local(f, settings)))
    if remote:
        by_uri = {f.uri: f for f in remote}
        parts.append(sc.binaryFiles(",".join(by_uri), minPartitions=min(len(remote), partitions))
                     .flatMap(lambda kv: _read_remote(by_uri.get(kv[0]) or _match(by_uri, kv[0]), kv[1], settings)))
    for f in files:
        if f.parquet:
            parts.append(_read_parquet(spark, f))
    if not parts:
        return sc.emptyRDD()
    return parts[0] if len(parts) == 1 else sc.union(parts)


def _match(by_uri: dict[str, InputFile], uri: str) -> InputFile:
    """binaryFiles may spell a URI differently (``file:/x`` vs ``file:///x``): match on the path part."""
    tail = uri.split(":", 1)[-1].lstrip("/")
    for k, f in by_uri.items():
        if k.split(":", 1)[-1].lstrip("/") == tail:
            return f
    raise KeyError(uri)


# ---- clean ---------------------------------------------------------------------------------------------------


def learn_furniture(docs: RDD[tuple[Ordinal, RawDocument]], batch_of: RDD[tuple[Ordinal, int]]) -> dict[str, int]:
    """Furniture as the local runner learns it: each line key (per outlet) with the first assignment batch from
    which it is furniture.

    The local runner observes a batch's documents, then cleans them: a line is furniture for a batch once
    ``min_articles`` distinct documents of that batch or earlier carry it.  Each partition lists the (batch,
    document) pairs of every candidate line; a Spark reduce keeps, per line, the earliest ``min_articles`` distinct
    documents, so only the lines that reach furniture (small) come to the driver, with the batch of the last of
    them.  (The local model also forgets once-seen candidates past ``max_candidates`` lines, on very long runs:
    there the two can differ.)"""
    from storylens.clean import FurnitureModel

    need = FurnitureModel().min_articles

    def part(it: Iterable[tuple[Ordinal, tuple[RawDocument, int]]]) -> Iterator[tuple[str, list[tuple[int, str]]]]:
        m = FurnitureModel()
        for _, (raw, batch) in it:
            found = m.line_keys(raw)
            if found is not None:
                for k in found[1]:
                    yield k, [(batch, found[0])]

    def earliest(a: list[tuple[int, str]], b: list[tuple[int, str]]) -> list[tuple[int, str]]:
        first: dict[str, int] = {}
        for batch, doc in sorted(a + b):
            first.setdefault(doc, batch)
        return sorted((v, k) for k, v in first.items())[:need]

    pairs = docs.join(batch_of).mapPartitions(part).reduceByKey(earliest).filter(lambda kv: len(kv[1]) >= need)
    return {k: v[need - 1][0] for k, v in pairs.collect()}


def _prepare_partition(settings: Settings, since: Broadcast[dict[str, int]]
                       ) -> Callable[[Iterable[tuple[Ordinal, tuple[RawDocument, int]]]], Iterator[Item]]:
    def run(it: Iterable[tuple[Ordinal, tuple[RawDocument, int]]]) -> Iterator[Item]:
        from storylens.clean import FurnitureModel

        proto = FurnitureModel()
        models: dict[int, FurnitureModel] = {}  # batch -> the furniture known when it is cleaned
        comp = components(settings)
        for ordinal, (raw, batch) in it:
            furniture = models.get(batch)
            if furniture is None:
                furniture = models[batch] = proto.with_furniture(k for k, b in since.value.items() if b <= batch)
            try:
                yield ("art", (ordinal, comp.prepare(raw, furniture)))
            except Exception as e:  # noqa: BLE001 - one bad item never stops the job
                yield ("err", ReadError(raw.source, str(e) or type(e).__name__, "clean"))
    return run


# ---- dedupe -------------------------------------------------------------------------------------------------


def _deduper(settings: Settings) -> Any:
    """A fresh, empty Deduper (replays one duplicate component)."""
    from storylens.stories.dedupe import Deduper

    return Deduper.from_signatures((), settings.dedupe)


def _signature(a: Article, settings: Settings) -> bytes:
    """The article's MinHash signature, from this worker's one signing Deduper (signing keeps no state)."""
    key = "signer:" + repr(settings.dedupe)
    signer = _CACHE.get(key)
    if signer is None:
        signer = _CACHE[key] = _deduper(settings)
    return bytes(signer.signature(a))


def _bands(sig: bytes, content_hash: str) -> list[tuple[str, str]]:
    """LSH band keys of a MinHash signature: consecutive runs of BAND_ROWS hash values (8 bytes each); an
    exact-duplicate key (the content hash) besides.  Any two articles the Deduper's own LSH can pair (bands of
    at least 2*BAND_ROWS-1 rows) share one of these keys, so the blocking loses no candidate."""
    import hashlib

    keys = [("h", content_hash)] if content_hash else []
    width = 8 * BAND_ROWS
    for b in range(0, len(sig) - width + 1, width):
        keys.append((f"b{b // width}", hashlib.blake2b(sig[b:b + width], digest_size=12).hexdigest()))
    return keys


def dedupe(spark: SparkSession, arts: RDD[tuple[Ordinal, Article]], settings: Settings) -> dict[str, tuple[str, str]]:
    """``{article id: (duplicate_of, kind)}`` for the duplicates of the whole input, as the local runner finds them.

    Banding is a Spark join; the candidate graph's components (small: syndicated copies) are replayed through the
    library's own Deduper in input order, each component in one task.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    def band_rows(p: tuple[Ordinal, Article]) -> Iterator[tuple[str, str, int, int, int, str]]:
        o, a = p
        sig = _signature(a, settings)
        for band, key in _bands(sig, a.content_hash):
            yield band, key, o[0], o[1], o[2], a.id

    schema = StructType([StructField("band", StringType()), StructField("key", StringType()),
                         StructField("o0", IntegerType()), StructField("o1", IntegerType()),
                         StructField("o2", IntegerType()), StructField("id", StringType())])
    bands = spark.createDataFrame(arts.flatMap(band_rows), schema)
    first = (bands.groupBy("band", "key").agg(F.count("*").alias("n"),
                                              F.min(F.struct("o0", "o1", "o2", "id")).alias("root"))
             .where("n > 1").select("band", "key", F.col("root.id").alias("root")))
    edges = (bands.join(first, ["band", "key"]).where(F.col("id") != F.col("root"))
             .select("root", "id").distinct())
    pairs = [(r["root"], r["id"]) for r in edges.collect()]
    if not pairs:
        return {}
    from storylens.graph import components_of

    comp = components_of(pairs)

    def replay(group: tuple[str, Iterable[tuple[Ordinal, Article]]]) -> Iterator[tuple[str, tuple[str, str]]]:
        from storylens import pipeline

        d = _deduper(settings)
        members = [a for _, a in sorted(group[1], key=lambda p: p[0])]
        order = getattr(pipeline, "dedupe_order", None)  # the local runner's order: originals before copies
        for a in (order(members) if order is not None else members):
            dup, kind = d.check_and_add(a)
            if dup is not None:
                yield a.id, (dup, kind)

    bc = spark.sparkContext.broadcast(comp)
    found = (arts.filter(lambda p: p[1].id in bc.value).map(lambda p: (bc.value[p[1].id], p))
             .groupByKey().flatMap(replay).collect())
    bc.unpersist()
    return dict(found)


# ---- analyze, entities, embed --------------------------------------------------------------------------------


def _analyze_partition(settings: Settings) -> Callable[[Iterable[tuple[Ordinal, Article]]], Iterator[Item]]:
    def run(it: Iterable[tuple[Ordinal, Article]]) -> Iterator[Item]:
        from storylens.pipeline import batched

        comp = components(settings)
        for batch in batched(it, max(1, settings.nlp.batch_size * 2)):
            order = {a.id: o for o, a in batch}
            ok, bad = comp.analyze([a for _, a in batch])
            for a in ok:
                yield ("art", (order[a.id], a))
            for a, reason in bad:
                yield ("err", ReadError(a.source, reason, "analyze"))
    return run


def refine_dates(arts: RDD[tuple[Ordinal, Article]], partitions: int) -> RDD[tuple[Ordinal, Article]]:
    """Cross-article dating (``storylens.stories.dating``, as the local runner does it): a join of the quote
    openings of weekday-dated articles against the quote windows of firmly dated ones."""
    from storylens.stories import dating

    keys = arts.flatMap(lambda p: [(k, (p[1].id, w)) for k, w in dating.opening_keys(p[1])]
                        if dating.weekday_dated(p[1]) else [])
    wins = arts.flatMap(lambda p: list(dating.firm_windows(p[1]))).reduceByKey(min, partitions)
    earliest = (keys.join(wins, partitions).map(lambda kv: (kv[1][0][0], (kv[1][1], kv[1][0][1])))
                .reduceByKey(min).collectAsMap())
    if not earliest:
        return arts
    bc = arts.context.broadcast(earliest)

    def fix(p: tuple[Ordinal, Article]) -> tuple[Ordinal, Article]:
        found = bc.value.get(p[1].id)
        if found is not None:
            dating.move_back(p[1], found[0], found[1])
        return p

    return arts.map(fix)


def resolve_entities(spark: SparkSession, arts: RDD[tuple[Ordinal, Article]], settings: Settings,
                     batch_size: int = 64) -> tuple[RDD[tuple[str, bytes]], list[Entity]]:
    """Cross-article entity resolution, in input order as the local runner does it.

    Resolution is cheap string work but sequential (an alias is merged into what came before), so the analyzed
    records stream through the driver; what changes (mentions and speakers) goes back as an RDD keyed by id.
    """
    from storylens.nlp import EntityResolver
    from storylens.pipeline import batched

    resolver = EntityResolver()
    entities: dict[str, Entity] = {}
    patches: list[tuple[str, bytes]] = []
    for batch in batched(arts.sortByKey().values().toLocalIterator(), batch_size):
        for e in resolver.resolve(batch) or []:
            entities[e.id] = e
        for a in batch:
            patches.append((a.id, pickle.dumps((a.entities, a.quotes), protocol=pickle.HIGHEST_PROTOCOL)))
    if hasattr(resolver, "entities"):
        try:
            current = resolver.entities() if callable(resolver.entities) else resolver.entities
            for e in current if isinstance(current, list) else list(current.values()):
                entities[e.id] = e
        except Exception:  # noqa: BLE001 - the entities returned by resolve() are enough
            pass
    n = max(1, spark.sparkContext.defaultParallelism)
    return spark.sparkContext.parallelize(patches, n), sorted(entities.values(), key=lambda e: e.id)


def _embed_partition(settings: Settings) -> Callable[[Iterable[tuple[Ordinal, Article]]], Iterator[tuple[str, bytes]]]:
    def run(it: Iterable[tuple[Ordinal, Article]]) -> Iterator[tuple[str, bytes]]:
        from storylens.pipeline import batched

        comp = components(settings)
        for batch in batched((a for _, a in it if a.duplicate_of is None), 64):
            for a, v in zip(batch, comp.vectors(batch), strict=True):
                yield a.id, v.to_bytes()
    return run


# ---- stories ------------------------------------------------------------------------------------------------


def _sort_key(a: Article) -> tuple[dt.date, str]:
    return (a.published.value or dt.date.max, a.id)


def assignment_keys(docs: RDD[tuple[Ordinal, RawDocument]]) -> RDD[tuple[Ordinal, int]]:
    """Each document's batch in the local runner's order: documents in reading order, ``ASSIGNMENT_BATCH`` at a
    time (the local runner reads, cleans, analyses and assigns one such batch after the other)."""
    from storylens.stories.stream import ASSIGNMENT_BATCH

    return docs.map(lambda p: p[0]).sortBy(lambda o: o).zipWithIndex().map(lambda kv: (kv[0], kv[1] // ASSIGNMENT_BATCH))


def _raw(item: tuple[int, Article, bytes]) -> tuple[tuple[int, dt.date, str], Any]:
    from storylens.embed import ArticleVectors
    from storylens.stories.signals import raw_signals

    batch, a, vb = item
    return (batch, *_sort_key(a)), raw_signals(a, ArticleVectors.from_bytes(vb))


def assign_stories(spark: SparkSession, originals: RDD[tuple[int, Article, bytes]], settings: Settings,
                   scratch: str) -> tuple[str, int]:
    """Stories of the originals (``(batch, article, vectors)``), exactly as the local runner's stream finds them.

    The executors reduce each article to its story signals (:func:`~storylens.stories.signals.raw_signals`); the
    driver feeds them to one :class:`~storylens.stories.stream.StoryStream` through its public interface, batch by
    batch in the local runner's order (``toLocalIterator``: one partition in memory at a time), with a scratch
    SQLite store on the driver's disk as its backend (closed stories leave memory as they do locally).  Returns the
    scratch store's URL and the number of stories; :func:`story_tables` reads them back."""
    from storylens.store import Store
    from storylens.store.stream import StoreStoryBackend
    from storylens.stories.stream import StoryStream

    store = Store(f"sqlite:///{scratch}")
    stream = StoryStream.open(settings.stories, StoreStoryBackend(store))
    keyed: RDD[tuple[tuple[int, dt.date, str], Any]] = originals.map(_raw).sortByKey()
    batch: list[Any] = []
    current: int | None = None
    for (b, _, _), raw in keyed.toLocalIterator():
        if current is not None and b != current:
            stream.add_raw_many(batch)
            stream.flush()
            batch = []
        current = b
        batch.append(raw)
    if batch:
        stream.add_raw_many(batch)
    stream.flush()
    n = StoreStoryBackend(store).count()
    store.close()
    return f"sqlite:///{scratch}", n


def story_tables(spark: SparkSession, url: str, out_dir: str) -> tuple[Any, list[dict[str, Any]]]:
    """From the scratch store of :func:`assign_stories`: a DataFrame of (article_id, story_id) written through a
    local Parquet file (the driver never holds the whole map), and the stories' rows (read back in chunks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from storylens.store import Store
    from storylens.store.stream import StoreStoryBackend

    store = Store(url)
    path = os.path.join(out_dir, "story_of.parquet")
    schema = pa.schema([("article_id", pa.string()), ("story_id", pa.string())])
    backend = StoreStoryBackend(store)
    with pq.ParquetWriter(path, schema) as w:
        for chunk in backend.members(10_000):
            w.write_table(pa.table({"article_id": [a for a, _ in chunk], "story_id": [s for _, s in chunk]},
                                   schema=schema))
    rows: list[dict[str, Any]] = []
    for ids in backend.story_ids(500):
        for state in backend.load(ids):
            st = state.to_story()
            rows.append({"id": st.id, "title": st.title, "articles": st.articles,
                         "first_seen": st.first_seen.isoformat() if st.first_seen else None,
                         "last_seen": st.last_seen.isoformat() if st.last_seen else None,
                         "keywords": list(st.keywords), "outlets": list(st.outlets)})
    store.close()
    return spark.read.parquet("file://" + os.path.abspath(path)), rows


# ---- output rows -----------------------------------------------------------------------------------------------


def article_row(o: Ordinal, a: Article, story_id: str | None, minhash: bytes | None,
                embedding: bytes | None) -> dict[str, Any]:
    from storylens.model import article_contract

    row = article_contract(a)
    row.update(ordinal=list(o), story_id=story_id, duplicate_kind=a.duplicate_kind, content_hash=a.content_hash,
               outlet_evidence=a.outlet_evidence, published_source=a.published.source,
               record=json.dumps(to_jsonable(a), ensure_ascii=False), minhash=minhash, embedding=embedding)
    return row


def quote_rows(a: Article) -> Iterator[dict[str, Any]]:
    for i, q in enumerate(a.quotes):
        yield {"article_id": a.id, "id": q.id or f"{a.id}:q{i}", "text": q.text, "start": q.start, "end": q.end,
               "kind": q.kind,
               "speaker": None if q.speaker is None else {"name": q.speaker.name, "text": q.speaker.text,
                                                          "start": q.speaker.start, "end": q.speaker.end,
                                                          "entity_id": q.speaker.entity_id},
               "cue": None if q.cue is None else {"text": q.cue.text, "start": q.cue.start, "end": q.cue.end}}


def mention_rows(a: Article) -> Iterator[dict[str, Any]]:
    for m in a.entities:
        yield {"article_id": a.id, "text": m.text, "start": m.start, "end": m.end, "label": m.label,
               "entity_id": m.entity_id, "name": m.name}


def _schemas() -> dict[str, Any]:
    from pyspark.sql.types import (
        ArrayType,
        BinaryType,
        BooleanType,
        IntegerType,
        StringType,
        StructField,
        StructType,
    )

    S, N, B = StringType(), IntegerType(), BooleanType()

    def st(*fields: tuple[str, Any]) -> StructType:
        return StructType([StructField(n, t) for n, t in fields])

    mention = st(("text", S), ("start", N), ("end", N), ("label", S), ("entity_id", S), ("name", S))
    speaker = st(("name", S), ("text", S), ("start", N), ("end", N))
    speaker_x = st(("name", S), ("text", S), ("start", N), ("end", N), ("entity_id", S))
    cue = st(("text", S), ("start", N), ("end", N))
    quote = st(("text", S), ("start", N), ("end", N), ("kind", S), ("speaker", speaker), ("cue", cue))
    return {
        "articles": st(("id", S), ("source", S), ("title", S), ("outlet", S), ("published", S), ("language", S),
                       ("text", S), ("duplicate_of", S), ("entities", ArrayType(mention)), ("quotes", ArrayType(quote)),
                       ("published_inferred", B), ("published_evidence", S), ("dateline", S), ("url", S),
                       ("ordinal", ArrayType(N)), ("story_id", S), ("duplicate_kind", S), ("content_hash", S),
                       ("outlet_evidence", S), ("published_source", S), ("record", S), ("minhash", BinaryType()),
                       ("embedding", BinaryType())),
        "quotes": st(("article_id", S), ("id", S), ("text", S), ("start", N), ("end", N), ("kind", S),
                     ("speaker", speaker_x), ("cue", cue)),
        "entities": st(("article_id", S), ("text", S), ("start", N), ("end", N), ("label", S), ("entity_id", S),
                       ("name", S)),
        "canonical_entities": st(("id", S), ("name", S), ("label", S), ("aliases", ArrayType(S)),
                                 ("evidence", ArrayType(S))),
        "stories": st(("id", S), ("title", S), ("articles", ArrayType(S)), ("first_seen", S), ("last_seen", S),
                      ("keywords", ArrayType(S)), ("outlets", ArrayType(S))),
        "quote_groups": st(("id", S), ("story_id", S), ("canonical", S), ("speaker", S), ("first_outlet", S),
                           ("first_article", S), ("first_published", S), ("n_variants", N), ("articles", ArrayType(S)),
                           ("data", S)),
        "errors": st(("source", S), ("stage", S), ("reason", S)),
    }


def _write(spark: SparkSession, rows: RDD[dict[str, Any]] | list[dict[str, Any]], table: str, out: str,
           mode: str) -> DataFrame:
    schema = _schemas()[table]
    df = spark.createDataFrame(rows, schema)
    df.write.mode(mode).parquet(f"{out.rstrip('/')}/{table}")
    return df


# ---- the job -----------------------------------------------------------------------------------------------------


def run(spark: SparkSession, inputs: Sequence[str], out: str, settings: Settings | None = None,
        options: SparkOptions | None = None) -> SparkReport:
    """Run the whole pipeline over ``inputs`` and write the Parquet tables under ``out`` (any Hadoop URI)."""
    from pyspark import StorageLevel

    settings = settings or Settings()
    opts = options or SparkOptions()
    sc = spark.sparkContext
    n = opts.partitions or max(2, 2 * sc.defaultParallelism)
    report = SparkReport(out=out)
    t0 = time.perf_counter()
    keep = StorageLevel.MEMORY_AND_DISK

    def lap(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        report.seconds[name] = round(now - t0, 2)
        t0 = now

    files, list_errors = list_inputs(spark, inputs, settings)
    items = read(spark, files, settings, n).persist(keep)
    errors: list[ReadError] = list(list_errors)
    errors += items.filter(lambda x: x[0] == "err").map(lambda x: x[1]).collect()
    docs = items.filter(lambda x: x[0] == "doc").map(lambda x: x[1]).repartition(n).persist(keep)
    report.counts["documents"] = docs.count()
    docs_by_ordinal = assignment_keys(docs).persist(keep)
    docs_by_ordinal.count()
    items.unpersist()
    lap("read")

    since = sc.broadcast(learn_furniture(docs, docs_by_ordinal))
    prepared_items = (docs.join(docs_by_ordinal, n).mapPartitions(_prepare_partition(settings, since))
                      .persist(keep))
    errors += prepared_items.filter(lambda x: x[0] == "err").map(lambda x: x[1]).collect()
    prepared = _first_of_each_id(prepared_items.filter(lambda x: x[0] == "art").map(lambda x: x[1]))
    prepared = prepared.persist(keep)
    docs.unpersist()
    lap("clean")

    dups = dedupe(spark, prepared, settings)
    bc_dups = sc.broadcast(dups)

    def mark(p: tuple[Ordinal, Article]) -> tuple[Ordinal, Article]:
        d = bc_dups.value.get(p[1].id)
        if d is not None:
            p[1].duplicate_of, p[1].duplicate_kind = d[0], d[1]  # type: ignore[assignment]
        return p

    marked = prepared.map(mark)
    lap("dedupe")

    analyzed_items = marked.mapPartitions(_analyze_partition(settings)).persist(keep)
    errors += analyzed_items.filter(lambda x: x[0] == "err").map(lambda x: x[1]).collect()
    analyzed = analyzed_items.filter(lambda x: x[0] == "art").map(lambda x: x[1]).persist(keep)
    report.counts["articles"] = analyzed.count()
    prepared_items.unpersist()
    prepared.unpersist()
    lap("analyze")

    before_dating = analyzed
    analyzed = refine_dates(analyzed, n).persist(keep)
    patches, entities = resolve_entities(spark, analyzed, settings)

    def patch(kv: tuple[str, tuple[tuple[Ordinal, Article], bytes | None]]) -> tuple[Ordinal, Article]:
        (o, a), pb = kv[1]
        if pb is not None:
            a.entities, a.quotes = pickle.loads(pb)
        return o, a

    resolved = (analyzed.map(lambda p: (p[1].id, p)).leftOuterJoin(patches, n).map(patch).persist(keep))
    resolved.count()
    analyzed_items.unpersist()
    analyzed.unpersist()
    before_dating.unpersist()
    lap("entities")

    vectors = resolved.mapPartitions(_embed_partition(settings)).persist(keep)
    vectors.count()
    lap("embed")

    batch_of = docs_by_ordinal
    originals = (resolved.filter(lambda p: p[1].duplicate_of is None).map(lambda p: (p[0], p[1]))
                 .join(batch_of, n).map(lambda kv: (kv[1][0].id, (kv[1][1], kv[1][0])))
                 .join(vectors, n).map(lambda kv: (kv[1][0][0], kv[1][0][1], kv[1][1])))
    with tempfile.TemporaryDirectory(prefix="storylens-stories-") as scratch:
        url, n_stories = assign_stories(spark, originals, settings, os.path.join(scratch, "stream.db"))
        story_df, story_rows = story_tables(spark, url, scratch)
        story_map = story_df.rdd.map(lambda r: (r.article_id, r.story_id)).persist(keep)
        story_map.count()  # read before the scratch directory goes
    # duplicates follow their originals
    dup_map = (resolved.filter(lambda p: p[1].duplicate_of is not None).map(lambda p: (p[1].duplicate_of, p[1].id))
               .join(story_map, n).map(lambda kv: (kv[1][0], kv[1][1])))
    story_of = story_map.union(dup_map).persist(keep)
    dups_by_story: dict[str, list[str]] = defaultdict(list)
    for aid, sid in dup_map.toLocalIterator():
        dups_by_story[sid].append(aid)
    for row in story_rows:
        row["articles"] = list(row["articles"]) + dups_by_story.get(row["id"], [])
    lap("stories")

    minhashes = resolved.map(lambda p: (p[1].id, _signature(p[1], settings)))
    art_rows = (resolved.map(lambda p: (p[1].id, p)).leftOuterJoin(story_of, n).leftOuterJoin(vectors, n)
                .join(minhashes, n)
                .map(lambda kv: article_row(kv[1][0][0][0][0], kv[1][0][0][0][1], kv[1][0][0][1], kv[1][1],
                                            kv[1][0][1])))
    _write(spark, art_rows, "articles", out, opts.write_mode)
    _write(spark, resolved.flatMap(lambda p: quote_rows(p[1])), "quotes", out, opts.write_mode)
    _write(spark, resolved.flatMap(lambda p: mention_rows(p[1])), "entities", out, opts.write_mode)
    _write(spark, [to_jsonable(e) for e in entities], "canonical_entities", out, opts.write_mode)
    _write(spark, story_rows, "stories", out, opts.write_mode)
    lap("write")

    groups = quote_groups(resolved, story_of, settings, n)
    _write(spark, groups, "quote_groups", out, opts.write_mode)
    lap("quote_groups")

    _write(spark, [{"source": e.source, "stage": e.stage, "reason": e.reason} for e in errors], "errors", out,
           opts.write_mode)
    report.counts.update(
        duplicates=len(dups), stories=n_stories, errors=len(errors), entities=len(entities),
        quotes=int(resolved.map(lambda p: len(p[1].quotes)).sum()),
        quote_groups=int(spark.read.parquet(f"{out.rstrip('/')}/quote_groups").count()))
    for r in (resolved, vectors, story_of, story_map, docs_by_ordinal):
        r.unpersist()
    bc_dups.unpersist()
    return report


def _first_of_each_id(arts: RDD[tuple[Ordinal, Article]]) -> RDD[tuple[Ordinal, Article]]:
    """One article per id: the first in input order (the local runner reports later ones as unchanged)."""
    return (arts.map(lambda p: (p[1].id, p)).reduceByKey(lambda x, y: x if x[0] <= y[0] else y).values())


def quote_groups(resolved: RDD[tuple[Ordinal, Article]], story_of: RDD[tuple[str, str]], settings: Settings,
                 partitions: int) -> RDD[dict[str, Any]]:
    """``storylens.compare.group_quotes`` per story (one task per story)."""

    def per_story(kv: tuple[str, Iterable[Article]]) -> Iterator[dict[str, Any]]:
        from storylens.compare import group_quotes

        sid, arts = kv
        articles = sorted(arts, key=_sort_key)
        if not any(a.quotes for a in articles):
            return
        embedder = components(settings).embedder
        for g in group_quotes(articles, getattr(embedder, "encode", None), story_id=sid):
            g.story_id = sid
            data = to_jsonable(g)
            yield {"id": g.id, "story_id": sid, "canonical": g.canonical, "speaker": g.speaker,
                   "first_outlet": g.first_outlet, "first_article": g.first_article,
                   "first_published": g.first_published.isoformat() if g.first_published else None,
                   "n_variants": len(g.variants), "articles": sorted({v.article_id for v in g.variants}),
                   "data": json.dumps(data, ensure_ascii=False)}

    return (resolved.map(lambda p: (p[1].id, p[1])).join(story_of, partitions).map(lambda kv: (kv[1][1], kv[1][0]))
            .groupByKey(partitions).flatMap(per_story))


def clear(out: str) -> None:
    """Remove a local output directory (remote outputs are overwritten by Spark's write mode)."""
    if _is_local(out) and os.path.isdir(_local_path(out)):
        shutil.rmtree(_local_path(out))
