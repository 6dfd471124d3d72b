"""``kill -9`` at the two places where a store changes most at once: while a batch that merges two stories is being
written, and while every narrative is linked again (after ``storylens recluster``).  The real command runs in a
subprocess; a wrapper script stops it inside the open transaction and the test kills it there.  Then: the store is
consistent (``Store.check``), and the next run ends where an uninterrupted one does, without duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES
from fault_support import copy_sqlite, narratives, sources, start_hooked, stories
from storylens.corpus import Corpus
from storylens.settings import Settings
from storylens.store import Store

pytestmark = pytest.mark.slow

# the batch whose write merges two stories: a03 (event A) bridges a06 and a07, stored apart; the rest come along
BRIDGING_BATCH = [str(EXAMPLES / n) for n in ("a04_northgate_daily.html", "b01_harbor_wire.txt",
                                              "b02_baltic_ledger.txt", "c01_meridian_post.txt",
                                              "c04_baltic_ledger.txt", "a03_meridian_post.txt")]

MERGE_HOOK = """
import storylens.store.db as db

_write_changes = db.Store._write_changes


def write_changes(self, s, stories, merges, *args, **kwargs):
    merges = list(merges)
    _write_changes(self, s, stories, merges, *args, **kwargs)
    if merges:
        s.flush()  # the merge is written in the batch's transaction, not committed
        reached({"merges": [[m.kept, m.merged, m.bridge_article] for m in merges]})


db.Store._write_changes = write_changes
"""

RELINK_HOOK = """
import storylens.store.narratives as narratives

_apply = narratives.apply_narrative_changes


def apply_narrative_changes(s, changes):
    _apply(s, changes)
    s.flush()  # narratives written in the relink's transaction, not committed
    reached({"narratives": len(changes.narratives), "summaries": len(changes.summaries)})


narratives.apply_narrative_changes = apply_narrative_changes
"""


RECLUSTER_HOOK = """
import storylens.store.stream as stream

_apply = stream.apply_changes


def apply_changes(s, changes):
    _apply(s, changes)
    s.flush()  # the stream's state over the new stories written, not committed
    reached({"stories": len(changes.stories)})


stream.apply_changes = apply_changes
"""


def _wire(article_id: str) -> dict[str, Any]:
    for line in (EXAMPLES / "wire.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["id"] == article_id:
            return dict(json.loads(line))
    raise KeyError(article_id)


@pytest.fixture(scope="module")
def two_stories(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Event A's Russian report and its later English report stored as two stories (a strict threshold kept them
    apart), the way a stream meets reports it cannot link yet."""
    path = tmp_path_factory.mktemp("merge") / "two-stories.db"
    settings = Settings.from_env()
    settings.stories.link_threshold = 0.99
    with Corpus(f"sqlite:///{path}", settings) as c:
        c.ingest([str(EXAMPLES / "a06_vestnik_severa.txt")])
        c.ingest([_wire("a07_harbor_wire")])
        assert len(c.stories()) == 2
    return path


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example corpus ingested: three stories, two of them in a narrative."""
    path = tmp_path_factory.mktemp("relink") / "examples.db"
    with Corpus(f"sqlite:///{path}") as c:
        c.ingest([str(EXAMPLES)])
    return path


def test_kill_9_while_a_batch_merging_two_stories_is_written(two_stories: Path, tmp_path: Path) -> None:
    before = Store(f"sqlite:///{two_stories}")
    stored_before, stories_before = sources(before), stories(before)
    before.close()
    url = copy_sqlite(two_stories, tmp_path / "killed.db")
    hooked = start_hooked(tmp_path, MERGE_HOOK, "ingest", *BRIDGING_BATCH, "--db", url)
    seen = hooked.wait_for_fault()
    assert seen["merges"], "the batch merges no stories"
    hooked.kill()

    store = Store(url)
    assert store.check() == []
    assert sources(store) == stored_before and stories(store) == stories_before  # the batch is not half there
    store.close()

    with Corpus(url) as c:  # the same ingest again
        again = c.ingest(BRIDGING_BATCH)
        assert again.count("new") + again.count("duplicate") == len(BRIDGING_BATCH)
        assert c.store.merges(), "the rerun merges the two stories"
    with Corpus(copy_sqlite(two_stories, tmp_path / "uninterrupted.db")) as ref:
        ref.ingest(BRIDGING_BATCH)
        expected = (sources(ref.store), stories(ref.store), narratives(ref.store))
    store = Store(url)
    assert store.check() == []
    assert set(sources(store).values()) == {1}
    assert (sources(store), stories(store), narratives(store)) == expected
    store.close()


def test_kill_9_while_every_narrative_is_linked_again(example_store: Path, tmp_path: Path) -> None:
    """Killed in the relink that follows ``recluster``: the next ingest (with nothing new) completes it."""
    with Corpus(copy_sqlite(example_store, tmp_path / "uninterrupted.db")) as ref:
        ref.recluster()
        ref.ingest([str(EXAMPLES)])
        expected = (sources(ref.store), stories(ref.store), narratives(ref.store))
    assert expected[2], "the example corpus has a narrative to link"
    url = copy_sqlite(example_store, tmp_path / "killed.db")
    hooked = start_hooked(tmp_path, RELINK_HOOK, "recluster", "--db", url)
    seen = hooked.wait_for_fault()
    assert seen["narratives"], "the relink writes narratives"
    hooked.kill()

    store = Store(url)
    assert store.check() == []
    store.close()
    with Corpus(url) as c:  # the next run: an ingest with nothing new completes the relink
        report = c.ingest([str(EXAMPLES)])
        assert report.count("new") == 0
    store = Store(url)
    assert store.check() == []
    assert (sources(store), stories(store), narratives(store)) == expected
    store.close()


def test_kill_9_while_recluster_writes_the_new_stories(two_stories: Path, tmp_path: Path) -> None:
    """Killed while ``recluster`` writes the new stories (a06 and a07, stored apart, become one) and the stream's
    state over them: the store keeps the old stories whole, and the next ``recluster`` ends as an uninterrupted
    one."""
    before = Store(f"sqlite:///{two_stories}")
    old = (sources(before), stories(before), narratives(before))
    before.close()
    with Corpus(copy_sqlite(two_stories, tmp_path / "uninterrupted.db")) as ref:
        for story in ref.stories():  # comparisons cached for the stories recluster replaces
            ref.compare(story.id)
        ref.recluster()
        assert ref.check() == []  # the comparison of a story that is gone went with it
        expected = (sources(ref.store), stories(ref.store), narratives(ref.store))
    assert expected[1] != old[1], "recluster changes the stories"
    url = copy_sqlite(two_stories, tmp_path / "killed.db")
    hooked = start_hooked(tmp_path, RECLUSTER_HOOK, "recluster", "--db", url)
    assert hooked.wait_for_fault()["stories"]
    hooked.kill()

    store = Store(url)
    assert store.check() == []
    assert (sources(store), stories(store), narratives(store)) == old
    store.close()
    with Corpus(url) as c:  # the next run
        c.recluster()
    store = Store(url)
    assert store.check() == []
    assert (sources(store), stories(store), narratives(store)) == expected
    store.close()
