"""The Spark runner's pieces that need no Spark session: time buckets, cross-bucket story merges, LSH banding,
connected components, the per-process component cache."""

from __future__ import annotations

import datetime as dt

from storylens.model import Story
from storylens.settings import Settings
from storylens.spark.runner import BAND_ROWS, _bands, _components_of, components, merge_across_cuts, time_buckets

D = dt.date


def test_buckets_cut_at_quiet_gaps_and_split_busy_stretches() -> None:
    days = [D(2018, 6, 1), D(2018, 6, 3), D(2021, 6, 14), D(2021, 6, 16)]
    b, cuts = time_buckets(days, window_days=7, bucket_days=28)
    assert b[D(2018, 6, 1)] == b[D(2018, 6, 3)] != b[D(2021, 6, 14)] == b[D(2021, 6, 16)]
    assert cuts == []  # independent buckets: nothing to merge
    busy = [D(2021, 1, 1) + dt.timedelta(days=i) for i in range(60)]
    b, cuts = time_buckets([*busy, None], window_days=7, bucket_days=28)
    assert len({b[d] for d in busy}) == 3 and len(cuts) == 2  # two cuts inside the busy stretch
    assert b[None] == -1  # undated: added last, to the combined assigner


def test_stories_meeting_across_a_cut_merge_when_similar() -> None:
    s = Settings()
    a = Story("s1", "NATO", ["a1", "a2"], D(2021, 1, 26), D(2021, 1, 28), outlets=["TASS"])
    b = Story("s2", "NATO again", ["a3"], D(2021, 1, 29), D(2021, 1, 30), outlets=["RBC"])
    c = Story("s3", "Other", ["a4"], D(2021, 1, 29), D(2021, 1, 29))
    merged = merge_across_cuts({0: [(a, [1.0, 0.0])], 1: [(b, [0.9, 0.436]), (c, [0.0, 1.0])]}, [1], s)
    by = {st.id: st for st in merged}
    assert set(by) == {"s1", "s3"}
    assert by["s1"].articles == ["a1", "a2", "a3"] and by["s1"].last_seen == D(2021, 1, 30)
    assert by["s1"].outlets == ["TASS", "RBC"]


def test_banding_keys_exact_copies_and_shared_runs() -> None:
    import numpy as np

    sig = np.arange(128, dtype=np.uint64).tobytes()
    other = np.arange(128, dtype=np.uint64)
    other[8:] += 1000
    keys1, keys2 = _bands(sig, "h1"), _bands(other.tobytes(), "h2")
    assert len(keys1) == 1 + 128 // BAND_ROWS
    assert ("h", "h1") in keys1
    assert len(set(keys1) & set(keys2)) == 8 // BAND_ROWS  # the first two runs of 4 values are shared


def test_connected_components() -> None:
    comp = _components_of([("a", "b"), ("c", "b"), ("x", "y")])
    assert comp["a"] == comp["b"] == comp["c"] == "a" and comp["x"] == comp["y"] == "x"


def test_components_are_cached_per_process() -> None:
    """Built once per process and per settings: equal settings (another object) share the components, other
    settings get their own."""
    first = components(Settings())
    assert components(Settings()) is first
    other = Settings()
    other.nlp.batch_size += 1
    second = components(other)
    assert second is not first
    assert components(other) is second
