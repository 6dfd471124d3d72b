"""Scale of the story stage of ingest: 100,000 generated articles over a year through the local runner.

    .venv/bin/python benchmarks/stories_scale.py                       # 100k; writes docs/stories_scale.png + table
    .venv/bin/python benchmarks/stories_scale.py --n 10000 --days 40   # a smaller run

The articles come from ``benchmarks/newsgen.py`` (recurring topics; events of one topic in the same week differ in
who, where and what; 1-8 reports per event in each outlet's own words; follow-ups; syndicated copies).  Analysis and
embeddings are computed once with the real stages (``analyze_items``, ``article_vectors``) and cached under
``$TMPDIR/storylens-eval/cache``; the measured run is the real ``Runner.ingest`` into a fresh SQLite store, chunk
after chunk of 10,000 articles, with those cached results in place of re-analysing: read, clean, dedupe, story
assignment (the stream over its active window), per-story state persistence, incremental narrative linking and
every store write.  Reported at each checkpoint: ms per article over the last chunk, peak RSS, stories, stories in
memory, and BCubed F1 of all stories so far against the generator's events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from newsgen import generate  # noqa: E402

CACHE = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval")) / "cache"


def analysed(rows: list[dict[str, Any]], key: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Analysed records (by id) and vector blobs of ``rows``, from the real stages, cached."""
    from storylens.clean import FurnitureModel, prepare
    from storylens.model import ReadError
    from storylens.pipeline import Components, read_items
    from storylens.settings import Settings

    path = CACHE / f"newsgen-{key}.pkl"
    if path.exists():
        with path.open("rb") as f:
            return pickle.load(f)
    CACHE.mkdir(parents=True, exist_ok=True)
    arts: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    t0 = time.perf_counter()
    settings = Settings()
    comp = Components(settings)  # the runner's own per-article stages, on every core
    furniture = FurnitureModel()
    try:
        for k in range(0, len(rows), 2000):
            prepared = [prepare(raw, settings, furniture) for raw in read_items(rows[k:k + 2000], settings)
                        if not isinstance(raw, ReadError)]
            done = comp.start(prepared, {a.id for a in prepared})()
            for a in done.analyzed:
                arts[a.id] = a
                blobs[a.id] = done.vectors[a.id].to_bytes()
            print(f"  analysed {k + len(prepared):,} / {len(rows):,} ({time.perf_counter() - t0:.0f}s)", flush=True)
    finally:
        comp.close()
    with path.open("wb") as f:
        pickle.dump((arts, blobs), f)
    return arts, blobs


def cached_components(settings: Any, arts: dict[str, Any], blobs: dict[str, bytes]) -> Any:
    """The runner's components with the analysis and the vectors already computed (by the same stages, above)."""
    import copy

    from storylens.embed import ArticleVectors
    from storylens.pipeline import Components
    from storylens.workers import Processed

    class Cached(Components):
        def start(self, articles: list[Any], embed_ids: set[str]) -> Any:
            done, _ = self.analyze(articles)
            vecs = dict(zip([a.id for a in articles if a.id in embed_ids],
                            self.vectors([a for a in articles if a.id in embed_ids]), strict=True))
            return lambda: Processed(analyzed=done, vectors=vecs)

        def analyze(self, articles: list[Any]) -> tuple[list[Any], list[tuple[Any, str]]]:
            out = []
            for a in articles:
                done = copy.deepcopy(arts[a.id])
                done.duplicate_of, done.duplicate_kind = a.duplicate_of, a.duplicate_kind
                out.append(done)
            return out, []

        def vectors(self, articles: list[Any]) -> list[Any]:
            return [ArticleVectors.from_bytes(blobs[a.id]) for a in articles]

    return Cached(settings)


def bcubed(pred: dict[str, str], gold: dict[str, str]) -> float:
    from collections import Counter

    ids = [i for i in gold if i in pred]
    ps, gs = Counter(pred[i] for i in ids), Counter(gold[i] for i in ids)
    both = Counter((pred[i], gold[i]) for i in ids)
    p = sum(v * v / ps[s] for (s, _), v in both.items()) / len(ids)
    r = sum(v * v / gs[g] for (_, g), v in both.items()) / len(ids)
    return 2 * p * r / (p + r)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from storylens.corpus import Corpus
    from storylens.settings import Settings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--chunk", type=int, default=10_000, help="articles per ingest call (a checkpoint each)")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--png", type=Path, default=ROOT.parent / "docs" / "stories_scale.png")
    a = ap.parse_args()
    rows, gold = generate(a.n, days=a.days, seed=a.seed)
    print(f"{len(rows):,} articles, {len(set(gold.values())):,} events over {a.days} days", flush=True)
    arts, blobs = analysed(rows, f"{a.n}-{a.days}-{a.seed}")
    settings = Settings()
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="storylens-scale-") as tmp:
        corpus = Corpus(f"sqlite:///{tmp}/scale.db", settings)
        corpus.runner.c = cached_components(settings, arts, blobs)
        done = 0
        for k in range(0, len(rows), a.chunk):
            chunk = rows[k:k + a.chunk]
            t = time.perf_counter()
            report = corpus.ingest(chunk)
            secs = time.perf_counter() - t
            done += len(chunk)
            pred = {aid: s.id for s in corpus.stories() for aid in s.articles}
            row = {"stored_articles": done, "ms_per_article_last_chunk": round(1000 * secs / len(chunk), 2),
                   "peak_rss_mb": round(peak_rss_mb(), 1), "stories": corpus.store.count_stories(),
                   "narratives": len(corpus.narratives()),
                   "stories_in_memory": len(corpus.runner.open_stream().active) if done == len(rows) else None,
                   "rejected": report.count("rejected"),
                   "bcubed_f1_vs_generator": round(bcubed(pred, {i: gold[i] for i in pred if i in gold}), 4)}
            out.append(row)
            print(json.dumps(row), flush=True)
        corpus.close()
    print("\n| stored articles | ms per article (last 10k: read, clean, dedupe, assign, persist, narratives, store) "
          "| peak RSS MB | stories | narratives | BCubed F1 vs events |\n|---|---|---|---|---|---|")
    for r in out:
        print(f"| {r['stored_articles']:,} | {r['ms_per_article_last_chunk']} | {r['peak_rss_mb']} | {r['stories']:,} | "
              f"{r['narratives']:,} | {r['bcubed_f1_vs_generator']} |")
    print(json.dumps({"date": dt.date.today().isoformat(), "n": a.n, "days": a.days, "checkpoints": out}))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["stored_articles"] for r in out], [r["ms_per_article_last_chunk"] for r in out], marker="o",
            label="ms per article (last chunk)")
    ax.set_xlabel("articles stored")
    ax.set_ylabel("ms per article")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot([r["stored_articles"] for r in out], [r["peak_rss_mb"] for r in out], "s--", color="tab:red",
             label="peak RSS (MB)")
    ax2.set_ylabel("peak RSS MB")
    ax2.set_ylim(bottom=0)
    ax.set_title(f"ingest without NLP: {a.n:,} generated articles over {a.days} days")
    fig.legend(loc="lower right")
    fig.tight_layout()
    a.png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.png, dpi=110)
    print(f"plot: {a.png}")


if __name__ == "__main__":
    main()
