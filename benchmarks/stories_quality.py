"""Story grouping on every dev set of ``../shared``, side by side with the two baselines, on each half.

    python ../shared/eval/to_jsonl.py                                  # once
    .venv/bin/python benchmarks/stories_quality.py                     # all sets, batch and streaming
    .venv/bin/python benchmarks/stories_quality.py --sets neus-dev --systems batch,tfidf

Systems: ``batch`` = :func:`storylens.stories.recluster.recluster` (what ``storylens cluster`` runs);
``stream`` = :class:`storylens.stories.stream.StoryStream` fed in the local runner's order (what ``storylens
ingest`` does); ``tfidf`` = TF-IDF + agglomerative (cosine, average linkage, 0.83), ``hdbscan`` = USE + HDBSCAN
(min cluster 3), as in ``../shared/eval/README.md``.  Halves as in ``fit_scorer.py``: the scorer was fitted on
"fit", "report" is held out; "all" clusters every article at once.  Scores: ``../shared/eval/score_clusters.py``
(BCubed; for WMT also the share of documents whose two articles share a story).  SemEval-8 pairs are scored with
``../shared/eval/score_pairs.py`` semantics (Pearson vs -overall, ROC-AUC of same story).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _storydata as sd  # noqa: E402
from fit_scorer import half_of  # noqa: E402
from storylens.settings import StorySettings  # noqa: E402

SETS = ("neus-dev", "neus-stream-dev", "gunviolence-dev", "wmt-ruen-dev", "ecbplus-dev")


def contract(groups: list[list[str]]) -> dict[str, Any]:
    return {"stories": [{"id": f"s{i}", "articles": g} for i, g in enumerate(groups)], "narratives": []}


def with_duplicates(groups: list[list[str]], dups: dict[str, str]) -> list[list[str]]:
    where = {a: i for i, g in enumerate(groups) for a in g}
    out = [list(g) for g in groups]
    for d, o in dups.items():
        if o in where:
            out[where[o]].append(d)
        else:
            out.append([d])
    return out


def run_batch(arts: list[Any], vecs: dict[str, Any], st: StorySettings) -> list[list[str]]:
    from storylens.stories.recluster import recluster

    return [s.articles for s in recluster(arts, [vecs[a.id] for a in arts], st)]


def run_stream(arts: list[Any], vecs: dict[str, Any], st: StorySettings) -> list[list[str]]:
    from storylens.stories.stream import ASSIGNMENT_BATCH, MemoryBackend, StoryStream, assignment_order

    stream = StoryStream(st, MemoryBackend())
    order = assignment_order(arts)
    for k in range(0, len(order), ASSIGNMENT_BATCH):  # as the local runner: one batch at a time
        stream.add_many([(a, vecs[a.id]) for a in order[k:k + ASSIGNMENT_BATCH]])
    return [s.articles for s in stream.stories()]


def run_tfidf(rows: list[dict[str, Any]], threshold: float = 0.83) -> list[list[str]]:
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(
        [f"{r.get('title') or ''}\n{r.get('text') or ''}" for r in rows]).toarray()
    labels = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                     distance_threshold=threshold).fit_predict(x)
    return _groups(rows, labels)


def run_hdbscan(rows: list[dict[str, Any]], min_cluster_size: int = 3) -> list[list[str]]:
    from sklearn.cluster import HDBSCAN

    from storylens.embed import Embedder

    v = Embedder().encode([f"{r.get('title') or ''}\n{r.get('text') or ''}" for r in rows])
    labels = HDBSCAN(min_cluster_size=min_cluster_size).fit_predict(np.asarray(v))
    labels = np.array([lab if lab >= 0 else 10_000_000 + i for i, lab in enumerate(labels)])
    return _groups(rows, labels)


def _groups(rows: list[dict[str, Any]], labels: Any) -> list[list[str]]:
    g: dict[int, list[str]] = {}
    for r, lab in zip(rows, labels, strict=True):
        g.setdefault(int(lab), []).append(r["id"])
    return list(g.values())


def score(name: str, groups: list[list[str]], ids: set[str]) -> dict[str, float]:
    sc = sd.module("score_clusters")
    gold = {k: v for k, v in sd.gold(name).items() if k in ids}
    assign, _ = sc.pred_assignment(contract(groups), set(gold))
    m = sc.cluster_metrics(assign, gold)
    out = {"f1": m["bcubed_f1"], "p": m["bcubed_p"], "r": m["bcubed_r"], "k": m["n_pred_clusters"],
           "k_gold": len(set(gold.values()))}
    if name.startswith("wmt-ruen"):
        docs: dict[str, list[str]] = {}
        for a, s in gold.items():
            docs.setdefault(s, []).append(a)
        joined = [len(v) == 2 and assign[v[0]] == assign[v[1]] for v in docs.values()]
        out["joined"] = sum(joined) / max(1, len(joined))
    if name == "ecbplus-dev":
        _, topic = sc.load_gold("ecbplus-dev")
        per = []
        for t in sorted({topic[i] for i in gold}):
            tid = [i for i in gold if topic[i] == t]
            per.append(sc.cluster_metrics({i: assign[i] for i in tid}, {i: gold[i] for i in tid})["bcubed_f1"])
        out["within"] = float(np.mean(per))
    return out


def semeval(st: StorySettings) -> dict[str, dict[str, float]]:
    from fit_scorer import auc, semeval_pairs
    from storylens.stories.scorer import SameStoryScorer

    d = semeval_pairs(st)
    tm = SameStoryScorer(st.scorer_model, st.window_days).model
    p = tm.probability(d["X"])
    out = {}
    for split in ("fit", "report", "all"):
        m = np.ones(len(p), bool) if split == "all" else d["half"] == split
        ov = d["overall"][m]
        out[split] = {"pearson": float(np.corrcoef(p[m], -ov)[0, 1]), "auc": auc(ov <= 2.0, p[m]),
                      "pearson_use": float(np.corrcoef(d["X"][m][:, 0], -ov)[0, 1]),
                      "auc_use": auc(ov <= 2.0, d["X"][m][:, 0])}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--systems", default="batch,stream,tfidf,hdbscan")
    ap.add_argument("--splits", default="report,fit,all")
    ap.add_argument("--semeval", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override a StorySettings field, e.g. --set link_threshold=0.4")
    args = ap.parse_args()
    st = StorySettings()
    for kv in args.set:
        k, v = kv.split("=", 1)
        setattr(st, k, type(getattr(st, k))(v) if getattr(st, k) is not None else v)
    results: list[dict[str, Any]] = []
    print("| dev set | split | system | BCubed F1 | P | R | stories (gold) | extra | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        d = sd.load(name)
        gold = sd.gold(name)
        topic = sd.module("score_clusters").load_gold("ecbplus-dev")[1] if name == "ecbplus-dev" else None
        for split in args.splits.split(","):
            keep = {a for a in gold if split == "all" or half_of(name, gold[a], topic, a) == split}
            arts = [a for a in d.articles if a.id in keep]
            originals = [a for a in arts if a.duplicate_of is None]
            dups = {a.id: a.duplicate_of for a in arts if a.duplicate_of}
            rows = [r for r in d.rows if r["id"] in keep]
            for system in args.systems.split(","):
                t = time.perf_counter()
                if system == "batch":
                    groups = with_duplicates(run_batch(originals, d.vectors, st), dups)
                elif system == "stream":
                    groups = with_duplicates(run_stream(originals, d.vectors, st), dups)
                elif system == "tfidf":
                    groups = run_tfidf(rows)
                elif system == "hdbscan":
                    groups = run_hdbscan(rows)
                else:
                    raise SystemExit(f"unknown system {system!r}")
                secs = time.perf_counter() - t
                r = score(name, groups, keep)
                extra = (f"joined {r['joined']:.3f}" if "joined" in r else
                         f"within-topic {r['within']:.3f}" if "within" in r else "")
                print(f"| {name} | {split} | {system} | {r['f1']:.3f} | {r['p']:.3f} | {r['r']:.3f} | "
                      f"{r['k']} ({r['k_gold']}) | {extra} | {secs:.0f} |", flush=True)
                results.append({"set": name, "split": split, "system": system, **r, "seconds": round(secs, 1)})
    if args.semeval:
        s = semeval(st)
        print("\n| SemEval-8 dev pairs | split | Pearson | ROC-AUC same story |\n|---|---|---|---|")
        for split, r in s.items():
            print(f"| same-story scorer | {split} | {r['pearson']:.3f} | {r['auc']:.3f} |")
            print(f"| USE cosine | {split} | {r['pearson_use']:.3f} | {r['auc_use']:.3f} |")
        results.append({"set": "semeval8-dev", **s})
    print(json.dumps({"date": dt.date.today().isoformat(), "results": results}))


if __name__ == "__main__":
    main()
