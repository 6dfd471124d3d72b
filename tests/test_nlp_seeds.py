"""Acceptance on the five seed articles through the real stages (read -> clean.prepare -> nlp.analyze ->
EntityResolver): every gold quote found with its kind and speaker, no quote given to the wrong person, every
gold alias resolved to its entity and no two gold entities merged."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from storylens.clean import prepare
from storylens.ingest import read_inputs
from storylens.model import Article, Entity, Quote, RawDocument
from storylens.nlp import EntityResolver, analyze
from storylens.nlp.marks import normalise_quotes
from storylens.settings import Settings


def norm(s: str) -> str:
    return re.sub(r"[\s.,;:!?\u2026]+$", "", normalise_quotes(s))


@pytest.fixture(scope="module")
def analyzed(seed_files: list[Path]) -> tuple[dict[str, Article], list[Entity]]:
    s = Settings()
    arts = []
    for r in read_inputs(seed_files, s.ingest):
        assert isinstance(r, RawDocument), r
        arts.append(prepare(r, s))
    analyze(arts, s.nlp)
    resolver = EntityResolver()
    resolver.resolve(arts)
    return {Path(a.source).name: a for a in arts}, resolver.entities()


def _forms(q: Quote) -> list[str]:
    """What one predicted quote may be matched as: its whole text, and each of its segments (a quote that its
    attribution interrupts is one quote with segments, PolNeAR's convention; gold may list its parts)."""
    return [q.text] + [g.text for g in q.segments]


def _match(gold_text: str, quotes: list[Quote]) -> Quote | None:
    g = norm(gold_text)
    for q in quotes:
        if any(norm(f) == g for f in _forms(q)):
            return q
    for q in quotes:  # gold's 'about': a gold quote lying whole inside a longer direct quote
        for f in _forms(q):
            t = norm(f)
            i = t.find(g)
            if q.kind == "direct" and i >= 0 and (i == 0 or re.match(r"[.!?]\s", t[i - 2:i])) \
                    and re.match(r"[.!?,]?(\s|$)", t[i + len(g):i + len(g) + 2] or " "):
                return q
    return None


def test_every_gold_quote_found_with_kind_and_speaker(analyzed: Any, gold: dict[str, Any]) -> None:
    arts, _ = analyzed
    assert len(gold["quotes"]) == 33
    problems = []
    for gq in gold["quotes"]:
        a = arts[gq["article"]]
        q = _match(gq["text"], [q for q in a.quotes if q.kind != "indirect" or gq["kind"] == "indirect"])
        if q is None:
            problems.append(("missing", gq["article"], gq["text"][:60]))
            continue
        if q.kind != gq["kind"]:
            problems.append(("kind", gq["text"][:60], q.kind, gq["kind"]))
        if q.speaker is None or q.speaker.name != gq["speaker"]:
            problems.append(("speaker", gq["text"][:60], q.speaker and q.speaker.name, gq["speaker"]))
        # offsets index Article.text; a quote with segments spans them all
        assert a.text[q.start:q.end].startswith(q.text[:20]) or all(
            q.start <= g.start < g.end <= q.end and a.text[g.start:g.end] == g.text for g in q.segments)
    assert not problems, problems


def test_no_quote_attributed_to_the_wrong_person(analyzed: Any, gold: dict[str, Any]) -> None:
    arts, _ = analyzed
    people = set(gold["entities"])
    for gq in gold["quotes"]:
        a = arts[gq["article"]]
        g = normalise_quotes(gq["text"])[:40]
        for q in a.quotes:
            if g in normalise_quotes(q.text) and q.speaker is not None and q.speaker.name is not None:
                assert q.speaker.name == gq["speaker"], (gq["text"][:50], q.speaker)
    for a in arts.values():
        for q in a.quotes:
            if q.speaker is not None and q.speaker.name is not None:
                assert q.speaker.name in people, (a.id, q.text[:50], q.speaker)


def test_every_gold_alias_resolved_to_its_entity(analyzed: Any, gold: dict[str, Any]) -> None:
    _, entities = analyzed
    holders: dict[str, set[str]] = {}
    for e in entities:
        for alias in e.aliases:
            holders.setdefault(alias.casefold(), set()).add(e.id)
    missing = []
    for canonical, aliases in gold["entities"].items():
        home = holders.get(canonical.casefold()) or holders.get(aliases[0].casefold())
        assert home and len(home) == 1, (canonical, home)
        for alias in aliases:
            if holders.get(alias.casefold()) != home:
                missing.append((canonical, alias, holders.get(alias.casefold())))
    assert not missing, missing
    # wrong merges: no two gold entities share one store entity
    homes = [next(iter(holders.get(c.casefold()) or holders[a[0].casefold()])) for c, a in gold["entities"].items()]
    assert len(set(homes)) == len(homes)


def test_merges_carry_evidence(analyzed: Any) -> None:
    _, entities = analyzed
    stol = next(e for e in entities if e.name == "Jens Stoltenberg")
    assert len(stol.evidence) == len(stol.aliases) - 1
    assert any("the NATO chief" in ev for ev in stol.evidence)
