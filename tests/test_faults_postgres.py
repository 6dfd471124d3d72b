"""The PostgreSQL server restarted in the middle of an ingest, and stopped for longer than the ingest waits for it.
The real command runs in a subprocess; a wrapper script holds it inside the transaction of a batch's write while the
test restarts (stops) the server, then lets it go on.  A restart costs nothing but a warning: the batch is stored
again once the server answers.  A server that stays away ends the ingest with a message naming what was not
stored.  Either way the store is consistent and the same ingest again stores exactly what is missing.  And an
article the server refuses (a value too long for its column) is rejected alone, its batch stored whole without it.
The tests use a cluster of their own: restarting the session's would cut the other tests' connections."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES, PgServer, start_pg_server
from fault_support import narratives, sources, start_hooked, stories
from storylens.corpus import Corpus
from storylens.store import Store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# the first batch write of the command stops inside its transaction (the articles written, nothing committed)
HOLD_FIRST_WRITE = """
import storylens.store.db as db

_write_changes = db.Store._write_changes
first = [True]


def write_changes(self, s, *args, **kwargs):
    _write_changes(self, s, *args, **kwargs)
    if first.pop() if first else False:
        s.flush()
        reached({"dialect": self.dialect})


db.Store._write_changes = write_changes
"""

Snapshot = tuple[object, object, object]
# articles of the three events of the example corpus: small enough to analyse in a few seconds
INPUT = [str(EXAMPLES / n) for n in ("a02_aggregator.txt", "a03_meridian_post.txt", "a04_northgate_daily.html",
                                     "b01_harbor_wire.txt", "b02_baltic_ledger.txt", "c01_meridian_post.txt")]


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    base = Path(tempfile.mkdtemp(prefix="storylens-faults-pg-"))  # pytest's own temp dirs are closed to `postgres`
    try:
        srv = start_pg_server(base)
        try:
            yield srv
        finally:
            srv.ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def uninterrupted(server: PgServer) -> Snapshot:
    with Corpus(server.url("uninterrupted")) as c:
        report = c.ingest(INPUT)
        assert not report.rejected
        return sources(c.store), stories(c.store), narratives(c.store)


def _snapshot(store: Store) -> Snapshot:
    return sources(store), stories(store), narratives(store)


def test_server_restarted_while_a_batch_is_written(server: PgServer, uninterrupted: Snapshot,
                                                   tmp_path: Path) -> None:
    url = server.url("restarted")
    hooked = start_hooked(tmp_path, HOLD_FIRST_WRITE, "ingest", *INPUT, "--db", url)
    assert hooked.wait_for_fault()["dialect"] == "postgresql"
    server.ctl("restart", "-m", "fast")
    done = hooked.go_on()
    assert done.returncode == 0, done.stderr
    assert "connection to the database server" in done.stderr and "storing the batch" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    store = Store(url)
    assert store.check() == []
    assert set(sources(store).values()) == {1}
    assert _snapshot(store) == uninterrupted
    store.close()
    with Corpus(url) as c:  # the same ingest again: nothing is missing
        again = c.ingest(INPUT)
        assert again.count("unchanged") == len(again.results)
        assert _snapshot(c.store) == uninterrupted


def test_server_gone_longer_than_the_ingest_waits(server: PgServer, uninterrupted: Snapshot,
                                                  tmp_path: Path) -> None:
    url = server.url("stopped")
    hooked = start_hooked(tmp_path, HOLD_FIRST_WRITE, "ingest", *INPUT, "--db", url,
                          env={"STORYLENS_RECONNECT_S": "2"})
    hooked.wait_for_fault()
    server.ctl("stop", "-m", "fast")
    try:
        done = hooked.go_on()
    finally:
        server.ctl("start")
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert "connection to the database server" in done.stderr and "not stored" in done.stderr, done.stderr
    for path in INPUT:
        assert f"not stored {path}" in done.stderr  # each item not stored is named
    store = Store(url)
    assert store.check() == []
    assert sources(store) == {}  # the batch's transaction rolled back whole
    store.close()
    with Corpus(url) as c:  # the same ingest again stores everything, once
        again = c.ingest(INPUT)
        assert again.count("new") + again.count("duplicate") == len(again.results)
        assert c.store.check() == []
        assert _snapshot(c.store) == uninterrupted


def test_an_article_the_server_refuses_is_rejected_and_the_rest_stored_whole(server: PgServer) -> None:
    """An id longer than the column (PostgreSQL refuses it, SQLite would not): the article is rejected with the
    server's reason, and the batch is assigned and stored again without it, so no story is stored for it alone."""
    refused = {"id": "x" * 600, "title": "Harbour cats win national award", "published": "2025-05-01",
               "outlet": "Cat News", "text": "The harbour cats of Lindhaven won the national award for the friendliest "
                                             "cats on Tuesday, the jury said. " * 5}
    with Corpus(server.url("without")) as ref:
        ref.ingest(INPUT[:3])
        expected = _snapshot(ref.store)
    with Corpus(server.url("refused")) as c:
        for _ in range(2):  # and the same ingest again
            report = c.ingest([*INPUT[:3], refused])
            assert [r.id for r in report.rejected] == [refused["id"]]
            assert "could not be stored" in str(report.rejected[0].reason)
            assert "too long" in str(report.rejected[0].reason)
            assert c.store.check() == []
            assert _snapshot(c.store) == expected
