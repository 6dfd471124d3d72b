"""Fit the same-story scorer on one half of each dev set; report on the other half.

    python ../shared/eval/to_jsonl.py                   # once
    .venv/bin/python benchmarks/fit_scorer.py           # fits, prints held-out figures, writes the model
    .venv/bin/python benchmarks/fit_scorer.py --dry-run # fits and prints, writes nothing

Pairs come from what the scorer meets at run time: for each article, its candidates in the whole set
(``CandidateIndex.nearest``: nearest by embedding and by tf-idf overlap), plus every gold pair of one story (the hard
positives a retrieval may miss); SemEval-2022 Task 8 contributes its labelled pairs (same story = overall <= 2).
Halves: ECB+ by topic (odd topics fit, even report); the others by ``sha1(gold story)``
(SemEval: ``sha1(pair id)``), second bit: the dev halves of ``../shared`` were themselves cut on the first bit.
Every set weighs the same in the fit.  The model (boosted trees, monotone in the features where more evidence can
only mean more or less likely) is written to ``src/storylens/stories/scorer_model.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _storydata as sd  # noqa: E402
from storylens.settings import StorySettings  # noqa: E402
from storylens.stories.recluster import batch_signals, context_pairs  # noqa: E402
from storylens.stories.scorer import DEFAULT_MODEL, TreeModel  # noqa: E402
from storylens.stories.signals import FEATURES, pair_features  # noqa: E402

CLUSTER_SETS = ("ecbplus-dev", "neus-dev", "neus-stream-dev", "gunviolence-dev", "wmt-ruen-dev", "wmt-ruen-halves-dev")
# +1: more of it can only make "same story" more likely; -1: less likely; 0: free
MONOTONE = {
    "emb_doc": 1, "emb_title": 1, "emb_lead": 1, "emb_sent": 1, "lex": 1, "lex_rel": 1, "emb_rel": 1, "names": 1, "people": 1, "places": 1,
    "place_clash": -1, "numbers": 1, "quotes": 1, "gap": -1, "day_match": 1, "day_clash": -1, "year_clash": -1,
}
WEIGHT = {"neus-dev": 0.5, "neus-stream-dev": 0.5}  # the same articles, with and without dates
SMALL_WEIGHT = 0.5  # the small-input variant of a set weighs this much beside the set itself


def _bit(key: str) -> int:
    return (int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) >> 1) % 2


def half_of(name: str, story: str, topic: dict[str, str] | None = None, article: str | None = None) -> str:
    """"fit" or "report"."""
    if name == "ecbplus-dev" and topic is not None and article is not None:
        return "fit" if int(topic[article]) % 2 == 1 else "report"
    return "fit" if _bit(story) == 1 else "report"


def cluster_pairs(name: str, settings: StorySettings) -> dict[str, Any]:
    """Each half on its own, as ``stories_quality.py`` clusters it: its candidate pairs plus every gold pair."""
    d = sd.load(name)
    gold = sd.gold(name)
    topic = None
    if name == "ecbplus-dev":
        _, topic = sd.module("score_clusters").load_gold("ecbplus-dev")
    rows, labels, halves = [], [], []
    for half in ("fit", "report"):
        arts = [a for a in d.articles if a.duplicate_of is None and a.id in gold
                and half_of(name, gold[a.id], topic, a.id) == half]
        sigs = batch_signals(arts, [d.vectors[a.id] for a in arts], settings)
        pairs = set(context_pairs(sigs, settings.candidates))
        members: dict[str, list[int]] = {}
        for i, s in enumerate(sigs):
            members.setdefault(gold[s.id], []).append(i)
        for mem in members.values():
            for x in range(len(mem)):
                for y in range(x + 1, len(mem)):
                    pairs.add((mem[x], mem[y]))
        for i, j in sorted(pairs):
            rows.append(pair_features(sigs[i], sigs[j], settings.window_days))
            labels.append(float(gold[sigs[i].id] == gold[sigs[j].id]))
            halves.append(half)
    return {"X": np.array(rows), "y": np.array(labels), "half": np.array(halves)}


def mini_pairs(name: str, settings: StorySettings, n: int = 150, seed: int = 0) -> dict[str, Any]:
    """Small inputs, as a user's few pasted articles or a small ``storylens cluster`` run: ``n`` mini-corpora per
    half, each a random gold story with its nearest stories (same theme, other events) and a few random ones,
    5-40 articles, clustered on their own (their own background, their own context).  Every pair is used."""
    import random

    d = sd.load(name)
    gold = sd.gold(name)
    topic = None
    if name == "ecbplus-dev":
        _, topic = sd.module("score_clusters").load_gold("ecbplus-dev")
    rng = random.Random(seed)
    rows, labels, halves = [], [], []
    for half in ("fit", "report"):
        arts = [a for a in d.articles if a.duplicate_of is None and a.id in gold
                and half_of(name, gold[a.id], topic, a.id) == half]
        by_story: dict[str, list[Any]] = {}
        for a in arts:
            by_story.setdefault(gold[a.id], []).append(a)
        keys = sorted(by_story)
        cents = np.stack([np.mean([d.vectors[a.id].doc for a in by_story[k]], axis=0) for k in keys])
        cents /= np.linalg.norm(cents, axis=1, keepdims=True)
        for _ in range(n):
            i = rng.randrange(len(keys))
            near = np.argsort(-(cents @ cents[i]))[1:1 + rng.randint(1, 5)]
            chosen = [i, *near.tolist(), *(rng.randrange(len(keys)) for _ in range(rng.randint(0, 3)))]
            members: list[Any] = []
            for k in dict.fromkeys(chosen):
                members.extend(by_story[keys[k]][:8])
            members = members[:40]
            if len(members) < 3:
                continue
            sigs = batch_signals(members, [d.vectors[a.id] for a in members], settings)
            context_pairs(sigs, settings.candidates)
            for x in range(len(sigs)):
                for y in range(x + 1, len(sigs)):
                    rows.append(pair_features(sigs[x], sigs[y], settings.window_days))
                    labels.append(float(gold[sigs[x].id] == gold[sigs[y].id]))
                    halves.append(half)
    return {"X": np.array(rows), "y": np.array(labels), "half": np.array(halves)}


def semeval_pairs(settings: StorySettings) -> dict[str, Any]:
    d = sd.load("semeval8-dev")
    by_id = {a.id: a for a in d.articles}
    # a duplicate within the set is scored through its original (as the runners do)
    orig = [a for a in d.articles if a.duplicate_of is None]
    ordered = batch_signals(orig, [d.vectors[a.id] for a in orig], settings)
    context_pairs(ordered, settings.candidates)  # the other articles of the file are the context
    sigs = {s.id: s for s in ordered}
    rows, labels, overall, halves, ids, langs = [], [], [], [], [], []
    for p in sd.semeval_pairs():
        a, b = (by_id[x["id"]] for x in (p["a"], p["b"]))
        sa, sb = sigs[a.duplicate_of or a.id], sigs[b.duplicate_of or b.id]
        rows.append(pair_features(sa, sb, settings.window_days))
        labels.append(float(p["overall"] <= 2.0))
        overall.append(float(p["overall"]))
        halves.append("fit" if _bit(p["id"]) == 1 else "report")
        ids.append(p["id"])
        langs.append(p["lang"])
    return {"X": np.array(rows), "y": np.array(labels), "half": np.array(halves), "overall": np.array(overall),
            "ids": ids, "lang": langs}


def auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: how far the stated probabilities are from the observed rates."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (p >= lo) & ((p < hi) | (hi == 1.0))
        if m.any():
            total += m.sum() * abs(float(p[m].mean()) - float(y[m].mean()))
    return total / max(1, len(y))


def fit(data: dict[str, dict[str, Any]], seed: int = 0, leaves: int = 15, trees: int = 300) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    xs, ys, ws = [], [], []
    for name, d in data.items():
        m = d["half"] == "fit"
        if not m.any():
            continue
        xs.append(d["X"][m])
        ys.append(d["y"][m])
        weight = SMALL_WEIGHT if name.endswith("(small inputs)") else WEIGHT.get(name, 1.0)
        ws.append(np.full(int(m.sum()), weight / m.sum()))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    w = w * len(y) / w.sum()
    model = HistGradientBoostingClassifier(
        max_iter=trees, learning_rate=0.05, max_leaf_nodes=leaves, min_samples_leaf=40, l2_regularization=1.0,
        monotonic_cst=[MONOTONE.get(f, 0) for f in FEATURES], early_stopping=True, validation_fraction=0.15,
        n_iter_no_change=20, random_state=seed)
    model.fit(x, y, sample_weight=w)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="fit and report, but do not write the model")
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--leaves", type=int, default=15, help="leaves per tree")
    ap.add_argument("--trees", type=int, default=300, help="most trees (early stopping may use fewer)")
    ap.add_argument("--sets", default=",".join((*CLUSTER_SETS, "semeval8-dev")), help="dev sets to fit on")
    args = ap.parse_args()
    st = StorySettings()
    t0 = time.perf_counter()
    names = args.sets.split(",")
    data = {name: cluster_pairs(name, st) for name in names if name != "semeval8-dev"}
    for name in [x for x in names if x in CLUSTER_SETS and x != "neus-stream-dev"]:
        data[f"{name} (small inputs)"] = mini_pairs(name, st)
    if "semeval8-dev" in names:
        data["semeval8-dev"] = semeval_pairs(st)
    print(f"pairs built in {time.perf_counter() - t0:.0f}s: "
          + ", ".join(f"{k} {len(v['y'])} ({int(v['y'].sum())} same)" for k, v in data.items()), flush=True)
    model = fit(data, leaves=args.leaves, trees=args.trees)
    tm = TreeModel.from_sklearn(model)
    report: dict[str, Any] = {}
    print("\n| dev set (held-out half) | pairs | same story | ROC-AUC scorer | ROC-AUC USE cosine | calibration error |")
    print("|---|---|---|---|---|---|")
    for name, d in data.items():
        m = d["half"] == "report"
        x, y = d["X"][m], d["y"][m]
        p = tm.probability(x)
        r = {"pairs": int(m.sum()), "auc": round(auc(y, p), 4), "auc_use": round(auc(y, x[:, 0]), 4),
             "ece": round(ece(y, p), 4)}
        if name == "semeval8-dev":
            ov = d["overall"][m]
            r["pearson"] = round(float(np.corrcoef(p, -ov)[0, 1]), 4)
            r["pearson_use"] = round(float(np.corrcoef(x[:, 0], -ov)[0, 1]), 4)
        report[name] = r
        print(f"| {name} | {r['pairs']} | {int(y.sum())} | {r['auc']:.3f} | {r['auc_use']:.3f} | {r['ece']:.3f} |")
    if "pearson" in report.get("semeval8-dev", {}):
        s = report["semeval8-dev"]
        print(f"\nSemEval-8 held-out half: Pearson {s['pearson']:.3f} (USE cosine {s['pearson_use']:.3f})")
    meta = {"fitted": dt.date.today().isoformat(), "sets": list(data), "halves": "fit half of each set (see "
            "benchmarks/fit_scorer.py)", "trees": len(tm.roots), "held_out": report}
    tm = TreeModel(**{**{f: getattr(tm, f) for f in TreeModel.__dataclass_fields__}, "meta": meta})
    if not args.dry_run:
        args.out.write_text(tm.to_json() + "\n", encoding="utf-8")
        print(f"\nwrote {args.out} ({len(tm.roots)} trees)")
    print(json.dumps({"held_out": report}))


if __name__ == "__main__":
    main()
