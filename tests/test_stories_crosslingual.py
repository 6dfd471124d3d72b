"""English and Russian reports of three stories of one week (tests/fixtures/crosslingual): each Russian article
joins the English articles of its story."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storylens.settings import StorySettings
from storylens.stories import StoryAssigner, link_narratives, recluster
from test_stories_support import prepared, runner_order, vectors

FIXTURE = Path(__file__).parent / "fixtures" / "crosslingual" / "articles.jsonl"


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Any], list[Any]]:
    arts = prepared([FIXTURE])
    return arts, vectors(arts)


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
    a = StoryAssigner(StorySettings())
    for i in runner_order(arts):
        a.add(arts[i], vecs[i])
    stories = a.stories()
    assert {frozenset(s.articles) for s in stories} == _truth(arts)
    assert all(len(s.outlets) >= 2 for s in stories)
    assert link_narratives(stories, arts, vecs, StorySettings()) == []  # three unrelated stories


def test_recluster_groups_languages_together(corpus: Any) -> None:
    arts, vecs = corpus
    stories, _ = recluster(arts, vecs, StorySettings())
    assert {frozenset(s.articles) for s in stories} == _truth(arts)


def test_late_article_is_placed_by_its_date(corpus: Any) -> None:
    """The first quake report (11 March) arrives after every later article: it joins the quake story."""
    arts, vecs = corpus
    order = runner_order(arts)
    late = next(i for i in order if arts[i].id == "quake-en-1")
    a = StoryAssigner(StorySettings())
    for i in order:
        if i != late:
            a.add(arts[i], vecs[i])
    sid = a.add(arts[late], vecs[late])
    assert sid == a.story_of("quake-en-2") == a.story_of("quake-ru-1")
