"""Connected components of a graph given by its edges (scipy's ``connected_components``), the one union-find of the
package: statements grouped by their relations, names unified across two texts, near-duplicate candidates."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

import numpy as np

N = TypeVar("N", bound=Hashable)


def components(n: int, edges: Iterable[tuple[int, int]]) -> list[int]:
    """The component of each of the nodes ``0 .. n-1``, labelled by its smallest node."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n <= 0:
        return []
    pairs = np.asarray(list(edges), dtype=np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= n):
        raise ValueError(f"an edge names a node outside 0..{n - 1}")
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    first: dict[int, int] = {}
    for i, lab in enumerate(labels.tolist()):
        first.setdefault(lab, i)
    return [first[lab] for lab in labels.tolist()]


def components_of(edges: Iterable[tuple[N, N]]) -> dict[N, N]:
    """``{node: the smallest node of its component}`` over the nodes of ``edges`` (nodes must be orderable)."""
    pairs = list(edges)
    nodes = sorted({x for e in pairs for x in e})  # type: ignore[type-var]
    index = {x: i for i, x in enumerate(nodes)}
    labels = components(len(nodes), ((index[a], index[b]) for a, b in pairs))
    return {x: nodes[labels[i]] for i, x in enumerate(nodes)}
