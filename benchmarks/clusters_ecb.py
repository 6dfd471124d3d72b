"""ECB+ dev (topics 1-35, all 772 documents at once): storylens story assignment vs two baselines, side by side.

    python /work/shared/eval/to_jsonl.py                    # once: -> $TMPDIR/storylens-eval/jsonl/ecbplus-dev.jsonl
    .venv/bin/python benchmarks/clusters_ecb.py             # prints the table; writes stories-*.json next to the jsonl
    .venv/bin/python benchmarks/clusters_ecb.py --tune      # grid search on the odd topics, report even / all

Ours runs the real stages: ``storylens.ingest.read_inputs`` -> ``storylens.clean.prepare`` (furniture model
observed per batch of 64, as the local runner does) -> ``storylens.nlp.analyze`` when it is installed ->
``storylens.embed.article_vectors`` -> ``StoryAssigner`` (streaming, in the runner's order) and ``recluster``
(batch).  Scores come from ``/work/shared/eval/score_clusters.py`` (BCubed F1 over all documents, and the
within-topic macro average: the two events of one topic, same theme but different stories).

Baselines (as in the eval README): TF-IDF + agglomerative clustering (cosine, average linkage, distance
threshold 0.83); multilingual USE document embeddings + HDBSCAN (min_cluster_size 3, noise as singletons).
Prepared articles and embeddings are cached under ``$TMPDIR/storylens-eval/cache`` (never in the repository;
delete it after changing the clean or nlp stages).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import itertools
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
EVAL = SHARED / "eval"
HIDDEN = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval"))
JSONL = HIDDEN / "jsonl" / "ecbplus-dev.jsonl"
CACHE = HIDDEN / "cache"


def scorer() -> Any:
    spec = importlib.util.spec_from_file_location("score_clusters", EVAL / "score_clusters.py")
    if spec is None or spec.loader is None or not (EVAL / "score_clusters.py").exists():
        raise SystemExit(f"{EVAL} is absent: nothing to measure")
    sys.path.insert(0, str(EVAL))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def load_articles() -> tuple[list[Any], int]:
    """Prepared articles in input order, and how many ``prepare`` rejected with the shared furniture model
    (those are prepared again with a fresh model, else built from the raw text, so none is lost)."""
    from storylens.clean import FurnitureModel, prepare
    from storylens.ingest import read_inputs
    from storylens.model import Article, RawDocument
    from storylens.settings import Settings

    if not JSONL.exists():
        raise SystemExit(f"{JSONL} is absent: run python {EVAL}/to_jsonl.py first")
    s = Settings()
    raws = [r for r in read_inputs([JSONL], s.ingest) if isinstance(r, RawDocument)]
    fm = FurnitureModel()
    arts: list[Article] = []
    rejected = 0
    for k in range(0, len(raws), 64):
        batch = raws[k:k + 64]
        for r in batch:
            fm.observe(r)
        for r in batch:
            try:
                arts.append(prepare(r, s, fm))
            except ValueError:
                rejected += 1
                try:
                    arts.append(prepare(r, s, FurnitureModel()))
                except ValueError:
                    text = r.text or ""
                    arts.append(Article(id=r.key, source=r.source, text=text,
                                        title=r.title or text.split("\n", 1)[0]))
    if os.environ.get("STORYLENS_BENCH_NLP", "1") != "0":
        import storylens.nlp as nlp

        analyze = getattr(nlp, "analyze", None)
        if callable(analyze):  # entities and quotes, when the analysis stage is installed
            arts = list(analyze(arts, s.nlp))
    return arts, rejected


def cached(name: str, make: Callable[[], Any]) -> Any:
    CACHE.mkdir(parents=True, exist_ok=True)
    p = CACHE / f"{name}.pkl"
    if p.exists() and JSONL.exists() and p.stat().st_mtime > JSONL.stat().st_mtime:
        with p.open("rb") as f:
            return pickle.load(f)
    obj = make()
    with p.open("wb") as f:
        pickle.dump(obj, f)
    return obj


def ours_inputs() -> tuple[list[Any], list[Any], int]:
    from storylens.embed import ArticleVectors, Embedder, article_vectors

    arts, rejected = cached("ecb-articles-" + os.environ.get("STORYLENS_BENCH_NLP", "1"), load_articles)
    key = "ecb-vectors-" + ("nlp" if any(a.entities for a in arts) else "plain")
    blobs: dict[str, bytes] = cached(key, dict)
    missing = [a for a in arts if a.id not in blobs]
    if missing:  # embed only what the cache lacks
        blobs.update({a.id: v.to_bytes() for a, v in zip(missing, article_vectors(missing, Embedder()), strict=True)})
        with (CACHE / f"{key}.pkl").open("wb") as f:
            pickle.dump(blobs, f)
    return arts, [ArticleVectors.from_bytes(blobs[a.id]) for a in arts], rejected


def run_streaming(arts: Sequence[Any], vecs: Sequence[Any], settings: Any) -> dict[str, Any]:
    from storylens.model import clusters_contract
    from storylens.stories import StoryAssigner

    a = StoryAssigner(settings)
    order = sorted(range(len(arts)), key=lambda i: (arts[i].published.value or _MAXD, arts[i].id))
    for i in order:
        a.add(arts[i], vecs[i])
    return clusters_contract(a.stories(), [])


def run_batch(arts: Sequence[Any], vecs: Sequence[Any], settings: Any) -> dict[str, Any]:
    from storylens.model import clusters_contract
    from storylens.stories import recluster

    stories, _ = recluster(arts, vecs, settings)
    return clusters_contract(stories, [])


def baseline_tfidf(rows: list[dict[str, Any]], threshold: float = 0.83) -> dict[str, Any]:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
        [f"{r.get('title') or ''}\n{r['text']}" for r in rows]).toarray()
    labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                     distance_threshold=threshold).fit_predict(x)
    return _contract(rows, labels)


def baseline_hdbscan(rows: list[dict[str, Any]], min_cluster_size: int = 3) -> dict[str, Any]:
    from sklearn.cluster import HDBSCAN

    from storylens.embed import Embedder

    v = cached("ecb-use-fulltext", lambda: Embedder().encode([f"{r.get('title') or ''}\n{r['text']}" for r in rows]))
    labels = HDBSCAN(min_cluster_size=min_cluster_size).fit_predict(np.asarray(v))
    labels = np.array([lab if lab >= 0 else 100000 + i for i, lab in enumerate(labels)])
    return _contract(rows, labels)


def _contract(rows: list[dict[str, Any]], labels: Any) -> dict[str, Any]:
    groups: dict[int, list[str]] = {}
    for r, lab in zip(rows, labels, strict=True):
        groups.setdefault(int(lab), []).append(r["id"])
    return {"stories": [{"id": f"c{k}", "articles": v} for k, v in groups.items()], "narratives": []}


_MAXD: Any = None


def evaluate(sc: Any, pred: dict[str, Any], topics: set[str] | None) -> dict[str, float]:
    """BCubed F1 over the documents of ``topics`` (None: all) and the within-topic macro BCubed F1."""
    gold, topic = sc.load_gold("ecbplus-dev")
    ids = [i for i in gold if topics is None or topic[i] in topics]
    assign, _ = sc.pred_assignment(pred, set(gold))
    allm = sc.cluster_metrics({i: assign[i] for i in ids}, {i: gold[i] for i in ids})
    per = []
    for t in sorted({topic[i] for i in ids}, key=int):
        tid = [i for i in ids if topic[i] == t]
        per.append(sc.cluster_metrics({i: assign[i] for i in tid}, {i: gold[i] for i in tid})["bcubed_f1"])
    return {"b3_f1": round(allm["bcubed_f1"], 4), "b3_p": round(allm["bcubed_p"], 4),
            "b3_r": round(allm["bcubed_r"], 4), "within_topic_b3_f1": round(sum(per) / len(per), 4),
            "pred_clusters": allm["n_pred_clusters"]}


GRID = {  # around the defaults (the batch scores; join_threshold also sets the verify pass for pairs)
    "w_names": [0.4, 0.8, 1.2],
    "batch_threshold": [0.55, 0.6, 0.65],
    "batch_verify_max_group": [2, 200],
}


def main() -> None:
    global _MAXD
    import datetime as dt

    from storylens.settings import StorySettings

    _MAXD = dt.date.max
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true", help="grid-search StorySettings on the odd topics")
    ap.add_argument("--out", type=Path, default=HIDDEN, help="where the stories-*.json predictions go")
    a = ap.parse_args()
    sc = scorer()
    rows = [json.loads(line) for line in JSONL.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold, topic = sc.load_gold("ecbplus-dev")
    odd = {t for t in set(topic.values()) if int(t) % 2 == 1}
    even = set(topic.values()) - odd
    t0 = time.perf_counter()
    arts, vecs, rejected = ours_inputs()
    print(f"prepared+embedded {len(arts)} docs in {time.perf_counter() - t0:.1f}s "
          f"({rejected} rejected by prepare with the shared furniture model; re-prepared alone)", flush=True)
    settings = StorySettings()
    if a.tune:
        best: tuple[float, dict[str, Any]] | None = None
        for combo in itertools.product(*GRID.values()):
            kw = dict(zip(GRID, combo, strict=True))
            s = dataclasses.replace(StorySettings(), **kw)
            r = evaluate(sc, run_batch(arts, vecs, s), odd)
            obj = (r["b3_f1"] + r["within_topic_b3_f1"]) / 2
            print(json.dumps({**kw, **r}), flush=True)
            if best is None or obj > best[0]:
                best = (obj, kw)
        assert best is not None
        print("best on odd topics:", best, flush=True)
        settings = dataclasses.replace(StorySettings(), **best[1])
    systems: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("storylens streaming (StoryAssigner)", lambda: run_streaming(arts, vecs, settings)),
        ("storylens batch (recluster)", lambda: run_batch(arts, vecs, settings)),
        ("TF-IDF + agglomerative (cos, avg, 0.83)", lambda: baseline_tfidf(rows)),
        ("USE + HDBSCAN (min_cluster_size 3)", lambda: baseline_hdbscan(rows)),
    ]
    print("\n| system | split | BCubed F1 | P | R | within-topic BCubed F1 | clusters |\n|---|---|---|---|---|---|---|")
    a.out.mkdir(parents=True, exist_ok=True)
    for name, fn in systems:
        t = time.perf_counter()
        pred = fn()
        secs = time.perf_counter() - t
        slug = name.split(" (")[0].replace(" ", "-").replace("+", "").lower()
        (a.out / f"stories-{slug}.json").write_text(json.dumps(pred), encoding="utf-8")
        for split, tops in (("odd topics (tuning)", odd), ("even topics (held out)", even), ("all 35 topics", None)):
            r = evaluate(sc, pred, tops)
            print(f"| {name} | {split} | {r['b3_f1']:.3f} | {r['b3_p']:.3f} | {r['b3_r']:.3f} | "
                  f"{r['within_topic_b3_f1']:.3f} | {r['pred_clusters']} |", flush=True)
        print(f"<!-- {name}: {secs:.1f}s; prediction {a.out / f'stories-{slug}.json'} -->", flush=True)


if __name__ == "__main__":
    main()
