"""The package's one union-find: connected components labelled by their smallest node."""

from __future__ import annotations

import pytest

from storylens.graph import components, components_of


def test_components_are_labelled_by_their_smallest_node() -> None:
    assert components(6, [(4, 1), (1, 3), (5, 5)]) == [0, 1, 2, 1, 1, 5]
    assert components(3, []) == [0, 1, 2]
    assert components(0, []) == []


def test_an_edge_outside_the_nodes_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        components(2, [(0, 2)])


def test_components_of_named_nodes() -> None:
    assert components_of([("b", "c"), ("d", "c"), ("y", "x")]) == {"b": "b", "c": "b", "d": "b", "x": "x", "y": "x"}
    assert components_of([]) == {}
