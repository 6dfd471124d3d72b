"""Cross-article dating: a statement cannot be reported before it was made.

An article dated only by a weekday ("said on Monday", the week or year ambiguous) is moved back by whole weeks
when one of its quotes appears, word for word, in an article with a firmer earlier date: the remarks were made on
or before that date, so "Monday" is the last Monday on or before it.  Quotes are matched by their first
``MIN_WORDS`` words against every ``MIN_WORDS``-word window of the other article's quotes, which a local batch
does with a dict and Spark with a join (the same functions serve both runners).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from storylens.model import Article, PublishedDate

WEEKDAYS = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|понедельник|вторник|среду|"
                      r"четверг|пятницу|субботу|воскресенье)\b", re.I)
MIN_WORDS = 8  # only quotes this long identify one statement
LOOKBACK_DAYS = 35  # how many weeks back a weekday date may move

# normalised words of stored quotes (with their article's firm date, before the given date) that may contain a
# quote's opening words
Lookup = Callable[[str, dt.date], Iterable[tuple[str, dt.date]]]


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def weekday_dated(a: Article) -> bool:
    p = a.published
    return bool(p.value and p.inferred and p.source == "text" and p.evidence and WEEKDAYS.search(p.evidence))


def firm(a: Article) -> bool:
    return a.published.value is not None and not weekday_dated(a)


def opening_keys(a: Article) -> list[tuple[str, str]]:
    """(first MIN_WORDS words, the quote's words) of a weekday-dated article's quoted statements."""
    out = []
    for q in a.quotes:
        w = words(q.text).split()
        if q.kind != "indirect" and len(w) >= MIN_WORDS:
            out.append((" ".join(w[:MIN_WORDS]), " ".join(w)))
    return out


def windows(quote_words: str) -> Iterator[str]:
    w = quote_words.split()
    for i in range(len(w) - MIN_WORDS + 1):
        yield " ".join(w[i:i + MIN_WORDS])


def firm_windows(a: Article) -> Iterator[tuple[str, dt.date]]:
    """(window, date) of every MIN_WORDS-word window of a firmly dated article's quotes."""
    if firm(a) and a.published.value is not None:
        for q in a.quotes:
            for win in windows(words(q.text)):
                yield win, a.published.value


def move_back(a: Article, earliest: dt.date, quote_words: str) -> bool:
    """Move ``a`` back by whole weeks to on-or-before ``earliest``; True when its date changed."""
    value = a.published.value
    if value is None or earliest >= value or (value - earliest).days > LOOKBACK_DAYS:
        return False
    days = (value - earliest).days
    weeks = days // 7 + (1 if days % 7 else 0)
    a.published = PublishedDate(value - dt.timedelta(days=7 * weeks), a.published.source, True,
                                f"{a.published.evidence}; moved back {weeks} week(s): the quote "
                                f"“{' '.join(quote_words.split()[:MIN_WORDS])}…” was already reported on {earliest}")
    return True


def refine_weekday_dates(articles: Sequence[Article], lookup: Lookup | None = None) -> list[Article]:
    """Move weekday-dated articles back so none reports a quote before a firmer article carried it (within the
    batch, and through ``lookup`` against a store).  Returns the articles whose date changed."""
    index: dict[str, dt.date] = {}
    for a in articles:
        for win, d in firm_windows(a):
            index[win] = min(d, index.get(win, d))
    changed = []
    for a in articles:
        if not weekday_dated(a):
            continue
        best: tuple[dt.date, str] | None = None
        for key, w in opening_keys(a):
            dates = [index[key]] if key in index else []
            if lookup is not None and a.published.value is not None:
                dates += [d for other, d in lookup(w, a.published.value) if key in set(windows(other))]
            for d in dates:
                if best is None or d < best[0]:
                    best = (d, w)
        if best is not None and move_back(a, *best):
            changed.append(a)
    return changed
