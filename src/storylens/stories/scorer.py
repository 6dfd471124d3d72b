"""The same-story scorer: the probability that two articles report the same event.

One scorer decides everywhere: streaming assignment (:mod:`storylens.stories.stream`), batch re-clustering
(:mod:`storylens.stories.recluster`), ``storylens similarity`` and both runners.  It maps the pair features of
:func:`storylens.stories.signals.pair_features` through a small ensemble of boosted decision trees to a
probability.  The trees are data, not code: ``scorer_model.json`` next to this module, written by
``benchmarks/fit_scorer.py`` from the dev halves of ``../shared`` (fitted on one half of each set, reported on the
other); ``StorySettings.scorer_model`` may point at another file.

The probability that an article belongs to a story is the mean of its pairwise probabilities with the story's
members (at most ``StorySettings.story_members`` of them, the most similar): average linkage, so one close
member cannot pull an article into a story it otherwise does not fit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from storylens.stories.signals import FEATURES, ArticleSignals, pair_features

DEFAULT_MODEL = Path(__file__).with_name("scorer_model.json")
MODEL_VERSION = 1


@dataclass(frozen=True, slots=True)
class TreeModel:
    """Boosted regression trees over :data:`FEATURES`, flattened into node arrays (all trees side by side).

    ``logit(x) = base + sum over trees of the value of the leaf that x reaches``; at a split node ``x[feature] <=
    threshold`` goes left.  ``roots[t]`` is the first node of tree ``t``; a leaf points at itself."""

    features: tuple[str, ...]
    base: float
    roots: np.ndarray  # (T,) int
    feature: np.ndarray  # (N,) int; -1 at leaves
    threshold: np.ndarray  # (N,) float
    left: np.ndarray  # (N,) int
    right: np.ndarray  # (N,) int
    value: np.ndarray  # (N,) float (leaf values; 0 at split nodes)
    depth: int
    meta: dict[str, object]

    def logit(self, x: np.ndarray) -> np.ndarray:
        """Raw scores of the rows of ``x`` (n, len(features))."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        n = x.shape[0]
        idx = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        for _ in range(self.depth):
            f = self.feature[idx]
            leaf = f < 0
            go_left = x[rows, np.where(leaf, 0, f)] <= self.threshold[idx]
            idx = np.where(leaf, idx, np.where(go_left, self.left[idx], self.right[idx]))
        return self.base + self.value[idx].sum(axis=1)

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = np.clip(self.logit(x), -35.0, 35.0)
        return 1.0 / (1.0 + np.exp(-z))

    # ---- (de)serialisation ---------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({
            "version": MODEL_VERSION, "features": list(self.features), "base": self.base,
            "roots": self.roots.tolist(), "feature": self.feature.tolist(),
            "threshold": [float(t) for t in self.threshold], "left": self.left.tolist(),
            "right": self.right.tolist(), "value": [round(float(v), 6) for v in self.value], "depth": self.depth,
            "meta": self.meta}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TreeModel:
        d = json.loads(text)
        if d.get("version") != MODEL_VERSION:
            raise ValueError(f"scorer model version {d.get('version')} is not {MODEL_VERSION}")
        feats = tuple(d["features"])
        unknown = [f for f in feats if f not in FEATURES]
        if unknown:
            raise ValueError(f"scorer model uses features this version does not compute: {unknown}")
        # the model may use the features in any order: map its indices onto FEATURES
        where = np.array([FEATURES.index(f) for f in feats] + [-1])
        feature = np.asarray(d["feature"], dtype=np.int64)
        return cls(features=FEATURES, base=float(d["base"]), roots=np.asarray(d["roots"], dtype=np.int64),
                   feature=where[feature], threshold=np.asarray(d["threshold"], dtype=np.float64),
                   left=np.asarray(d["left"], dtype=np.int64), right=np.asarray(d["right"], dtype=np.int64),
                   value=np.asarray(d["value"], dtype=np.float64), depth=int(d["depth"]), meta=dict(d.get("meta", {})))

    @classmethod
    def from_sklearn(cls, model: object, features: tuple[str, ...] = FEATURES,
                     meta: dict[str, object] | None = None) -> TreeModel:
        """From a fitted ``sklearn.ensemble.HistGradientBoostingClassifier`` (binary)."""
        predictors = model._predictors  # type: ignore[attr-defined]  # noqa: SLF001 - the fitted trees
        base = float(np.ravel(model._baseline_prediction)[0])  # type: ignore[attr-defined]  # noqa: SLF001
        roots: list[int] = []
        feat: list[int] = []
        thr: list[float] = []
        left: list[int] = []
        right: list[int] = []
        val: list[float] = []
        depth = 0
        for (tree,) in predictors:
            nodes = tree.nodes
            off = len(feat)
            roots.append(off)
            for i, nd in enumerate(nodes):
                if nd["is_leaf"]:
                    feat.append(-1)
                    thr.append(0.0)
                    left.append(off + i)
                    right.append(off + i)
                    val.append(float(nd["value"]))
                else:
                    feat.append(int(nd["feature_idx"]))
                    thr.append(float(nd["num_threshold"]))
                    left.append(off + int(nd["left"]))
                    right.append(off + int(nd["right"]))
                    val.append(0.0)
                depth = max(depth, int(nd["depth"]))
        return cls(features=tuple(features), base=base, roots=np.asarray(roots), feature=np.asarray(feat),
                   threshold=np.asarray(thr), left=np.asarray(left), right=np.asarray(right), value=np.asarray(val),
                   depth=depth, meta=dict(meta or {}))


@lru_cache(maxsize=8)
def load_model(path: str | None = None) -> TreeModel:
    p = Path(path) if path else DEFAULT_MODEL
    try:
        return TreeModel.from_json(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"same-story scorer model {p} is missing (benchmarks/fit_scorer.py writes it)") from None


class SameStoryScorer:
    """Pair features -> the calibrated probability that two articles report the same event."""

    def __init__(self, model_path: str | None = None, window_days: int = 7) -> None:
        self.model = load_model(model_path)
        self.window_days = window_days

    def features(self, a: ArticleSignals, b: ArticleSignals) -> np.ndarray:
        return pair_features(a, b, self.window_days)

    def probability(self, a: ArticleSignals, b: ArticleSignals) -> float:
        return float(self.model.probability(self.features(a, b))[0])

    def probabilities(self, a: ArticleSignals, others: list[ArticleSignals]) -> np.ndarray:
        """The probability of ``a`` with each of ``others`` (one batched tree pass)."""
        if not others:
            return np.zeros(0)
        x = np.stack([pair_features(a, b, self.window_days) for b in others])
        return self.model.probability(x)

    def matrix(self, items: list[ArticleSignals], pairs: list[tuple[int, int]]) -> np.ndarray:
        """Probabilities of the given index pairs of ``items``."""
        if not pairs:
            return np.zeros(0)
        x = np.stack([pair_features(items[i], items[j], self.window_days) for i, j in pairs])
        return self.model.probability(x)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))
