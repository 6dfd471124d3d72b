"""Timelines: dated events of a story or narrative, from publication dates and dates resolved in the text
(``Article.date_mentions``: "on Monday", "June 16"), with the articles and quotes behind each."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence

from storylens.compare.facts import Alignment
from storylens.compare.labels import outlet_label
from storylens.model import Article, QuoteGroup, TimelineEvent
from storylens.text.sentences import sentences

_DATELINE = re.compile(r"^\s*[A-ZА-ЯЁ][A-ZА-ЯЁ .'-]+,\s*[^.\n]{1,25}\.\s*/[^/\n]{1,40}/\.?")


def _clip(s: str, n: int = 160) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1].rsplit(" ", 1)[0] + "…"


def build_timeline(articles: Sequence[Article], groups: Sequence[QuoteGroup] = (), al: Alignment | None = None,
                   *, story_id: str | None = None) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    fact_of: dict[tuple[str, int], str] = {}
    if al is not None:
        for fid, members in zip(al.fact_ids, al.facts, strict=True):
            for i in members:
                fact_of[(al.sents[i].article.id, al.sents[i].start)] = fid
    # events resolved from the text, grouped by date and fact
    by_key: dict[tuple[dt.date, str], list[tuple[Article, str, int, int, str]]] = defaultdict(list)
    for a in articles:
        m = _DATELINE.match(a.text)
        skip_to = m.end() if m else 0
        sents = sentences(a)
        for d in a.date_mentions:
            if d.value is None or d.start < skip_to:
                continue
            s = next((x for x in sents if x.start <= d.start < x.end), None)
            if s is None:
                continue
            key = fact_of.get((a.id, s.start), f"{a.id}@{s.start}")
            by_key[(d.value, key)].append((a, s.text, s.start, s.end, d.text))
    for (date, _), hits in by_key.items():
        arts = list(dict.fromkeys(h[0].id for h in hits))
        quotes = [q.id or f"{h[0].id}:q{n}" for h in hits for n, q in enumerate(h[0].quotes)
                  if h[2] <= q.start < h[3]]
        evidence = "; ".join(dict.fromkeys(f"“{h[4]}” ({outlet_label(h[0])})" for h in hits))
        events.append(TimelineEvent(date, _clip(hits[0][1]), arts, list(dict.fromkeys(quotes)), evidence,
                                    kind="event", story_id=story_id))
    # publication dates, with the quotes first carried that day
    firsts: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        if g.first_article and g.variants:
            v = next((v for v in g.variants if v.article_id == g.first_article), g.variants[0])
            firsts[g.first_article].append(v.quote_id)
    by_day: dict[dt.date, list[Article]] = defaultdict(list)
    for a in articles:
        if a.published.value:
            by_day[a.published.value].append(a)
    for date, arts_ in by_day.items():
        outlets = list(dict.fromkeys(outlet_label(a) for a in arts_))
        title = next((a.title for a in arts_ if a.title), None)
        label = f"{', '.join(outlets)} publish" + (f": {_clip(title, 120)}" if title else "")
        ev = "; ".join(f"{outlet_label(a)}: {a.published.source}"
                       + (" (inferred)" if a.published.inferred else "") for a in arts_)
        events.append(TimelineEvent(date, label, [a.id for a in arts_],
                                    list(dict.fromkeys(q for a in arts_ for q in firsts.get(a.id, []))), ev,
                                    kind="published", story_id=story_id))
    events.sort(key=lambda e: (e.date, 0 if e.kind == "event" else 1, e.label))
    return events
