"""English and Russian reports of three stories of one week (tests/fixtures/crosslingual): each Russian article
joins the English articles of its story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storylens.settings import StorySettings
from storylens.stories import MemoryBackend, StoryStream, assignment_order, link_narratives, recluster
from test_stories_support import prepared, vectors

FIXTURE = Path(__file__).parent / "fixtures" / "crosslingual" / "articles.jsonl"


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Any], dict[str, Any]]:
    arts = prepared([FIXTURE])
    return arts, dict(zip([a.id for a in arts], vectors(arts), strict=True))


def _truth(arts: list[Any]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for a in arts:
        groups.setdefault(a.id.split("-")[0], set()).add(a.id)
    return {frozenset(g) for g in groups.values()}


def test_fixture_is_bilingual(corpus: Any) -> None:
    arts, _ = corpus
    langs = [a.language for a in arts]
    assert len(arts) >= 12 and langs.count("ru") >= 6 and langs.count("en") >= 6


def test_streaming_groups_languages_together(corpus: Any) -> None:
    arts, vecs = corpus
    stream = StoryStream(StorySettings(), MemoryBackend())
    for a in assignment_order(arts):
        stream.add(a, vecs[a.id])
    stories = stream.stories()
    assert {frozenset(s.articles) for s in stories} == _truth(arts)
    assert all(len(s.outlets) >= 2 for s in stories)
    assert link_narratives(stream.all_states()) == []  # three unrelated stories


def test_batch_groups_languages_together(corpus: Any) -> None:
    arts, vecs = corpus
    stories = recluster(arts, [vecs[a.id] for a in arts], StorySettings())
    assert {frozenset(s.articles) for s in stories} == _truth(arts)


def test_late_article_is_placed_by_its_content(corpus: Any) -> None:
    """The first quake report (11 March) arrives after every later article: it joins the quake story."""
    arts, vecs = corpus
    order = assignment_order(arts)
    late = next(a for a in order if a.id == "quake-en-1")
    stream = StoryStream(StorySettings(), MemoryBackend())
    for a in order:
        if a is not late:
            stream.add(a, vecs[a.id])
    sid = stream.add(late, vecs[late.id])
    assert sid == stream.story_of("quake-en-2") == stream.story_of("quake-ru-1")
