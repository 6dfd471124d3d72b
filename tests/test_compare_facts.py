"""Facts, conflicts and dates of the compare stage on articles written for these tests, through the real stages
(read -> clean -> analyze): facts are whole reporting sentences, a conflict needs two values of one aligned fact
with both sentences as evidence, and relative dates follow the article's own (corrected) date."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from storylens.compare import compare_story
from storylens.compare.facts import reporting_sentences
from storylens.model import Article, PublishedDate, Story
from storylens.pipeline import analyze_items
from storylens.settings import Settings


def _analyze(rows: list[dict[str, str]]) -> list[Article]:
    return list(analyze_items(rows, Settings()))


@pytest.fixture(scope="module")
def council() -> list[Article]:
    """One event in three outlets: the same vote with a different count in one, an unrelated number elsewhere."""
    return _analyze([
        {"id": "w1", "outlet": "Riverside Wire", "published": "2024-05-02", "title": "Council approves bridge",
         "text": "The city council approved 45 million euros for the new river bridge on Wednesday, mayor Anna Holt "
                 "said.\n\n“We are strong. We will build it in three years,” Holt told reporters after the vote. "
                 "The old bridge carries 20,000 cars a day."},
        {"id": "w2", "outlet": "Valley Post", "published": "2024-05-02", "title": "Bridge money approved",
         "text": "The city council approved 54 million euros for the new river bridge on Wednesday, mayor Anna Holt "
                 "said.\n\nThe harbour authority employs 35 people on the east bank."},
        {"id": "w3", "outlet": "North Gazette", "published": "2024-05-03", "title": "Bridge vote",
         "text": "The city council approved 45 million euros for the new river bridge on Wednesday, mayor Anna Holt "
                 "said.\n\nA second vote on the tram line follows on Friday."},
    ])


def test_a_quote_is_never_cut_into_fact_fragments(council: list[Article]) -> None:
    sents = [s.text for s in reporting_sentences(council[0])]
    assert "“We are strong. We will build it in three years,” Holt told reporters after the vote." in sents
    assert not any(s.startswith("We will build it") for s in sents)


def test_conflict_true_case_has_both_sentences(council: list[Article]) -> None:
    c = compare_story(Story("s", "bridge", [a.id for a in council]), council)
    nums = [x for x in c.coverage.conflicts if x.kind == "number"]
    assert len(nums) == 1, c.coverage.conflicts
    conflict = nums[0]
    assert conflict.values["Valley Post"] == ["54 million"]
    assert set(conflict.values) == {"Valley Post", "Riverside Wire", "North Gazette"}
    for outlet in conflict.values:
        assert conflict.evidence[outlet] and all("million euros" in e for e in conflict.evidence[outlet])


def test_no_conflict_between_values_of_different_slots(council: list[Article]) -> None:
    """20,000 cars, 35 people and two vote days are not values of the bridge-money fact."""
    c = compare_story(Story("s", "bridge", [a.id for a in council]), council)
    for x in c.coverage.conflicts:
        assert x.kind == "number" and all("cars" not in e and "people" not in e
                                          for ev in x.evidence.values() for e in ev)
    assert not [x for x in c.coverage.conflicts if x.kind == "date"]


def test_date_conflict_only_for_the_same_slot() -> None:
    arts = _analyze([
        {"id": "d1", "outlet": "Riverside Wire", "published": "2024-05-03",
         "text": "The city council voted on Thursday to close the old river bridge to lorries, the mayor said."},
        {"id": "d2", "outlet": "Valley Post", "published": "2024-05-03",
         "text": "The city council voted on Wednesday to close the old river bridge to lorries, the mayor said."},
        {"id": "d3", "outlet": "North Gazette", "published": "2024-05-03",
         "text": "The mayor said on Friday that the city council will close the old river bridge to lorries."},
    ])
    c = compare_story(Story("d", "bridge", [a.id for a in arts]), arts)
    dates = [x for x in c.coverage.conflicts if x.kind == "date"]
    assert len(dates) == 1 and dates[0].values == {"Riverside Wire": ["2024-05-02"], "Valley Post": ["2024-05-01"]}
    assert "North Gazette" not in dates[0].values  # "said on Friday" dates the saying, not the vote


def test_relative_dates_follow_the_articles_date() -> None:
    """An article dated by a weekday and later moved back a week: its "on Monday" events move with it."""
    (a,) = _analyze([{"id": "r1", "outlet": "Riverside Wire", "published": "2024-05-13",
                      "text": "The mayor opened the new river bridge on Monday, the city said."}])
    assert [m.value for m in a.date_mentions] == [dt.date(2024, 5, 13)]
    moved = dataclasses.replace(a, published=PublishedDate(dt.date(2024, 5, 6), "text", True, "moved back a week"))
    c = compare_story(Story("r", "bridge", [moved.id]), [moved])
    events = [e for e in c.timeline if e.kind == "event"]
    assert [e.date for e in events] == [dt.date(2024, 5, 6)]
