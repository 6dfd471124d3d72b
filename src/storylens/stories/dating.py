"""Cross-article dating: a statement cannot be reported before it was made.

An article dated only by a weekday ("said on Monday", publication year or week ambiguous) is moved back by whole
weeks when the same quote appears, word for word, in an article with a firmer earlier date: the remarks were made
on or before that date, so "Monday" is the last Monday on or before it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence

from storylens.model import Article, PublishedDate

WEEKDAYS = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|понедельник|вторник|среду|"
                      r"четверг|пятницу|субботу|воскресенье)\b", re.I)
MIN_WORDS = 8  # only quotes this long identify one statement

# (normalised quote words, date) of quotes in other articles, for a quote's normalised words
Lookup = Callable[[str], Iterable[tuple[str, dt.date]]]


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def weekday_dated(a: Article) -> bool:
    p = a.published
    return bool(p.value and p.inferred and p.source == "text" and p.evidence and WEEKDAYS.search(p.evidence))


def firm(a: Article) -> bool:
    return a.published.value is not None and not weekday_dated(a)


def refine_weekday_dates(articles: Sequence[Article], lookup: Lookup | None = None) -> list[Article]:
    """Move weekday-dated articles back by weeks so none reports a quote before a firmer article carried it.
    Returns the articles whose date changed."""
    batch: list[tuple[str, dt.date]] = [(words(q.text), a.published.value) for a in articles if firm(a)
                                         for q in a.quotes if a.published.value]
    changed = []
    for a in articles:
        if not weekday_dated(a) or a.published.value is None:
            continue
        own = [w for w in (words(q.text) for q in a.quotes if q.kind != "indirect") if len(w.split()) >= MIN_WORDS]
        earliest: tuple[dt.date, str] | None = None
        for w in own:
            key = " ".join(w.split()[:MIN_WORDS])
            others = list(batch) + (list(lookup(w)) if lookup else [])
            for other, d in others:
                if key in other and (earliest is None or d < earliest[0]):
                    earliest = (d, w)
        if earliest is None or earliest[0] >= a.published.value:
            continue
        weeks = (a.published.value - earliest[0]).days // 7 + (1 if (a.published.value - earliest[0]).days % 7 else 0)
        value = a.published.value - dt.timedelta(days=7 * weeks)
        a.published = PublishedDate(value, a.published.source, True,
                                    f"{a.published.evidence}; moved back {weeks} week(s): the quote "
                                    f"“{' '.join(earliest[1].split()[:8])}…” was already reported on {earliest[0]}")
        changed.append(a)
    return changed
