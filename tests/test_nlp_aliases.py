"""Aliases of named laws and treaties: by name form, by acronym, and by the same statement in two articles."""

from __future__ import annotations

from storylens.model import Article
from storylens.nlp import EntityResolver, analyze
from storylens.nlp.aliases import name_key
from storylens.settings import NlpSettings


def test_name_key_forms_of_one_name() -> None:
    assert name_key("СНВ-3", "LAW") == name_key("снв 3", "LAW") == name_key("СНВ3", "LAW")
    assert name_key("New START agreement", "LAW") == name_key("New START", "LAW")
    # the 1991 treaty and the 2010 one are two names, not one: no table merges them
    assert name_key("START treaty", "LAW") != name_key("New START", "LAW")
    assert name_key("START III", "LAW") != name_key("New START", "LAW")


def _arts(*texts: str) -> list[Article]:
    arts = [Article(id=f"a{i}", source=f"a{i}", text=t, language="en") for i, t in enumerate(texts)]
    analyze(arts, NlpSettings())
    return arts


def _law_ids(a: Article, name: str) -> set[str | None]:
    return {m.entity_id for m in a.entities if m.label == "LAW" and m.text == name}


def test_same_statement_in_two_articles_ties_two_treaty_names() -> None:
    a, b, c = _arts(
        "Minister Karl Brandt spoke in Oslo.\n\u201cI welcomed the extension of the INF III treaty,\u201d Brandt said.",
        "Minister Karl Brandt spoke in Oslo on Monday.\n\u201cI welcome the extension of the New INF agreement. "
        "It keeps the peace,\u201d Brandt said.",
        "Senator Lisa Moore spoke in Ottawa.\n\u201cI oppose the extension of the Old INF accord,\u201d Moore said.")
    r = EntityResolver()
    r.resolve([a, b, c])
    ab = _law_ids(a, "INF III treaty") | _law_ids(b, "New INF agreement")
    assert len(ab) == 1 and None not in ab
    e = next(x for x in r.entities() if x.id in ab)
    assert any("same statement of Karl Brandt" in ev for ev in e.evidence)
    # another speaker's statement about another treaty stays apart
    assert not (_law_ids(c, "Old INF accord") & ab)


def test_long_name_and_acronym_in_one_article() -> None:
    (a,) = _arts("The Treaty on Open Skies and Clear Seas (OSCS) was signed. Officials praised the OSCS treaty.")
    r = EntityResolver()
    r.resolve([a])
    e = next(x for x in r.entities() if "OSCS" in x.aliases)
    assert any(al.startswith("Treaty on Open Skies") for al in e.aliases) and e.evidence
