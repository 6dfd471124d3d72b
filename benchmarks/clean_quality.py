"""Cleaning quality on trafilatura-eval: our HTML reader + cleaning vs bare ``trafilatura.extract``.

Metric (trafilatura's tests/evaluate.py, re-implemented): per page, each "with" segment found in the output is a
TP (missing: FN), each "without" segment found is an FP (absent: TN); P, R, accuracy and F pooled over all
segments.  Whitespace is collapsed in outputs and segments alike (our text reads no-break spaces as spaces).
Our output is ``Article.text`` plus the first line cleaning moved into ``Article.title`` (rule ``title_repeat``):
that line is moved, not dropped.  We also count segments bare trafilatura keeps and our cleaning drops ("lost").

    .venv/bin/python benchmarks/clean_quality.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _evaldata import pages  # noqa: E402


def norm(s: str) -> str:
    return " ".join(s.split())


class Score:
    def __init__(self) -> None:
        self.tp = self.fn = self.fp = self.tn = 0

    def add(self, out: str, with_: list[str], without: list[str]) -> list[bool]:
        o = norm(out)
        found = []
        for seg in with_:
            hit = norm(seg) in o
            found.append(hit)
            self.tp += hit
            self.fn += not hit
        for seg in without:
            hit = norm(seg) in o
            self.fp += hit
            self.tn += not hit
        return found

    def row(self) -> dict[str, float]:
        p = self.tp / max(self.tp + self.fp, 1)
        r = self.tp / max(self.tp + self.fn, 1)
        acc = (self.tp + self.tn) / max(self.tp + self.tn + self.fp + self.fn, 1)
        f = 2 * p * r / max(p + r, 1e-9)
        return {"precision": round(p, 4), "recall": round(r, 4), "accuracy": round(acc, 4), "f1": round(f, 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="first N pages only (development)")
    args = ap.parse_args()

    import trafilatura

    from storylens.clean import prepare
    from storylens.ingest import read_inputs
    from storylens.model import RawDocument
    from storylens.settings import Settings

    settings = Settings()
    bare, ours = Score(), Score()
    lost = 0
    rejected = 0
    n = 0
    t_bare = t_ours = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for page in pages(args.limit):
            n += 1
            path = Path(tmp) / f"{n:04d}.html"
            path.write_bytes(page.data)
            t0 = time.perf_counter()
            (raw,) = list(read_inputs([path], settings.ingest))
            out = ""
            if isinstance(raw, RawDocument):
                raw.url = page.url
                try:
                    a = prepare(raw, settings)
                    # a first line that repeated the title moved into Article.title: count it as kept
                    moved = [r.text for r in a.removed if r.rule == "title_repeat"]
                    out = "\n".join([*moved, a.text])
                except ValueError:
                    rejected += 1
            else:
                rejected += 1
            t1 = time.perf_counter()
            html = raw.html if isinstance(raw, RawDocument) and raw.html else page.data.decode("utf-8", "replace")
            b = trafilatura.extract(html, url=page.url, include_comments=False) or ""
            t2 = time.perf_counter()
            t_ours += t1 - t0
            t_bare += t2 - t1
            fb = bare.add(b, page.with_, page.without)
            fo = ours.add(out, page.with_, page.without)
            lost += sum(1 for x, y in zip(fb, fo, strict=True) if x and not y)
    rb, ro = bare.row(), ours.row()
    print(f"trafilatura-eval: {n} pages, {bare.tp + bare.fn} 'with' and {bare.fp + bare.tn} 'without' segments")
    print(f"{'system':<34}{'P':>8}{'R':>8}{'Acc':>8}{'F1':>8}{'s':>8}")
    print(f"{'bare trafilatura.extract':<34}{rb['precision']:>8.3f}{rb['recall']:>8.3f}{rb['accuracy']:>8.3f}"
          f"{rb['f1']:>8.3f}{t_bare:>8.1f}")
    print(f"{'storylens read + prepare':<34}{ro['precision']:>8.3f}{ro['recall']:>8.3f}{ro['accuracy']:>8.3f}"
          f"{ro['f1']:>8.3f}{t_ours:>8.1f}")
    print(f"kept by bare trafilatura but dropped by our cleaning: {lost} segments; pages rejected: {rejected}")
    print(json.dumps({"benchmark": "clean_quality", "pages": n, "bare": rb, "ours": ro, "lost_segments": lost,
                      "rejected_pages": rejected, "ours_ge_bare_f1": ro["f1"] >= rb["f1"]}))


if __name__ == "__main__":
    main()
