"""The Spark runner in local[2] mode: same articles, quotes, entities and stories as the local runner; malformed
records land in the ``errors`` table; ``storylens load`` puts the tables into SQLite and PostgreSQL.

One Spark session and one Spark run for the whole module (CI time): the seeds, the example corpus and a JSONL file
with malformed lines, run once by each runner.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.dataset as pa_ds
import pytest

from storylens.model import article_contract
from storylens.store.search import search

pytestmark = [pytest.mark.spark, pytest.mark.slow]

CONTRACT = ("id", "source", "title", "outlet", "published", "language", "text", "duplicate_of", "entities", "quotes")


def table(out: Path, name: str) -> list[dict[str, Any]]:
    return list(pa_ds.dataset(str(out / name), format="parquet").to_table().to_pylist())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, seed_files: list[Path], examples_dir: Path) -> list[str]:
    d = tmp_path_factory.mktemp("spark-in")
    good = {"id": "good-1", "title": "Council approves budget", "published": "2024-03-04", "outlet": "City Wire",
            "text": "The city council approved the budget on Monday. “We kept every promise,” the mayor said."}
    (d / "batch.jsonl").write_text("\n".join([json.dumps(good), "{not json", json.dumps({"id": "no-text",
                                                                                        "title": "x"})]) + "\n",
                                   encoding="utf-8")
    return [*(str(f) for f in seed_files), str(examples_dir), str(d / "batch.jsonl")]


@pytest.fixture(scope="module")
def spark() -> Any:
    from storylens.spark.session import spark_session

    session = spark_session("local[2]", partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_out(tmp_path_factory: pytest.TempPathFactory, inputs: list[str], spark: Any) -> Path:
    from storylens.settings import Settings
    from storylens.spark.runner import SparkOptions, run

    out = tmp_path_factory.mktemp("spark-out") / "tables"
    report = run(spark, inputs, str(out), Settings(), SparkOptions(partitions=2))
    assert report.counts["articles"] >= 6, report.counts
    return out


def test_reading_through_hadoop_gives_the_local_documents(spark: Any, inputs: list[str]) -> None:
    """Inputs listed and fetched through Hadoop's FileSystem (``file:`` URIs, as ``hdfs://`` on a cluster)."""
    from storylens.settings import Settings
    from storylens.spark.runner import list_inputs, read

    s = Settings()
    local_files, _ = list_inputs(spark, inputs, s)
    hadoop_files, _ = list_inputs(spark, inputs, s, hadoop=True)
    assert [f.uri.split(":", 1)[-1] for f in hadoop_files] == [f.uri for f in local_files]
    assert not any(f.local for f in hadoop_files)

    def docs(files: Any) -> list[tuple[str, str | None]]:
        got = read(spark, files, s, 2).filter(lambda x: x[0] == "doc").map(lambda x: x[1]).collect()
        return sorted((raw.source.split(":", 1)[-1] if raw.source.startswith("file:") else raw.source, raw.text)
                      for _, raw in got)

    assert docs(hadoop_files) == docs(local_files)


def test_parquet_input_rows_become_documents(spark: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from storylens.settings import Settings
    from storylens.spark.runner import list_inputs, read

    rows = [{"id": "p1", "title": "A", "text": "First text.", "published": "2024-01-02", "outlet": "X", "html": None},
            {"id": None, "title": "B", "text": None, "published": None, "outlet": None, "html": "<p>Second</p>"},
            {"id": "p3", "title": "C", "text": None, "published": None, "outlet": None, "html": None}]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in" / "part-0.parquet")
    files, errors = list_inputs(spark, [str(tmp_path / "in")], Settings())
    assert [f.parquet for f in files] == [True] and not errors
    got = read(spark, files, Settings(), 2).collect()
    docs = {x[1][1].key: x[1][1] for x in got if x[0] == "doc"}
    errs = [x[1] for x in got if x[0] == "err"]
    assert set(docs) == {"p1", f"{files[0].uri}#2"} and docs["p1"].published == "2024-01-02"
    assert docs[f"{files[0].uri}#2"].html == "<p>Second</p>"
    assert [e.source for e in errs] == [f"{files[0].uri}#3"] and "text" in errs[0].reason


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory, inputs: list[str]) -> Any:
    from storylens.corpus import Corpus

    c = Corpus(f"sqlite:///{tmp_path_factory.mktemp('local') / 'local.db'}")
    c.ingest(inputs)
    return c


def test_tables_are_written_with_the_contract_fields(spark_out: Path) -> None:
    for name in ("articles", "quotes", "entities", "canonical_entities", "stories", "quote_groups", "errors"):
        assert (spark_out / name).is_dir(), name
    arts = table(spark_out, "articles")
    assert set(CONTRACT) <= set(arts[0])
    q = table(spark_out, "quotes")
    assert q and {"article_id", "id", "text", "start", "end", "kind", "speaker", "cue"} <= set(q[0])
    assert {"id", "title", "articles", "first_seen", "last_seen"} <= set(table(spark_out, "stories")[0])


def test_malformed_records_land_in_errors_with_a_reason(spark_out: Path) -> None:
    errors = {e["source"].rsplit("/", 1)[-1]: e for e in table(spark_out, "errors")}
    assert "batch.jsonl#2" in errors and "JSON" in errors["batch.jsonl#2"]["reason"]
    assert "batch.jsonl#3" in errors and "text" in errors["batch.jsonl#3"]["reason"]
    assert all(e["reason"] and e["stage"] for e in errors.values())
    assert "good-1" in {a["id"] for a in table(spark_out, "articles")}


def test_quote_groups_belong_to_their_story(spark_out: Path) -> None:
    stories = {s["id"]: set(s["articles"]) for s in table(spark_out, "stories")}
    groups = table(spark_out, "quote_groups")
    assert groups, "no quote groups (storylens.compare.group_quotes per story)"
    for g in groups:
        assert g["story_id"] in stories and set(g["articles"]) <= stories[g["story_id"]], g["id"]
        assert json.loads(g["data"])["variants"]


def test_models_load_once_per_python_worker(spark: Any, spark_out: Path) -> None:
    """Workers are reused across tasks and keep their components: never more than one set per process."""
    from storylens.spark.runner import model_loads

    per_pid = dict(spark.sparkContext.parallelize(range(16), 4)
                   .map(lambda _: (__import__("os").getpid(), model_loads())).collect())
    assert per_pid and max(per_pid.values()) <= 1, per_pid


def test_workers_compute_on_their_task_cores(spark: Any) -> None:
    """A worker setting up its components caps its BLAS pools and the encoder at the task's cores (local[2]: one
    task per core), so two workers never run four busy threads on two cores; the driver keeps its own threads."""

    def probe(_: int) -> tuple[int, str | None, int]:
        import os

        from threadpoolctl import threadpool_info

        from storylens.spark.runner import _task_threads

        _task_threads()  # what components() does before loading the models
        blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
        return os.getpid(), os.environ.get("STORYLENS_EMBED_THREADS"), max(blas, default=1)

    seen = spark.sparkContext.parallelize(range(8), 4).map(probe).collect()
    assert {env for _, env, _ in seen} == {"1"}, seen
    assert {blas for _, _, blas in seen} == {1}, seen
    import os

    from storylens.spark.runner import _task_threads

    before = os.environ.get("STORYLENS_EMBED_THREADS")
    _task_threads()  # on the driver: no task, nothing changes
    assert os.environ.get("STORYLENS_EMBED_THREADS") == before


def _norm(a: dict[str, Any]) -> dict[str, Any]:
    out = {k: a[k] for k in CONTRACT}
    # the Spark tables do not carry the quotes' added "segments" field yet (issue 13): compare everything else
    out["quotes"] = [{k: v for k, v in q.items() if k != "segments"} for q in out["quotes"]]
    return out


def test_same_articles_quotes_and_entities_as_the_local_runner(spark_out: Path, local: Any) -> None:
    want = {a.id: _norm(article_contract(a)) for a in local.articles()}
    got = {a["id"]: _norm(a) for a in table(spark_out, "articles")}
    assert set(got) == set(want)
    for aid in want:
        for k in CONTRACT:
            assert got[aid][k] == want[aid][k], (aid, k)
    quotes = table(spark_out, "quotes")
    assert len(quotes) == sum(len(a["quotes"]) for a in want.values())
    mentions = table(spark_out, "entities")
    assert len(mentions) == sum(len(a["entities"]) for a in want.values())
    assert {e["id"] for e in table(spark_out, "canonical_entities")} >= {
        m["entity_id"] for m in mentions if m["entity_id"]}


def test_same_stories_as_the_local_runner(spark_out: Path, local: Any) -> None:
    want = {frozenset(s.articles): s.title for s in local.stories()}
    got = {frozenset(s["articles"]): s["title"] for s in table(spark_out, "stories")}
    assert set(got) == set(want)
    assert got == want


def test_load_into_the_store(spark_out: Path, db_url: str) -> None:
    from storylens.spark.load import link_narratives, load
    from storylens.store import Store

    store = Store(db_url)
    report = load(spark_out, store)
    arts = table(spark_out, "articles")
    assert store.count_articles() == len(arts) == report.counts["articles"]
    by_id = {a.id: a for a in store.articles()}
    for row in arts:
        assert _norm(article_contract(by_id[row["id"]])) == _norm(row)
    stories = {frozenset(s.articles) for s in store.stories()}
    assert stories == {frozenset(s["articles"]) for s in table(spark_out, "stories")}
    assert len(store.quotes()) == len(table(spark_out, "quotes"))
    assert {e["source"] for e in store.errors()} == {e["source"] for e in table(spark_out, "errors")}
    assert len(store.embeddings()) == sum(1 for a in arts if a["duplicate_of"] is None)
    link_narratives(store)
    again = load(spark_out, store)  # idempotent: replaces, never duplicates
    assert store.count_articles() == len(arts) and again.counts["articles"] == len(arts)
    hits = search(store, "Stoltenberg")
    assert hits.articles, f"full-text search finds nothing on {store.dialect}"
    assert all("stoltenberg" in h.text.lower() for h in hits.quotes), hits.quotes
    store.close()


def test_furniture_is_learned_batch_by_batch_as_the_local_runner_learns_it(spark: Any) -> None:
    """A sign-off one outlet repeats becomes furniture in the batch where its third article arrives, in both
    runners; the articles of earlier batches keep it, as the local runner (which cannot see ahead) cleaned them."""
    from storylens.clean import FurnitureModel
    from storylens.model import RawDocument
    from storylens.pipeline import batched
    from storylens.spark.runner import assignment_keys, learn_furniture
    from storylens.stories.stream import ASSIGNMENT_BATCH

    sign_off = "Follow the Harbor Wire on every channel."
    docs = []
    for i in range(3 * ASSIGNMENT_BATCH + 10):
        lines = [f"Report {i}: the council met on issue number {i} and voted on it after a long debate."]
        if i in (5, ASSIGNMENT_BATCH + 3, 2 * ASSIGNMENT_BATCH + 7, 3 * ASSIGNMENT_BATCH + 1):
            lines.append(sign_off)
        docs.append(((0, 0, i), RawDocument(source=f"d{i}", id=f"d{i}", text="\n\n".join(lines),
                                            outlet="Harbor Wire")))
    rdd = spark.sparkContext.parallelize(docs, 3)
    since = learn_furniture(rdd, assignment_keys(rdd))
    local = FurnitureModel()
    became: dict[str, int] = {}
    for b, batch in enumerate(batched([raw for _, raw in docs], ASSIGNMENT_BATCH)):
        for raw in batch:
            local.observe(raw)
        became.update({k: b for k in local._furniture if k not in became})
    assert since == became and list(since.values()) == [2]
    assert local.is_furniture(sign_off, "harbor wire")
