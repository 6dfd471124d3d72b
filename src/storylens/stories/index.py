"""Candidate retrieval: which articles are worth scoring against a new one.

Two exact indexes over the same set of :class:`~storylens.stories.signals.ArticleSignals`, with insertion and
removal: the nearest document vectors (a dense matrix, brute force: exact and deterministic, which the two runners
rely on to agree article for article) and the largest tf-idf overlap of terms and names (an inverted index over
each article's heaviest keys).  Reports of one event can look alike to the embedding but not share a name (and
local reports of one kind of event share every word but the names), so both are asked.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from storylens.embed import DIM
from storylens.stories.signals import ArticleSignals

KEYS_PER_ARTICLE = 24  # heaviest terms and names of an article that enter the inverted index
QUERY_KEYS = 24  # heaviest keys of a query that are looked up
MAX_POSTING = 4000  # keys carried by more articles than this are background: not looked up


def _keys(s: ArticleSignals, n: int) -> list[tuple[str, float]]:
    bag = [("t" + k, v) for k, v in s.terms.items()] + [("n" + k, v) for k, v in s.names.items()]
    bag.sort(key=lambda kv: (-kv[1], kv[0]))
    return bag[:n]


LOOKUP_NAMES = 8  # an article's heaviest names that find closed stories
LOOKUP_TERMS = 4  # and its heaviest terms


def lookup_keys(s: ArticleSignals) -> list[str]:
    """The keys that find a closed story for an article: its heaviest names and terms (prefixed "n", "t")."""
    names = sorted(s.names.items(), key=lambda kv: (-kv[1], kv[0]))[:LOOKUP_NAMES]
    terms = sorted(s.terms.items(), key=lambda kv: (-kv[1], kv[0]))[:LOOKUP_TERMS]
    return ["n" + k for k, _ in names] + ["t" + k for k, _ in terms]


class CandidateIndex:
    """Exact nearest neighbours by document vector and by tf-idf key overlap, with removal."""

    def __init__(self) -> None:
        self._vecs = np.zeros((64, DIM), dtype=np.float32)
        self._ids: list[str | None] = []
        self._slot: dict[str, int] = {}
        self._free: list[int] = []
        self._live = np.zeros(64, dtype=bool)  # slots holding an article
        self._postings: dict[str, dict[str, float]] = {}
        self._keys: dict[str, list[tuple[str, float]]] = {}

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._slot

    def add(self, s: ArticleSignals) -> None:
        if s.id in self._slot:
            self.remove(s.id)
        if self._free:
            i = self._free.pop()
            self._ids[i] = s.id
        else:
            i = len(self._ids)
            self._ids.append(s.id)
            if i >= len(self._vecs):
                grown = np.zeros((2 * len(self._vecs), DIM), dtype=np.float32)
                grown[: len(self._vecs)] = self._vecs
                self._vecs = grown
                self._live = np.concatenate([self._live, np.zeros(len(self._live), dtype=bool)])
        self._vecs[i] = s.doc
        self._live[i] = True
        self._slot[s.id] = i
        norm = (s.terms_norm ** 2 + s.names_norm ** 2) ** 0.5 or 1.0
        keys = [(k, v / norm) for k, v in _keys(s, KEYS_PER_ARTICLE)]
        self._keys[s.id] = keys
        for k, v in keys:
            self._postings.setdefault(k, {})[s.id] = v

    def remove(self, article_id: str) -> None:
        i = self._slot.pop(article_id, None)
        if i is None:
            return
        self._ids[i] = None
        self._vecs[i] = 0.0
        self._live[i] = False
        self._free.append(i)
        for k, _ in self._keys.pop(article_id, []):
            post = self._postings.get(k)
            if post is not None:
                post.pop(article_id, None)
                if not post:
                    del self._postings[k]

    def ids(self) -> Iterable[str]:
        return self._slot.keys()

    def nearest(self, s: ArticleSignals, k: int) -> list[str]:
        """Up to ``k`` articles by document vector and up to ``k`` by key overlap (the article itself excluded),
        in a deterministic order."""
        out: dict[str, None] = {}
        n = len(self._ids)
        if n and k > 0:
            sims = self._vecs[:n] @ s.doc
            sims[~self._live[:n]] = -np.inf
            own = self._slot.get(s.id)
            if own is not None:
                sims[own] = -np.inf
            top = min(k, n)
            part = np.argpartition(-sims, top - 1)[:top] if top < n else np.arange(n)
            for i in sorted(part.tolist(), key=lambda i: (-float(sims[i]), self._ids[i] or "")):
                if np.isfinite(sims[i]):
                    out[self._ids[i] or ""] = None
        acc: dict[str, float] = {}
        norm = (s.terms_norm ** 2 + s.names_norm ** 2) ** 0.5 or 1.0
        for key, w in _keys(s, QUERY_KEYS):
            post = self._postings.get(key)
            if not post or len(post) > MAX_POSTING:
                continue
            for aid, v in post.items():
                if aid != s.id:
                    acc[aid] = acc.get(aid, 0.0) + v * w / norm
        for aid in sorted(acc, key=lambda a: (-acc[a], a))[:k]:
            out[aid] = None
        return list(out)
