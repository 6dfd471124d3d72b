"""Throughput of ``storylens.nlp.analyze`` next to spaCy's ``nlp.pipe`` alone on the same texts (the floor).

    python benchmarks/analyze_speed.py [--n 1000] [--batch-size 32] [--rounds 5]

Texts: the PolNeAR dev articles (../shared, via to_jsonl.py) repeated to ``--n``; the seeds when PolNeAR is
absent.  Both runs use the same model, batch size and one process; the model is loaded before timing, and the
two runs alternate in ``--rounds`` rounds (load from other jobs falls on both alike).
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))


def texts(n: int) -> list[str]:
    p = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval")) / "jsonl" \
        / "polnear-dev.jsonl"
    if p.exists():
        base = [json.loads(line)["text"] for line in p.open(encoding="utf-8") if line.strip()]
    else:
        base = [f.read_text(encoding="utf-8").replace("\u00a0", " ") for f in sorted((SHARED / "seeds").glob("0*.txt"))]
    return [base[i % len(base)] for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=5, help="alternate the two runs in this many rounds")
    a = ap.parse_args()

    from storylens.model import Article
    from storylens.nlp import analyze
    from storylens.nlp.backends import spacy_model
    from storylens.settings import NlpSettings

    settings = NlpSettings(batch_size=a.batch_size)
    docs = texts(a.n)
    nlp = spacy_model(settings.spacy_model)
    analyze([Article(id="warm", source="warm", text=docs[0], language="en")], settings)  # word lists loaded
    # the two runs alternate in rounds, so that load from other jobs on a shared machine falls on both alike
    spacy_s = ours_s = 0.0
    step = max(1, -(-len(docs) // a.rounds))
    for r in range(0, len(docs), step):
        part = docs[r:r + step]
        t = time.perf_counter()
        for _ in nlp.pipe(part, batch_size=a.batch_size):
            pass
        spacy_s += time.perf_counter() - t
        arts = [Article(id=str(r + i), source=str(r + i), text=d, language="en") for i, d in enumerate(part)]
        t = time.perf_counter()
        analyze(arts, settings)
        ours_s += time.perf_counter() - t
    n_chars = sum(len(d) for d in docs)
    print(f"{a.n} articles, {n_chars / a.n:.0f} chars on average, model {settings.spacy_model}")
    print(f"spaCy nlp.pipe alone : {a.n / spacy_s:8.1f} articles/s ({spacy_s:.1f} s)")
    print(f"storylens analyze()  : {a.n / ours_s:8.1f} articles/s ({ours_s:.1f} s)")
    print(f"ratio                : {spacy_s / ours_s:8.2f} of spaCy alone (target >= 0.9)")
    print(json.dumps({"n": a.n, "spacy_articles_per_s": round(a.n / spacy_s, 2),
                      "analyze_articles_per_s": round(a.n / ours_s, 2), "ratio": round(spacy_s / ours_s, 3)}))


if __name__ == "__main__":
    main()
