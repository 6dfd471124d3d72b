"""Cross-article dating: a weekday-dated article never reports a quote before a firmer article carried it."""

from __future__ import annotations

import datetime as dt

from storylens.model import Article, PublishedDate, Quote
from storylens.stories.dating import refine_weekday_dates

QUOTE = "We agree on the dual-track approach: deterrence, defence and dialogue with Russia"


def article(aid: str, date: dt.date, evidence: str, inferred: bool = True, source: str = "text") -> Article:
    text = f"“{QUOTE},” he said on Monday."
    return Article(id=aid, source=aid, text=text, published=PublishedDate(date, source, inferred, evidence),  # type: ignore[arg-type]
                   quotes=[Quote(QUOTE, 1, 1 + len(QUOTE), "direct")])


def test_weekday_date_moves_back_before_the_first_report() -> None:
    late = article("late", dt.date(2021, 6, 14), "'on Monday' taken as the publication day (ambiguous)")
    firm = article("firm", dt.date(2021, 6, 8), "dateline 'June 8'", inferred=False, source="dateline")
    changed = refine_weekday_dates([late, firm])
    assert changed == [late]
    assert late.published.value == dt.date(2021, 6, 7)  # the last Monday on or before June 8
    assert "already reported on 2021-06-08" in (late.published.evidence or "")


def test_no_move_without_a_shared_quote_or_when_already_earlier() -> None:
    early = article("early", dt.date(2021, 6, 7), "'on Monday' (ambiguous)")
    firm = article("firm", dt.date(2021, 6, 8), "dateline", inferred=False, source="dateline")
    assert refine_weekday_dates([early, firm]) == []
    other = article("other", dt.date(2021, 6, 14), "'on Monday' (ambiguous)")
    other.quotes = [Quote("A completely different statement about the weather in Brussels today", 0, 5, "direct")]
    assert refine_weekday_dates([other, firm]) == []
    assert other.published.value == dt.date(2021, 6, 14)


def test_the_store_moves_a_later_ingested_weekday_article(tmp_path: object) -> None:
    """The firm article is already stored when the weekday-dated one arrives in a later ingest."""
    from storylens.corpus import Corpus

    c = Corpus(f"sqlite:///{tmp_path}/d.db")  # type: ignore[str-bytes-safe]
    quote = "We will keep the northern harbour open for every fishing boat this winter"
    c.ingest([{"id": "firm", "title": "Harbour stays open", "published": "2024-03-05",
               "text": f"The harbour master spoke to reporters. “{quote},” she said on Tuesday."}])
    c.ingest([{"id": "late", "title": "Harbour pledge",
               "text": f"“{quote},” the harbour master said on Monday, ahead of the council vote on March 14, "
                       f"2024."}])
    late = c.article("late")
    assert late is not None and late.published.value is not None
    # alone, "on Monday" before "March 14, 2024" reads as March 11; the stored March 5 report makes it March 4
    assert late.published.value == __import__("datetime").date(2024, 3, 4), late.published
