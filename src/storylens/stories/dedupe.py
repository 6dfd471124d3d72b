"""Duplicate detection: exact (normalised content hash) and near-duplicate (datasketch MinHash LSH over word
shingles).  A copy is linked to its original (``duplicate_of``), never dropped; the index can be rebuilt from
stored signatures."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

import numpy as np
from datasketch import MinHash, MinHashLSH

from storylens.model import Article
from storylens.settings import DedupeSettings

DuplicateKind = Literal["exact", "near"]
_WORD = re.compile(r"\w+")
SCHEME = "affine32"  # datasketch >= 2 asks for the hashing scheme of stored signatures


def _new_minhash(num_perm: int, hashvalues: np.ndarray | None = None) -> MinHash:
    try:
        return MinHash(num_perm=num_perm, hashvalues=hashvalues, scheme=SCHEME,  # type: ignore[call-arg,unused-ignore]
                       permutations=_permutations(num_perm))
    except TypeError:  # datasketch < 2: no schemes
        return MinHash(num_perm=num_perm, hashvalues=hashvalues)


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> np.ndarray:
    """The permutation parameters of every MinHash of ``num_perm`` (datasketch draws the same ones from its fixed
    seed for each new MinHash, which cost most of the time of reading back a store's signatures)."""
    return np.asarray(MinHash(num_perm=num_perm, scheme=SCHEME).permutations)  # type: ignore[call-arg,unused-ignore]


def shingles(text: str, k: int) -> set[bytes]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(words) < k:
        return {" ".join(words).encode("utf-8")} if words else {b""}
    return {" ".join(words[i: i + k]).encode("utf-8") for i in range(len(words) - k + 1)}


@lru_cache(maxsize=8)
def _lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's optimal (bands, rows) for a threshold: a numerical integration costing ~11 ms, computed once
    per process (the Spark runner makes a Deduper per duplicate component)."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


class Deduper:
    """``check_and_add(article)`` -> (id of the original, "exact" | "near") or (None, None) for an original,
    which is then indexed.  Re-checking an indexed id is a no-op that returns (None, None)."""

    def __init__(self, settings: DedupeSettings | None = None) -> None:
        self.settings = settings or DedupeSettings()
        self._lsh = MinHashLSH(threshold=self.settings.threshold, num_perm=self.settings.num_perm,
                               params=_lsh_params(self.settings.threshold, self.settings.num_perm))
        self._by_hash: dict[str, str] = {}
        self._sigs: dict[str, MinHash] = {}
        self._order: dict[str, int] = {}

    def minhash(self, article: Article) -> MinHash:
        m = _new_minhash(self.settings.num_perm)
        m.update_batch(list(shingles(article.text, self.settings.shingle)))
        return m

    def signature(self, article: Article) -> bytes:
        """The MinHash of an article as bytes (to store; :meth:`from_signatures` reads them back)."""
        cached = self._sigs.get(article.id)
        m = cached if cached is not None else self.minhash(article)
        return np.asarray(m.hashvalues, dtype=np.uint64).tobytes()

    def _from_bytes(self, data: bytes) -> MinHash:
        values = np.frombuffer(data, dtype=np.uint64)
        if len(values) != self.settings.num_perm:
            raise ValueError(f"signature has {len(values)} permutations, settings say {self.settings.num_perm}")
        return _new_minhash(self.settings.num_perm, values.copy())

    def _index(self, aid: str, chash: str, m: MinHash) -> None:
        if aid in self._order:
            return
        self._order[aid] = len(self._order)
        if chash:
            self._by_hash.setdefault(chash, aid)
        self._sigs[aid] = m
        self._lsh.insert(aid, m)

    def check_and_add(self, article: Article) -> tuple[str | None, DuplicateKind | None]:
        if article.id in self._order:
            return None, None
        orig = self._by_hash.get(article.content_hash) if article.content_hash else None
        if orig is not None and orig != article.id:
            return orig, "exact"
        m = self.minhash(article)
        best: tuple[float, int, str] | None = None
        for cand in self._lsh.query(m):
            cid = str(cand)
            if cid == article.id:
                continue
            j = m.jaccard(self._sigs[cid])
            if j >= self.settings.threshold:
                key = (-j, self._order[cid], cid)
                if best is None or key < best:
                    best = key
        if best is not None:
            return best[2], "near"
        self._index(article.id, article.content_hash, m)
        return None, None

    @classmethod
    def from_signatures(cls, rows: Iterable[tuple[str, str, bytes | None]],
                        settings: DedupeSettings | None = None) -> Deduper:
        """Rebuild the index from stored (id, content_hash, minhash bytes) of originals, in stored order."""
        d = cls(settings)
        for aid, chash, sig in rows:
            if sig is None:
                d._by_hash.setdefault(chash, aid)
                continue
            try:
                m = d._from_bytes(sig)
            except ValueError:
                d._by_hash.setdefault(chash, aid)
                continue
            d._index(aid, chash, m)
        return d

    def __len__(self) -> int:
        return len(self._order)
