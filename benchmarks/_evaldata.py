"""The trafilatura-eval pages (../shared/benchdata/trafilatura-eval), shared by the benchmarks."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
EVAL = SHARED / "benchdata" / "trafilatura-eval"


@dataclass(slots=True)
class Page:
    url: str
    file: str
    data: bytes
    with_: list[str]
    without: list[str]


def pages(limit: int | None = None) -> Iterator[Page]:
    if not (EVAL / "evaldata.json").exists():
        raise SystemExit(f"{EVAL} is absent: nothing to measure")
    meta = json.loads((EVAL / "evaldata.json").read_text(encoding="utf-8"))
    for i, (url, m) in enumerate(meta.items()):
        if limit is not None and i >= limit:
            break
        p = EVAL / "html" / (m["file"] + ".gz")
        if not p.exists():
            p = EVAL / "html" / m["file"]
            if not p.exists():
                continue
            data = p.read_bytes()
        else:
            data = gzip.decompress(p.read_bytes())
        yield Page(url, m["file"], data, list(m.get("with", [])), list(m.get("without", [])))
