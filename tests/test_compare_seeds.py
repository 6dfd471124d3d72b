"""Compare stage on the five seed articles, through the real stages: read_inputs → prepare → analyze → compare.

Asserts the quote groups of gold.json with their mutations, the coverage of Zakharova's reply (TASS only) and the
China remarks (Sputnik only), the cited summary of the 2021 story and the self-contained reports.
Depends on: storylens.ingest, storylens.clean.prepare, storylens.nlp.analyze (quotes with speakers, sentences).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from storylens.compare import compare_story, group_quotes, render_report
from storylens.model import Article, QuoteGroup, QuoteVariant, Story, StoryComparison
from storylens.settings import Settings


@pytest.fixture(scope="module")
def seed_articles(seed_files: list[Path]) -> dict[str, Article]:
    from storylens.pipeline import analyze_items

    articles = list(analyze_items([str(p) for p in seed_files], Settings()))
    return {Path(a.source).name[:3]: a for a in articles}


@pytest.fixture(scope="module")
def story_2021(seed_articles: dict[str, Article]) -> tuple[StoryComparison, list[Article]]:
    arts = [seed_articles[k] for k in ("000", "001", "002")]
    story = Story("s2021", "Stoltenberg on Russia ahead of Geneva", [a.id for a in arts])
    return compare_story(story, arts, Settings().compare), arts


def _norm(s: str) -> str:
    return re.sub(r"[^\w]+", " ", s.lower()).strip()


def _variant(groups: list[QuoteGroup], prefix: str, words: str,
             within_article: bool = False) -> tuple[QuoteGroup, QuoteVariant]:
    """The group holding the variant of article ``prefix`` with ``words``: carried by more than one article, or
    (``within_article``) repeated inside one article."""
    for g in groups:
        carriers = len(g.variants) if within_article else len({v.article_id for v in g.variants})
        if carriers < 2:
            continue
        for v in g.variants:
            if Path(v.article_id).name.startswith(prefix) and _norm(words) in _norm(v.text):
                return g, v
    raise AssertionError(f"no shared quote group with {prefix}: {words!r}: "
                         f"{[(g.canonical[:50], [v.article_id[-30:] for v in g.variants]) for g in groups]}")


def _of(g: QuoteGroup, prefix: str, words: str) -> QuoteVariant:
    return next(v for v in g.variants if Path(v.article_id).name.startswith(prefix) and _norm(words) in _norm(v.text))


def test_gold_quote_groups_and_mutations(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    """gold.json's groups, with changes against the first report (Sputnik, 7 June; TASS carried them on 8 June)."""
    groups = story_2021[0].quote_groups
    # discussed-russia: TASS has 'also' where Sputnik has '…', and ': we need' for 'meaning'
    g, v002 = _variant(groups, "002", "also discussed Russia")
    assert g.first_outlet == "Sputnik" and _of(g, "001", "discussed Russia").mutations == ["identical"]
    assert "words_changed" in v002.mutations
    assert {(c.from_, c.to) for c in v002.changes} >= {("meaning", "we need")}
    # start-extension: START III / New START agreement, 'I welcomed' / 'I welcome', '(Stoltenberg and Biden – TASS)'
    g, v002 = _variant(groups, "002", "New START agreement")
    assert _of(g, "001", "extension of START III").mutations == ["identical"]
    assert {"name_changed", "tense_changed", "words_inserted"} <= set(v002.mutations), v002.details
    assert any(c.kind == "words_inserted" and c.to == "(Stoltenberg and Biden – TASS)" for c in v002.changes)
    assert any(c.kind == "name_changed" and c.from_ == "START III" and "New START agreement" in c.to
               for c in v002.changes)
    # strong-united: TASS extends Sputnik's sentence ('partly to strive for a better relationship')
    g, v002 = _variant(groups, "002", "partly to strive for a better relationship")
    assert "extended" in v002.mutations and g.first_outlet == "Sputnik"
    assert any(c.kind == "extended" and c.to == "partly to strive for a better relationship" for c in v002.changes)
    # manage-difficult: one group, small wording differences
    g, v002 = _variant(groups, "002", "manage a difficult relationship")
    assert _of(g, "001", "manage [the] difficult relationship")
    assert "words_changed" in v002.mutations and "cut" not in v002.mutations
    # not-weakness: Sputnik and TASS, first carried by Sputnik (7 June), TASS verbatim
    g, v002 = _variant(groups, "002", "Dialogue with Russia is not a sign of weakness")
    assert g.first_outlet == "Sputnik" and v002.mutations == ["identical"]
    for g in groups:
        assert g.id.startswith("s2021:")
        assert g.statement in {v.text for v in g.variants}


def test_statements_are_the_unit(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    """TASS's long quote holds two statements Sputnik carried apart: it takes part in each group with that
    statement's span, and one statement never forms two groups."""
    comparison, arts = story_2021
    tass = next(a for a in arts if Path(a.id).name.startswith("002"))
    long_quote = next(q for q in tass.quotes if "not a sign of weakness. We are strong" in q.text)
    pieces = [(g, v) for g in comparison.quote_groups for v in g.variants
              if v.article_id == tass.id and long_quote.start <= (v.start or -1) < long_quote.end]
    assert len(pieces) == 2 and len({g.id for g, _ in pieces}) == 2
    spans = sorted((v.start, v.end) for _, v in pieces)
    assert spans[0][1] <= spans[1][0]  # disjoint
    assert [tass.text[s:e] for s, e in spans][0] == "Dialogue with Russia is not a sign of weakness."
    for _, v in pieces:
        assert v.text == tass.text[v.start:v.end]
    weakness = [g for g in comparison.quote_groups if any("not a sign of weakness" in v.text for v in g.variants)
                and len({v.article_id for v in g.variants}) > 1]
    assert len(weakness) == 1


def test_no_quote_pairs_with_itself_and_no_narrative_groups(seed_articles: dict[str, Article]) -> None:
    groups = group_quotes(list(seed_articles.values()))
    for g in groups:
        vs = g.variants
        for i, a in enumerate(vs):
            for b in vs[i + 1:]:
                if a.article_id == b.article_id:
                    assert a.end <= b.start or b.end <= a.start, (a.text, b.text)  # type: ignore[operator]
        # narrative sentences are not quotes: "It was announced earlier Monday that ... Blinken will accompany"
        assert not any("Blinken will accompany" in v.text for v in vs)
    # Sputnik's partial quote "deterrence and dialogue" is not grouped with its own sentence
    assert not any(len(g.variants) > 1 and any(v.text == "deterrence and dialogue" for v in g.variants)
                   for g in groups)


def test_quotes_are_shown_as_carried(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    """Terminal, Markdown and HTML show the carried text with its punctuation, changes marked over it."""
    import io

    from rich.console import Console

    from storylens.compare import render_terminal

    comparison, arts = story_2021
    buf = io.StringIO()
    render_terminal(comparison, arts, Console(file=buf, width=200, force_terminal=False))
    term = buf.getvalue()
    carried = "We are strong, we are united, and then we can talk to Russia, {+and+} we need to talk to Russia"
    assert carried in term
    assert "Dialogue with Russia is not a sign of weakness We are strong" not in term
    md = render_report(comparison, arts, "md")
    assert "we can talk to Russia, **and** we need to talk to Russia **partly to strive for a better relationship**" in md
    html = render_report(comparison, arts, "html")
    assert "all <del>of</del> these issues are important," in html
    assert "I <del>welcomed</del> <ins>welcome</ins> the extension of" in html


def test_coverage_exclusive_facts(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    cov = story_2021[0].coverage
    facts = {f.id: f for f in cov.facts}
    zakharova = [f for f in cov.facts if any("Zakharova" in m.sentence for m in f.mentions)]
    assert zakharova and all(f.outlets == ["TASS"] for f in zakharova)
    assert any(f.id in cov.exclusive["TASS"] for f in zakharova)
    china = [f for f in cov.facts if any("China" in m.sentence for m in f.mentions)]
    assert china and all(f.outlets == ["Sputnik"] for f in china)
    assert any(facts[i] in china for i in cov.exclusive["Sputnik"])
    assert len(cov.matrix) == len(cov.outlets) and all(len(r) == len(cov.facts) for r in cov.matrix)


def test_summary_cites_two_outlets_for_not_weakness(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    comparison, arts = story_2021
    outlet = {a.id: a.outlet for a in arts}
    assert comparison.summary and all(s.citations for s in comparison.summary)
    hits = [s for s in comparison.summary if "sign of weakness" in s.text.lower()]
    assert hits, [s.text for s in comparison.summary]
    assert any(len({outlet[c] for c in s.citations if outlet[c]}) >= 2 for s in hits)


def test_timeline_and_framing(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    comparison, _ = story_2021
    days = {e.date.isoformat() for e in comparison.timeline}
    assert {"2021-06-07", "2021-06-08"} <= days
    assert all(e.articles for e in comparison.timeline)
    verbs = {s.value for s in comparison.framing if s.kind == "attribution_verb"}
    assert {"argued", "repeated"} <= verbs, verbs
    assert {s.article_id for s in comparison.framing if s.kind == "quote_share"} == set(comparison.articles)


def test_relative_dates_conflicts_and_whole_sentences(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    """Sputnik is of 7 June (its weekday date was corrected by TASS's report of 8 June): its "on Monday" events are
    7 June, no date conflict with 000 (of 14 June) is claimed, and facts are whole sentences, never a quote's tail."""
    comparison, arts = story_2021
    sputnik = next(a for a in arts if Path(a.id).name.startswith("001"))
    assert sputnik.published.value is not None and sputnik.published.value.isoformat() == "2021-06-07"
    monday = [e for e in comparison.timeline if e.kind == "event" and sputnik.id in e.articles
              and "Monday" in (e.evidence or "")]
    assert monday and {e.date.isoformat() for e in monday} == {"2021-06-07"}
    assert not [c for c in comparison.coverage.conflicts if c.kind == "date"], comparison.coverage.conflicts
    for c in comparison.coverage.conflicts:
        assert all(c.evidence.get(o) for o in c.values)
    facts = {f.id: f for f in comparison.coverage.facts}
    only_sputnik = [facts[i].text for i in comparison.coverage.exclusive.get("Sputnik", [])]
    assert only_sputnik and not any(t.startswith('We need to talk to Russia," he added') for t in only_sputnik)
    # the fact holds the whole sentence (the quote with its attribution), never the tail after the quote marks
    assert any(t.startswith('"We are strong, we are united') and 'he added.' in t
               for f in comparison.coverage.facts for t in [m.sentence for m in f.mentions])


def test_reports_are_self_contained(story_2021: tuple[StoryComparison, list[Article]]) -> None:
    comparison, arts = story_2021
    html = render_report(comparison, arts, "html")
    assert "<svg" in html and "<del>" in html and "<ins>" in html
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"https?:", html)
    assert "Stoltenberg and Biden – TASS" in html
    md = render_report(comparison, arts, "md")
    assert "## Summary" in md and "[1]" in md
    data = json.loads(render_report(comparison, arts, "json"))
    assert data["comparison"]["story_id"] == "s2021"


def test_2018_repeated_quote_and_stories_kept_apart(seed_articles: dict[str, Article], gold: dict[str, Any]) -> None:
    groups = group_quotes(list(seed_articles.values()))
    g, short = _variant(groups, "003", "Russia is our neighbour", within_article=True)
    assert {Path(v.article_id).name[:3] for v in g.variants} == {"003"}
    longest = max(g.variants, key=lambda v: len(v.text))
    # the first report is the article's fullest version: the lead's excerpt is a cut of it
    assert g.statement == longest.text and "cut" in short.mutations
    # the 2018 quotes (the 'better relationship' partial among them) never join a 2021 quote in one group
    gold_year = {g["file"][:3]: int(g["published"][:4]) for g in gold["articles"]}
    year = {a.id: gold_year[k] for k, a in seed_articles.items()}
    assert sorted(set(year.values())) == [2018, 2021], year
    partial = [g for g in groups if any(v.text == "better relationship" for v in g.variants)]
    assert len(partial) == 1 and {year[v.article_id] for v in partial[0].variants} == {2018}
    for g in groups:
        assert len({year[v.article_id] for v in g.variants}) == 1, [(v.article_id, v.text) for v in g.variants]
