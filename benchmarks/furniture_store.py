"""What storing the learned furniture model costs per batch as the history grows (a benchmark, not a test).

    .venv/bin/python benchmarks/furniture_store.py [--batches 160] [--articles 64] [--lines 20]

Feeds ``--batches`` batches of ``--articles`` generated articles (``--lines`` distinct short lines each, one outlet)
to a FurnitureModel, storing each batch's changes in a temporary SQLite store as the ingest does; then times, for one
more batch, what the store writes now (the batch's lines, ``storylens.store.furniture``) against what it wrote before
(the whole model as one JSON state)."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from storylens.clean import FurnitureModel
from storylens.store import Store
from storylens.store.furniture import apply_furniture_changes

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def line(i: int) -> str:
    return "line " + " ".join(WORDS[int(c)] for c in str(i))  # digits fold to one key: words make lines distinct


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=160)
    ap.add_argument("--articles", type=int, default=64)
    ap.add_argument("--lines", type=int, default=20)
    args = ap.parse_args()
    fm = FurnitureModel()
    n = 0
    with tempfile.TemporaryDirectory() as d:
        store = Store(f"sqlite:///{Path(d) / 'furniture.db'}")

        def batch() -> None:
            nonlocal n
            for _ in range(args.articles):
                fm.observe([line(n * args.lines + j) for j in range(args.lines)], outlet="Harbor Wire", key=f"a{n}")
                n += 1

        def store_changes() -> int:
            changes = fm.changes()
            with store.session.begin() as s:
                apply_furniture_changes(s, changes)
            fm.commit(changes)
            return len(changes.seen) + len(changes.furniture) + len(changes.dropped)

        for _ in range(args.batches):
            batch()
            store_changes()
        batch()
        t = time.perf_counter()
        written = store_changes()
        lines_s = time.perf_counter() - t
        t = time.perf_counter()
        data = fm.to_json().encode("utf-8")
        store.put_state("furniture-json", data)
        json_s = time.perf_counter() - t
        store.close()
    print(f"{len(fm._seen):,} candidate lines after {args.batches + 1} batches of {args.articles} articles")
    print(f"the batch's lines: {written:,} rows in {lines_s * 1000:.0f} ms; "
          f"the whole model as JSON: {len(data) / 1e6:.1f} MB in {json_s * 1000:.0f} ms")


if __name__ == "__main__":
    main()
