"""Sentence vectors for the compare stage: the embed stage's encoder by default, memoised by text."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

Embed = Callable[[list[str]], np.ndarray]

_default_lock = threading.Lock()
_default_model: Any = None


def default_embed(texts: list[str]) -> np.ndarray:
    """Multilingual sentence vectors of the embed stage (:class:`storylens.embed.Embedder`), L2-normalised; the
    model loads once per process, on first use."""
    global _default_model
    with _default_lock:
        if _default_model is None:
            from storylens.embed import Embedder

            _default_model = Embedder()
        model = _default_model
    vecs = np.asarray(model.encode(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.asarray(vecs / norms, dtype=np.float32)


class CachedEmbed:
    """Memoises an embedding function by text (a story is compared again each time it changes)."""

    def __init__(self, embed: Embed | None, max_items: int = 50_000) -> None:
        self.embed = embed
        self.cache: dict[str, np.ndarray] = {}
        self.max_items = max_items

    def seed(self, known: Mapping[str, np.ndarray]) -> None:
        """Vectors already computed for these texts (the embed stage's stored sentence vectors)."""
        if len(self.cache) + len(known) > self.max_items:
            self.cache.clear()
        for t, v in known.items():
            if t not in self.cache:
                n = float(np.linalg.norm(v))
                self.cache[t] = np.asarray(v / n if n > 0 else v, dtype=np.float32)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            fn = self.embed or default_embed
            vecs = np.asarray(fn(todo), dtype=np.float32)
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            vecs = vecs / norms
            if len(self.cache) + len(todo) > self.max_items:
                self.cache.clear()
            for t, v in zip(todo, vecs, strict=True):
                self.cache[t] = v
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self.cache[t] for t in texts])
