"""Compare stage on the example corpus (examples/corpus, truth in examples/truth.json), through the whole pipeline:
Corpus.ingest (read → clean → analyze → embed → stories) → Corpus.compare / compare_narrative / report.

Depends on: every ingest stage incl. storylens.nlp.analyze (quotes, speakers), storylens.embed, storylens.stories.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storylens.model import QuoteGroup, StoryComparison

TRUTH = Path(__file__).resolve().parents[1] / "examples" / "truth.json"


def short(article_id: str) -> str:
    return article_id.rsplit("/", 1)[-1].split("#")[0] if "#" not in article_id else article_id


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> Any:
    from storylens.corpus import Corpus

    c = Corpus(f"sqlite:///{tmp_path_factory.mktemp('cmp') / 'ex.db'}")
    report = c.ingest([str(examples_dir)])
    assert not report.rejected, report.rejected
    return c


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads(TRUTH.read_text(encoding="utf-8"))


def _story_of(corpus: Any, article: str) -> str:
    for s in corpus.stories():
        if any(a.rsplit("/", 1)[-1] == article for a in s.articles):
            return str(s.id)
    raise AssertionError(f"{article} is in no story")


@pytest.fixture(scope="module")
def story_a(corpus: Any) -> StoryComparison:
    comparison = corpus.compare(_story_of(corpus, "a01_harbor_wire"))
    assert comparison is not None
    return comparison  # type: ignore[no-any-return]


def _group_with(groups: list[QuoteGroup], article: str, words: str) -> QuoteGroup:
    for g in groups:
        for v in g.variants:
            if v.article_id.rsplit("/", 1)[-1] == article and words.lower() in v.text.lower():
                return g
    raise AssertionError(f"no group with {article}: {words}")


def _mut(g: QuoteGroup, article: str) -> set[str]:
    return {m for v in g.variants if v.article_id.rsplit("/", 1)[-1] == article for m in v.mutations}


def test_marsh_announcement_spread(story_a: StoryComparison) -> None:
    g = _group_with(story_a.quote_groups, "a01_harbor_wire", "largest investment in this port")
    arts = {v.article_id.rsplit("/", 1)[-1] for v in g.variants}
    assert {"a01_harbor_wire", "a03_meridian_post.txt", "a04_northgate_daily.html", "a05_baltic_ledger.txt"} <= arts
    # first report: the wire's story of 11:40, not Meridian Post's of 18:05 the same day nor the aggregator's copy
    assert g.first_outlet == "Harbor Wire" and g.first_article == "a01_harbor_wire", g.first_article
    assert _mut(g, "a01_harbor_wire") == {"identical"} and _mut(g, "a02_aggregator.txt") == {"identical"}
    assert "words_inserted" in _mut(g, "a05_baltic_ledger.txt")
    assert "cut" in _mut(g, "a03_meridian_post.txt")
    assert "a06_vestnik_severa.txt" in arts and "translated" in _mut(g, "a06_vestnik_severa.txt")


def test_coverage_conflict_exclusive_omitted(story_a: StoryComparison) -> None:
    cov = story_a.coverage
    assert any(c.kind == "number" and "Northgate Daily" in c.values for c in cov.conflicts), cov.conflicts
    facts = {f.id: f for f in cov.facts}
    assert any("17 March" in facts[i].text for i in cov.exclusive.get("Baltic Ledger", [])), cov.exclusive
    omitted = [facts[i].text for i in cov.omitted.get("Meridian Post", [])]
    # the eagle warning is the alliance's: Meridian Post carries neither
    assert any("white-tailed eagle" in t and "Green Harbour Alliance" in t for t in omitted), omitted


def test_summary_and_timeline(story_a: StoryComparison) -> None:
    assert 1 <= len(story_a.summary) <= 6 and all(s.citations for s in story_a.summary)
    assert any(len(s.citations) >= 3 for s in story_a.summary)
    dates = {e.date.isoformat() for e in story_a.timeline if e.kind == "event"}
    assert "2025-03-03" in dates and "2025-03-04" in dates


def test_narrative_report(corpus: Any) -> None:
    narrative = next(n for n in corpus.narratives() if _story_of(corpus, "a01_harbor_wire") in n.stories)
    nc = corpus.compare_narrative(narrative.id)
    assert [s.first_seen for s in nc.stories] == sorted(s.first_seen for s in nc.stories)
    html = corpus.report(narrative.id, "html")
    assert "<svg" in html and "https://" not in html.split("<main>")[0]


def test_compare_reuses_the_stored_sentence_vectors(corpus: Any) -> None:
    """A cold compare encodes quotes, never a sentence whose vector the embed stage stored, and compares alike."""
    from storylens.compare import compare_story
    from storylens.embed import known_vectors

    story = corpus.store.story(_story_of(corpus, "a01_harbor_wire"))
    arts = corpus.store.articles(story.articles)
    vectors = corpus._vectors(story.articles)
    known = known_vectors(arts, vectors)
    assert len({a.language for a in arts}) > 1 and len(known) >= 20  # a bilingual story: sentences are embedded
    encoded: list[str] = []

    def recording(texts: list[str]) -> Any:
        encoded.extend(texts)
        return corpus.runner.c.embedder.encode(texts)

    reused = compare_story(story, arts, corpus.settings.compare, recording, vectors)
    assert encoded and not set(encoded) & set(known)
    fresh = compare_story(story, arts, corpus.settings.compare, lambda t: corpus.runner.c.embedder.encode(t))
    assert [(g.id, [v.quote_id for v in g.variants]) for g in reused.quote_groups] == \
        [(g.id, [v.quote_id for v in g.variants]) for g in fresh.quote_groups]
    assert [[(m.article_id, m.start) for m in f.mentions] for f in reused.coverage.facts] == \
        [[(m.article_id, m.start) for m in f.mentions] for f in fresh.coverage.facts]
