"""The packages of ``src/storylens`` import each other without cycles (every import counts, also those inside
functions), so each helper has one home below the stages that use it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "storylens"


def _unit(module: str) -> str:
    """``storylens.compare.facts`` -> ``compare``; ``storylens`` -> ``storylens``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for f in SRC.rglob("*.py"):
        me = _unit(".".join(f.relative_to(SRC.parent).with_suffix("").parts))
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                if name.split(".")[0] == "storylens" and _unit(name) != me:
                    graph.setdefault(me, set()).add(_unit(name))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import cycle, each as the path that closes it."""
    found: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest member
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_import_cycles_between_packages() -> None:
    graph = imports()
    assert graph["compare"] and graph["nlp"]  # the walk sees the imports
    assert cycles(graph) == []


def test_stages_import_only_what_lies_below_them() -> None:
    graph = imports()
    assert "compare" not in graph["nlp"]  # names across scripts: storylens.text.translit
    assert "ingest" not in graph["clean"]  # main-text extraction: storylens.clean.extract
    assert graph["text"] <= {"model"}
    assert graph.get("model", set()) <= {"settings"}  # the records lie at the bottom
