"""The story stream on the example corpus: closing and reopening stories, the store as its backend, an updated article
moving, two stories merging through an article that belongs to both, and batch grouping by the same scorer."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from storylens.settings import StorySettings
from storylens.stories import MemoryBackend, StoryStream, assignment_order, recluster
from storylens.stories.linkage import average_linkage
from test_stories_support import prepared, vectors


@pytest.fixture(scope="module")
def corpus(examples_dir: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Originals of the example corpus by short name (``a01``...), their vectors, and the true event of each."""
    truth = json.loads((examples_dir.parent / "truth.json").read_text(encoding="utf-8"))
    event = {a["id"][:3]: a["event"] for a in truth["articles"] if a["duplicate_of"] is None}
    arts = prepared([examples_dir])
    by_name = {}
    for a in arts:
        name = Path(a.id).name[:3]
        if name in event:
            by_name[name] = a
    vecs = dict(zip([a.id for a in arts], vectors(arts), strict=True))
    return by_name, vecs, event


def _feed(stream: StoryStream, corpus: Any, names: list[str]) -> list[str]:
    """Story ids of ``names`` (in the order given), fed as one batch in the runners' order."""
    by_name, vecs, _ = corpus
    arts = assignment_order([by_name[n] for n in names])
    got = dict(zip([a.id for a in arts], stream.add_many([(a, vecs[a.id]) for a in arts]), strict=True))
    return [got[by_name[n].id] for n in names]


def test_a_closed_story_reopens_for_its_late_article(corpus: Any) -> None:
    """Event A (3-5 March) closes once April's event B has moved the stream's clock on; A's last report, arriving
    late, finds it among the closed stories by its names and reopens it."""
    st = dataclasses.replace(StorySettings(), close_after_days=3)
    backend = MemoryBackend()
    stream = StoryStream(st, backend)
    a_ids = _feed(stream, corpus, ["a01", "a03", "a04", "a05", "a06"])
    assert len(set(a_ids)) == 1
    story_a = a_ids[0]
    _feed(stream, corpus, ["c01", "c02", "c03", "c04"])
    _feed(stream, corpus, ["b01", "b03", "b04", "b05"])
    stream.flush()
    assert story_a not in stream.active  # closed: with the backend, out of memory
    assert backend.load([story_a])[0].closed
    assert _feed(stream, corpus, ["a07"]) == [story_a]
    assert story_a in stream.active
    stream.flush()
    assert not backend.load([story_a])[0].closed and len(backend.load([story_a])[0].members) == 6


def test_the_store_backend_keeps_what_memory_keeps(corpus: Any, tmp_path: Path) -> None:
    """The same stream over the store (tables per story) and over memory: the same stories, closed and reopened
    alike; and a stream reopened from a copy of the store continues exactly as the ones that never stopped."""
    import shutil

    from storylens.store import Store
    from storylens.store.stream import StoreStoryBackend

    st = dataclasses.replace(StorySettings(), close_after_days=3)
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    mem = StoryStream(st, MemoryBackend())
    db = StoryStream(st, StoreStoryBackend(store))
    for names in (["a01", "a03", "a04", "c02"], ["a05", "a06", "c01", "c03", "c04"], ["b01", "b03", "b04"]):
        assert _feed(mem, corpus, names) == _feed(db, corpus, names)
        mem.flush()
        db.flush()
    stored = StoreStoryBackend(store).load([i for c in StoreStoryBackend(store).story_ids(100) for i in c])
    assert any(x.closed and x.lookup_keys() for x in stored)  # a story was closed, with its lookup keys
    store.close()  # the last connection checkpoints SQLite's write-ahead log into the file copied next
    shutil.copy(tmp_path / "s.db", tmp_path / "copy.db")
    copy = Store(f"sqlite:///{tmp_path / 'copy.db'}")
    again = StoryStream.open(st, StoreStoryBackend(copy))
    last = [_feed(x, corpus, ["b05", "a07"]) for x in (mem, db, again)]
    assert last[0] == last[1] == last[2]
    assert _stories(mem) == _stories(db) == _stories(again)
    assert sorted(sorted(corpus[2][n] for n in names) for names in _names(mem, corpus)) == [
        ["A"] * 6, ["B"] * 4, ["C"] * 4]
    store.close()
    copy.close()


def _stories(stream: StoryStream) -> list[tuple[str, tuple[str, ...]]]:
    """Every story of a stream (in memory and with its backend), after a flush."""
    stream.flush()
    backend: Any = stream.backend
    ids = [i for chunk in backend.story_ids(100) for i in chunk]
    return sorted((s.id, tuple(s.to_story().articles)) for s in backend.load(ids))


def _names(stream: StoryStream, corpus: Any) -> list[list[str]]:
    back = {a.id: n for n, a in corpus[0].items()}
    return [[back[a] for a in arts] for _, arts in _stories(stream)]


def test_an_updated_article_moves_to_the_story_it_now_belongs_to(corpus: Any) -> None:
    by_name, vecs, _ = corpus
    stream = StoryStream(StorySettings(), MemoryBackend())
    ids = dict(zip(["b01", "b03", "b04", "c01", "c02", "c03"],
                   _feed(stream, corpus, ["b01", "b03", "b04", "c01", "c02", "c03"]), strict=True))
    assert ids["b01"] == ids["b03"] != ids["c01"] == ids["c02"]
    # b04 is re-published with c04's text: it leaves the council-vote story for the football story
    moved = dataclasses.replace(by_name["c04"], id=by_name["b04"].id)
    sid = stream.add(moved, vecs[by_name["c04"].id])
    assert sid == ids["c01"] and stream.story_of(by_name["b04"].id) == ids["c01"]
    assert by_name["b04"].id not in next(s for s in stream.stories() if s.id == ids["b01"]).articles


def test_two_stories_merge_through_an_article_that_belongs_to_both(corpus: Any) -> None:
    """Event A's Russian report and its last English report are its least alike pair: under a strict threshold they
    found two stories; at the usual threshold a report close to both joins one, and the two stories, close enough
    on average, merge: the older story keeps its id and the merge is recorded."""
    stream = StoryStream(dataclasses.replace(StorySettings(), link_threshold=0.9), MemoryBackend())
    first = _feed(stream, corpus, ["a06"]) + _feed(stream, corpus, ["a07"])
    assert first[0] != first[1]
    stream.settings.link_threshold = StorySettings().link_threshold
    (sid,) = _feed(stream, corpus, ["a04"])
    merges = stream.flush().merges
    assert [(m.kept, m.merged, m.bridge_article) for m in merges] == [(first[0], first[1], corpus[0]["a04"].id)]
    assert sid == first[0] == stream.story_of(corpus[0]["a07"].id) == stream.story_of(corpus[0]["a06"].id)
    assert len(stream.stories()) == 1


def test_batch_grouping_matches_the_events(corpus: Any) -> None:
    by_name, vecs, event = corpus
    arts = list(by_name.values())
    stories = recluster(arts, [vecs[a.id] for a in arts], StorySettings())
    back = {a.id: n for n, a in by_name.items()}
    assert sorted(sorted(event[back[x]] for x in s.articles) for s in stories) == [
        ["A"] * 6, ["B"] * 4, ["C"] * 4]


def test_average_linkage_completes_unscored_pairs_before_merging() -> None:
    edges = {(0, 1): 0.9, (2, 3): 0.8, (1, 2): 0.7}
    # unscored pairs counted as 0: {0,1} and {2,3} average 0.7/4 and stay apart
    assert average_linkage(4, edges, 0.4) == [0, 0, 2, 2]
    # completed as 0.5 each: (0.7 + 3 * 0.5) / 4 = 0.55, so they merge
    assert average_linkage(4, edges, 0.4, complete=lambda ps: [0.5] * len(ps)) == [0, 0, 0, 0]
    # a story already formed is never split, and a new item joins it on the average
    assert average_linkage(3, {(0, 2): 0.9}, 0.4, complete=lambda ps: [0.1] * len(ps), initial=[[0, 1]]) == [0, 0, 0]


def test_average_linkage_keeps_clusters_a_stream_would_have_closed_apart() -> None:
    d = dt.date(2025, 3, 1)
    edges = {(0, 1): 0.9, (1, 2): 0.9, (0, 2): 0.9}
    # item 2 is dated 30 days after the last of {0, 1}: with a 21-day gap rule it starts its own cluster
    dates = [d, d + dt.timedelta(days=2), d + dt.timedelta(days=32)]
    assert average_linkage(3, edges, 0.4, dates=dates, max_gap_days=21) == [0, 0, 2]
    assert average_linkage(3, edges, 0.4, dates=dates, max_gap_days=40) == [0, 0, 0]
    assert average_linkage(3, edges, 0.4, dates=dates) == [0, 0, 0]  # no rule without a gap
    # an undated item joins either side, and a span grown by a join is what the next merge is measured from
    assert average_linkage(3, edges, 0.4, dates=[d, None, d + dt.timedelta(days=32)], max_gap_days=21) == [0, 0, 2]
    chain = [d, d + dt.timedelta(days=15), d + dt.timedelta(days=30)]
    assert average_linkage(3, edges, 0.4, dates=chain, max_gap_days=21) == [0, 0, 0]


def test_ingest_continues_from_a_batch_recluster(examples_dir: Path, tmp_path: Path) -> None:
    """``storylens recluster`` rebuilds the stories at once; the next ingest's stream starts from exactly those
    stories: a late report joins its re-clustered story, and every article the store holds is in a stored story."""
    from storylens.corpus import Corpus
    from storylens.store.stream import StoreStoryBackend

    c = Corpus(f"sqlite:///{tmp_path / 'r.db'}")
    wire = [json.loads(x) for x in (examples_dir / "wire.jsonl").read_text(encoding="utf-8").splitlines() if x]
    late = next(r for r in wire if r["id"].startswith("a07"))
    files = sorted(str(p) for p in examples_dir.iterdir() if p.name[:1] in "ac" and p.suffix != ".jsonl")
    c.ingest([*files, *[r for r in wire if r is not late]])
    c.recluster()
    before = {s.id: set(s.articles) for s in c.stories()}
    backend = StoreStoryBackend(c.store)
    assert c.store.unassigned_originals() == []
    assert {sid for chunk in backend.members(1000) for _, sid in chunk} <= set(before)
    rep = c.ingest([late])
    (res,) = [r for r in rep.results if r.status == "new"]
    assert res.story_id == c.store.story_of(["a01_harbor_wire"])["a01_harbor_wire"] and res.story_id in before
    stored = {s.id for s in c.stories()}
    assert all(sid in stored for sid in c.store.story_of([a.id for a in c.articles()]).values())
    c.close()
