"""The local runner and the Spark runner give the same stories, story for story, on a generated stream of 5,000
articles over 60 days: more than the stream's active window (stories close and are reopened), several assignment
batches and several Spark partitions."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pyarrow.dataset as pa_ds
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from newsgen import generate  # noqa: E402

# both runners on 5,000 articles: ~6 minutes on 2 cores, longer when the machine is shared
pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.timeout(1800)]

N = 5000


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    rows, gold = generate(N, days=60, seed=3)
    path = tmp_path_factory.mktemp("gen") / "stream.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path, gold


def test_local_and_spark_runners_give_the_same_stories(stream_file: Any, tmp_path: Path) -> None:
    from storylens.corpus import Corpus
    from storylens.settings import Settings
    from storylens.spark.runner import SparkOptions, run
    from storylens.spark.session import spark_session

    path, gold = stream_file
    local = Corpus(f"sqlite:///{tmp_path / 'local.db'}")
    report = local.ingest([str(path)], link=False)
    assert report.count("new") + report.count("duplicate") == N and not report.rejected
    want = {s.id: frozenset(s.articles) for s in local.stories()}

    session = spark_session("local[2]", partitions=4)
    try:
        out = tmp_path / "spark"
        run(session, [str(path)], str(out), Settings(), SparkOptions(partitions=4))
    finally:
        session.stop()
    got = {r["id"]: frozenset(r["articles"]) for r in pa_ds.dataset(str(out / "stories"), format="parquet")
           .to_table().to_pylist()}
    only_local = sorted(sorted(v) for k, v in want.items() if got.get(k) != v)
    only_spark = sorted(sorted(v) for k, v in got.items() if want.get(k) != v)
    assert got == want, f"local only: {only_local[:5]}; spark only: {only_spark[:5]}"
    assert len(local.runner.open_stream().active) < len(want)  # stories were closed as the stream moved on
    events = len(set(gold.values()))
    assert 0.5 * events <= len(want) <= 1.5 * events
