"""Story features: what the text's years say about when the event was."""

from __future__ import annotations

import datetime as dt

from storylens.model import Article, PublishedDate
from storylens.stories.features import years_of


def test_years_after_publication_are_plans_not_the_event() -> None:
    text = "Ministers met in 2024 and 2025 and agreed to finish the pipeline by 2031."
    dated = Article(id="a", source="a", text=text, published=PublishedDate(value=dt.date(2025, 4, 3)))
    assert years_of(dated) == {2024, 2025}
    assert years_of(Article(id="b", source="b", text=text)) == {2024, 2025, 2031}  # undated: every year counts
