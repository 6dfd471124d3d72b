"""The word diff against the first report on sentences written for these tests: a change is claimed only when the
words differ, each kind is told apart, and the carried text (punctuation and all) is what the diff tiles."""

from __future__ import annotations

import pytest

from storylens.compare.quote_diff import diff_quotes, is_tense_pair

FIRST = "The United States will help the city, and we welcome the Harbour Board's plan for the next ten years."


@pytest.mark.parametrize("variant", [
    FIRST,
    "the united states will help the city and we welcome the harbour board's plan for the next ten years",
    "The United States will help the city – and we welcome the Harbour Board’s plan for the next ten years,",
])
def test_no_change_without_different_words(variant: str) -> None:
    d = diff_quotes(FIRST, variant)
    assert d.mutations == [] and d.changes == []
    assert "".join(op.variant for op in d.ops) == variant


@pytest.mark.parametrize(("variant", "kinds", "frm", "to"), [
    ("The United States will help the city, and we welcome the Harbour Board's plan",
     ["cut"], "for the next ten years", ""),
    ("The United States will help the city, and we welcome the Harbour Board's plan for the next ten years. "
     "We will not wait for the council.", ["extended"], "", "We will not wait for the council"),
    ("The United States will help the city, and we (the mayor and the board – Valley Post) welcome the Harbour "
     "Board's plan for the next ten years.", ["words_inserted"], "", "(the mayor and the board – Valley Post)"),
    ("The U.S. will help the city, and we welcome the Harbour Board's plan for the next ten years.",
     ["name_changed"], "United States", "U.S"),
    ("The United States would help the city, and we welcome the Harbour Board's plan for the next ten years.",
     ["tense_changed"], "will", "would"),
    ("The United States will help the town, and we welcome the Harbour Board's plan for the next ten years.",
     ["words_changed"], "city", "town"),
    ("The United States will help the city, and we welcome the Harbour Board's plan … ten years.",
     ["cut"], "for the next", ""),
])
def test_each_kind_with_its_words(variant: str, kinds: list[str], frm: str, to: str) -> None:
    d = diff_quotes(FIRST, variant)
    assert d.mutations == kinds, d.details
    (c,) = d.changes
    assert (c.kind, c.from_, c.to) == (kinds[0], frm, to)
    assert "".join(op.variant for op in d.ops) == variant
    if to:
        assert variant[c.start:c.end] == to  # type: ignore[misc]


def test_words_attached_to_a_renamed_name_belong_to_the_renaming() -> None:
    d = diff_quotes("I welcomed the extension of START III,", "I welcome the extension of the New START agreement.")
    assert d.mutations == ["name_changed", "tense_changed"], d.details
    assert any(c.from_ == "START III" and c.to == "the New START agreement" for c in d.changes)


def test_tense_pairs() -> None:
    assert is_tense_pair("welcome", "welcomed") and is_tense_pair("is", "was") and is_tense_pair("says", "said")
    assert is_tense_pair("carries", "carried") and is_tense_pair("stop", "stopped")
    assert not is_tense_pair("need", "needle") and not is_tense_pair("red", "re") and not is_tense_pair("is", "is")
