"""Data shared by the REST API and the pages: JSON rows (the CLI's shapes), exports, and the story view model."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from fastapi import HTTPException
from fastapi.responses import Response

from storylens.corpus import Corpus
from storylens.model import Article, Entity, Narrative, Story, to_jsonable
from storylens.store import StoredQuote

# ---- rows: the shapes of `storylens ... --format json` ------------------------------------------------------


T = TypeVar("T")


def found(value: T | None, what: str) -> T:
    """``value``, or a 404 answering "no <what>" when it is None."""
    if value is None:
        raise HTTPException(404, f"no {what}")
    return value


def stories_in_time_order(corpus: Corpus, ids: Sequence[str]) -> list[Story]:
    """The stories of ``ids`` by their first date (undated ones first), then id."""
    return sorted(corpus.store.stories(ids=ids), key=lambda s: (str(s.first_seen or ""), s.id))


def story_row(s: Story) -> dict[str, Any]:
    """A story as in ``storylens cluster --format json`` (articles are ids), plus ``n_articles``."""
    d: dict[str, Any] = to_jsonable(s)
    d["n_articles"] = len(s.articles)
    return d


def article_row(a: Article, story_id: str | None = None) -> dict[str, Any]:
    """An article without its text: as in ``storylens articles --format json``, plus url and story."""
    return {"id": a.id, "published": a.published.value.isoformat() if a.published.value else None,
            "outlet": a.outlet, "language": a.language, "title": a.title, "duplicate_of": a.duplicate_of,
            "quotes": len(a.quotes), "url": a.url, "source": a.source, "story_id": story_id}


def quote_row(q: StoredQuote, group_id: str | None = None) -> dict[str, Any]:
    """A quote as in ``storylens quotes --format json``, plus the quote group it belongs to (when computed)."""
    d: dict[str, Any] = to_jsonable(q)
    d["group_id"] = group_id
    return d


def entity_row(e: Entity, n_articles: int) -> dict[str, Any]:
    """An entity as in ``storylens entities --format json``."""
    return {"id": e.id, "name": e.name, "type": e.label, "aliases": list(e.aliases), "articles": n_articles}


def narrative_row(n: Narrative) -> dict[str, Any]:
    return {"id": n.id, "title": n.title, "stories": list(n.stories), "keywords": list(n.keywords)}


# ---- exports ----------------------------------------------------------------------------------------------------


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV like the CLI's: lists and objects as JSON in their cell."""
    cols = list(columns or [])
    if not cols:
        for r in rows:
            cols.extend(k for k in r if k not in cols)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict) else v) for k, v in r.items()})
    return buf.getvalue()


def export(rows: Sequence[dict[str, Any]], fmt: str, name: str, columns: Sequence[str] | None = None) -> Response:
    """A download: ``fmt`` csv or json (a plain JSON list, like the CLI's ``--format json``)."""
    if fmt == "csv":
        return Response(to_csv(rows, columns), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    body = json.dumps(to_jsonable(list(rows)), ensure_ascii=False, indent=1)
    return Response(body, media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


def page(items: list[dict[str, Any]], limit: int, offset: int, has_more: bool) -> dict[str, Any]:
    return {"items": items, "limit": limit, "offset": offset, "next_offset": offset + limit if has_more else None}


_PIECE = re.compile(r"@\d+-\d+$")


# ---- quote groups --------------------------------------------------------------------------------------------


class HasStory(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def story_id(self) -> str | None: ...


def group_of_quotes(corpus: Corpus, quotes: Iterable[HasStory]) -> dict[str, str]:
    """quote id -> quote group id, for the stories whose comparison has been computed."""
    qs = list(quotes)
    story_ids = sorted({q.story_id for q in qs if q.story_id})
    if not story_ids:
        return {}
    out: dict[str, str] = {}
    for group_id, quote_id in corpus.store.quote_group_members(story_ids):
        # a variant that is one statement of a longer quote has the id "<quote id>@<start>-<end>"
        out.setdefault(_PIECE.sub("", quote_id), group_id)
    return out


# ---- the story view model ---------------------------------------------------------------------------------------


@dataclass
class TimelinePoint:
    x: float
    y: float
    r: float
    date: str
    label: str
    href: str | None = None
    count: int = 0


@dataclass
class TimelineChart:
    width: int
    height: int
    points: list[TimelinePoint]
    ticks: list[tuple[float, str]] = field(default_factory=list)


def timeline_chart(events: Sequence[tuple[dt.date, str, int, str | None]], width: int = 640,
                   height: int = 120) -> TimelineChart | None:
    """Points on a date axis for an SVG chart: (date, label, weight, link) each; None without dated events."""
    evs = sorted(e for e in events if e[0] is not None)
    if not evs:
        return None
    lo, hi = evs[0][0].toordinal(), evs[-1][0].toordinal()
    span = max(hi - lo, 1)
    pad = 24
    stacked: dict[int, int] = defaultdict(int)
    pts = []
    for d, label, weight, href in evs:
        x = pad + (d.toordinal() - lo) / span * (width - 2 * pad) if hi > lo else width / 2
        k = stacked[d.toordinal()]
        stacked[d.toordinal()] += 1
        y = height - 36 - k * 18
        pts.append(TimelinePoint(x=round(x, 1), y=max(y, 10), r=min(4 + 2 * weight, 12), date=d.isoformat(),
                                 label=label, href=href, count=weight))
    ticks: list[tuple[float, str]] = [(float(pad) if hi > lo else width / 2, dt.date.fromordinal(lo).isoformat())]
    if hi > lo:
        ticks.append((float(width - pad), dt.date.fromordinal(hi).isoformat()))
    return TimelineChart(width=width, height=height, points=pts, ticks=ticks)


def heat_class(v: int) -> str:
    return "cov-yes" if v else "cov-no"


def outlet_key(name: str | None) -> str:
    return name or "unknown"
