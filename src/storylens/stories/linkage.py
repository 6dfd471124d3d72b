"""Average linkage over a sparse graph of pairwise probabilities, completed on demand.

Clusters are merged greedily, the pair of clusters with the highest average pairwise probability first, while that
average is at least ``threshold``.  Only candidate pairs are scored up front; before two clusters merge, the pairs
between them that were never scored are scored (``complete``), so the average that decides is over every pair of
members (over up to ``cap`` members of each side, spread over the cluster, when clusters are large).  This is the
same test the streaming assigner applies to an article and a story.  Deterministic: ties go to the smaller ids.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

T = TypeVar("T")
Complete = Callable[[Sequence[tuple[int, int]]], Sequence[float]]


def spread(members: Sequence[T], cap: int) -> list[T]:
    """At most ``cap`` members, evenly spread over the (sorted) list."""
    if len(members) <= cap:
        return list(members)
    step = len(members) / cap
    return [members[int(k * step)] for k in range(cap)]


def average_linkage(n: int, edges: Mapping[tuple[int, int], float], threshold: float,
                    complete: Complete | None = None, cap: int = 24,
                    initial: Sequence[Sequence[int]] = (), dates: Sequence[dt.date | None] | None = None,
                    max_gap_days: int | None = None) -> list[int]:
    """Cluster label of each of ``n`` items linked by ``edges`` ({(i, j): probability}).  A label is the smallest
    item index of its cluster.  Without ``complete``, pairs never scored count as probability 0.  ``initial``:
    groups of items that start as one cluster (stories already formed); they are never split.  With ``dates`` and
    ``max_gap_days``, two clusters whose dated items lie more than ``max_gap_days`` apart (the last date of one
    before the first of the other) never merge: a stream would have closed the earlier one by then."""
    known: dict[tuple[int, int], float] = {}
    for (i, j), p in edges.items():
        if i != j:
            key = (i, j) if i < j else (j, i)
            known[key] = max(known.get(key, 0.0), float(p))
    members: list[list[int]] = [[i] for i in range(n)]
    # each cluster's span of dates (None: no dated item), for the gap rule
    day = list(dates) if dates is not None and max_gap_days is not None else [None] * n
    span: list[tuple[dt.date, dt.date] | None] = [(d, d) if d is not None else None for d in day]
    parent = list(range(n))
    version = [0] * n
    for group in initial:
        g = sorted(group)
        for x in g[1:]:
            parent[x] = g[0]
            members[x] = []
        if g:
            members[g[0]] = g
            span[g[0]] = _union(*(span[x] for x in g))
    # adj[a][b] = (sum, count) of the known probabilities between the members of clusters a and b
    adj: list[dict[int, list[float]]] = [{} for _ in range(n)]
    for (i, j), p in known.items():
        a, b = parent[i], parent[j]
        if a == b:
            continue
        cur = adj[a].get(b)
        if cur is None:
            adj[a][b] = adj[b][a] = [p, 1.0]
        else:
            cur[0] += p
            cur[1] += 1.0

    def exact(a: int, b: int) -> float:
        sa, sb = spread(members[a], cap), spread(members[b], cap)
        pairs = [(i, j) if i < j else (j, i) for i in sa for j in sb]
        if complete is not None:
            missing = [p for p in pairs if p not in known]
            if missing:
                for p, v in zip(missing, complete(missing), strict=True):
                    known[p] = float(v)
        return sum(known.get(p, 0.0) for p in pairs) / len(pairs)

    heap = [(-s[0] / s[1], i, j, 0, 0, False) for i in range(n) for j, s in adj[i].items()
            if i < j and s[0] / s[1] >= threshold]
    heapq.heapify(heap)
    while heap:
        neg, a, b, va, vb, checked = heapq.heappop(heap)
        if parent[a] != a or parent[b] != b or version[a] != va or version[b] != vb:
            continue  # stale: one side has merged since
        if max_gap_days is not None and _apart(span[a], span[b], max_gap_days):
            continue
        if not checked:
            value = exact(a, b)
            if value < threshold:
                continue
            if heap and value < -heap[0][0]:
                heapq.heappush(heap, (-value, a, b, va, vb, True))  # another pair may now come first
                continue
        parent[b] = a  # a < b: the smaller id stays
        members[a] = sorted(members[a] + members[b])
        members[b] = []
        span[a] = _union(span[a], span[b])
        version[a] += 1
        adj[a].pop(b, None)
        for x, (s, c) in adj[b].items():
            if x == a:
                continue
            cur = adj[a].get(x)
            merged = [s + cur[0], c + cur[1]] if cur else [s, c]
            adj[a][x] = merged
            del adj[x][b]
            adj[x][a] = merged
        adj[b] = {}
        for x, (s, c) in adj[a].items():
            estimate = s / c  # the mean of the pairs known so far; exact() decides before a merge
            if estimate >= threshold:
                lo, hi = (a, x) if a < x else (x, a)
                heapq.heappush(heap, (-estimate, lo, hi, version[lo], version[hi], False))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    return [root(i) for i in range(n)]


def _union(*spans: tuple[dt.date, dt.date] | None) -> tuple[dt.date, dt.date] | None:
    known = [x for x in spans if x is not None]
    if not known:
        return None
    return min(x[0] for x in known), max(x[1] for x in known)


def _apart(a: tuple[dt.date, dt.date] | None, b: tuple[dt.date, dt.date] | None, days: int) -> bool:
    if a is None or b is None:
        return False
    return max((b[0] - a[1]).days, (a[0] - b[1]).days) > days
