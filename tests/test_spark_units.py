"""The Spark runner's pieces that need no Spark session: LSH banding, connected components, the per-process
component cache."""

from __future__ import annotations

from storylens.graph import components_of
from storylens.settings import Settings
from storylens.spark.runner import BAND_ROWS, _bands, components


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
    comp = components_of([("a", "b"), ("c", "b"), ("x", "y")])
    assert comp == {"a": "a", "b": "a", "c": "a", "x": "x", "y": "x"}


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
