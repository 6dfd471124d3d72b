"""When each report was published, to the minute where the metadata says: the order in which outlets carried a
statement ("who was first")."""

from __future__ import annotations

import datetime as dt
import functools
import re

from storylens.model import Article, shift_date

_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d(?::\d\d)?)(Z|[+-]\d\d:?\d\d)?")


def published_at(article: Article) -> dt.datetime | None:
    """The publication time when the article's metadata gave one (kept in the date's evidence), in UTC (a time
    without a zone is taken as UTC)."""
    p = article.published
    if p.source != "metadata" or not p.evidence:
        return None
    return _stamp(p.evidence)


@functools.lru_cache(maxsize=4096)
def _stamp(evidence: str) -> dt.datetime | None:
    m = _STAMP.search(evidence)
    if m is not None:
        zone = (m.group(3) or "+00:00").replace("Z", "+00:00")
        if len(zone) == 5:
            zone = zone[:3] + ":" + zone[3:]
        try:
            return dt.datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{zone}").astimezone(dt.UTC)
        except ValueError:
            return None
    quoted = re.search(r"'([^']*\d{1,2}[:.]\d\d[^']*)'", evidence)
    if quoted is None:
        return None
    import dateparser

    d = dateparser.parse(quoted.group(1), settings={"RETURN_AS_TIMEZONE_AWARE": True, "TO_TIMEZONE": "UTC"})
    return d.astimezone(dt.UTC) if d is not None else None


def time_order(article: Article) -> tuple[dt.date, dt.datetime]:
    """Sort key: publication date, then time where known (an unknown time after the known ones of that day)."""
    day = article.published.value or dt.date.max
    at = published_at(article)
    return (day, at if at is not None and at.date() <= shift_date(day, 1) else _LATE)


_LATE = dt.datetime.max.replace(tzinfo=dt.UTC)
