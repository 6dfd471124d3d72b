"""The per-article stages on worker processes: the same records as in one process, per-item errors kept, a dead
worker never loses a batch."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from storylens.corpus import Corpus
from storylens.embed import ArticleVectors
from storylens.model import Article, article_contract
from storylens.pipeline import Components
from storylens.settings import Settings
from storylens.workers import Processed, WorkerPool, split_by_length

pytestmark = pytest.mark.slow


def _settings(workers: int) -> Settings:
    s = Settings()
    s.ingest = replace(s.ingest, workers=workers, workers_from=2)
    return s


def _ingest(db: Path, files: list[str], workers: int) -> Corpus:
    c = Corpus(f"sqlite:///{db}", settings=_settings(workers))
    report = c.ingest(files)
    assert report.count("rejected") == 0, report.rejected
    return c


def test_worker_processes_store_what_one_process_stores(tmp_path: Path, examples_dir: Path) -> None:
    files = [str(p) for p in sorted(examples_dir.iterdir())]
    one = _ingest(tmp_path / "one.db", files, workers=1)
    two = _ingest(tmp_path / "two.db", files, workers=2)
    try:
        assert two.runner.c._pool is not None  # the batch did go to worker processes
        a1 = {a.id: article_contract(a) for a in one.articles()}
        a2 = {a.id: article_contract(a) for a in two.articles()}
        assert len(a1) >= 16 and a1 == a2
        assert sorted(sorted(s.articles) for s in one.stories()) == sorted(sorted(s.articles) for s in two.stories())
        v1, v2 = one.store.embeddings(), two.store.embeddings()
        assert v1.keys() == v2.keys() and v1
        for k in v1:
            x, y = ArticleVectors.from_bytes(v1[k]), ArticleVectors.from_bytes(v2[k])
            assert x.sentences.shape == y.sentences.shape
            assert np.allclose(x.doc, y.doc, atol=2e-3) and np.allclose(x.sentences, y.sentences, atol=2e-3)
    finally:
        one.close()
        two.close()


def _articles(examples_dir: Path) -> list[Article]:
    from storylens.clean import FurnitureModel, prepare
    from storylens.ingest import read_inputs
    from storylens.model import RawDocument

    s = Settings()
    raws = [r for r in read_inputs([str(examples_dir)], s.ingest) if isinstance(r, RawDocument)]
    return [prepare(r, s, FurnitureModel()) for r in raws]


def test_a_broken_article_is_reported_by_the_worker_and_the_rest_go_on(examples_dir: Path) -> None:
    arts = _articles(examples_dir)[:6]
    broken = replace(arts[2], id="broken", text=None)  # type: ignore[arg-type]  # a malformed record
    batch = arts[:2] + [broken] + arts[2:]
    pool = WorkerPool(2, Settings().nlp)
    try:
        out = _collect(pool, batch, {a.id for a in batch})
    finally:
        pool.close()
    assert [a.id for a in out.analyzed] == [a.id for a in arts]
    assert [(a.id, stage) for a, stage, _ in out.failed] == [("broken", "analyze")]
    assert "analysis failed" in out.failed[0][2]
    assert set(out.vectors) == {a.id for a in arts}
    assert all(a.sentences and a.entities for a in out.analyzed)


def _collect(pool: WorkerPool, batch: list[Article], embed: set[str]) -> Processed:
    out = Processed()
    for f in pool.submit(batch, embed):
        out.extend(f.result())
    return out


def test_killed_workers_never_lose_a_batch(examples_dir: Path) -> None:
    """A worker killed mid-batch (out of memory, a signal): the batch is done in this process, nothing is lost."""
    arts = _articles(examples_dir)
    comps = Components(_settings(2))
    try:
        comps.start(arts[:2], set()).__call__()  # the workers are up
        assert comps._pool is not None
        wait = comps.start(arts, {a.id for a in arts})
        for pid in list(comps._pool._pool._processes):  # noqa: SLF001 - the processes the executor started
            os.kill(pid, signal.SIGKILL)
        out = wait()
    finally:
        comps.close()
    assert [a.id for a in out.analyzed] == [a.id for a in arts] and not out.failed
    assert set(out.vectors) == {a.id for a in arts}


def test_chunks_are_contiguous_and_balanced(examples_dir: Path) -> None:
    arts = _articles(examples_dir)
    parts = split_by_length(arts, 4)
    assert [a.id for p in parts for a in p] == [a.id for a in arts]
    assert 1 < len(parts) <= 4 and all(parts)
    sizes = [sum(len(a.text) for a in p) for p in parts]
    assert max(sizes) <= 2.5 * sum(sizes) / len(parts)
