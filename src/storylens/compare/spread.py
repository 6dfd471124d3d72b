"""The public ``spread`` contract (``storylens spread INPUT... --format json``, ``GET /api/stories/{id}/spread``,
``Corpus.spread``): stories with their cited summaries, and every quote group carried by at least two articles with
each report's text, offsets, speaker and changes against the first report.

```
{"stories": [{"id", "title", "articles": [ids], "first_seen", "last_seen", "keywords", "outlets",
              "summary": [{"text", "articles": [ids]}]}],
 "quote_groups": [{"id", "story", "speaker", "statement", "first": {"article", "outlet", "published"},
                   "variants": [{"article", "outlet", "published", "text", "start", "end", "speaker",
                                 "changes": [{"kind", "from", "to", + "start", "end"}],
                                 + "first", "kind", "mutations", "quote_id"}],
                   + "longest", "articles"}]}
```
``statement`` is the statement as first reported; every change is relative to that first report (``from`` its
words, ``to`` this report's, ``start``/``end`` where in this report's article text).  ``start``/``end`` of a
variant index the article text of ``storylens analyze``.  Fields marked + are additions beyond DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from storylens.model import QuoteGroup, QuoteVariant, Story, StoryComparison, clusters_contract


def _variant(v: QuoteVariant, first: bool) -> dict[str, Any]:
    return {
        "article": v.article_id, "outlet": v.outlet, "published": v.published.isoformat() if v.published else None,
        "text": v.text, "start": v.start, "end": v.end, "speaker": v.speaker,
        "changes": [{"kind": c.kind, "from": c.from_, "to": c.to, "start": c.start, "end": c.end} for c in v.changes],
        "first": first, "kind": v.kind, "mutations": list(v.mutations), "quote_id": v.quote_id,
    }


def spread_group(g: QuoteGroup) -> dict[str, Any]:
    """One quote group in the contract's shape."""
    first_id = g.first_quote
    first_v = next((v for v in g.variants if v.quote_id == first_id), None) or \
        next((v for v in g.variants if v.article_id == g.first_article), None)
    return {
        "id": g.id, "story": g.story_id, "speaker": g.speaker, "statement": g.statement or g.canonical,
        "first": {"article": g.first_article, "outlet": g.first_outlet,
                  "published": g.first_published.isoformat() if g.first_published else None},
        "variants": [_variant(v, v is first_v) for v in g.variants],
        "longest": g.canonical, "articles": len({v.article_id for v in g.variants}),
    }


def carried(g: QuoteGroup) -> bool:
    """A quote group in the contract: one statement carried by at least two articles."""
    return len({v.article_id for v in g.variants}) >= 2


def spread_contract(items: Iterable[tuple[Story, StoryComparison | None]]) -> dict[str, Any]:
    """The ``spread`` object for stories and their comparisons."""
    pairs = list(items)
    stories = clusters_contract([s for s, _ in pairs], [])["stories"]
    groups: list[dict[str, Any]] = []
    for row, (_, comparison) in zip(stories, pairs, strict=True):
        row["summary"] = [] if comparison is None else \
            [{"text": s.text, "articles": list(s.citations)} for s in comparison.summary]
        if comparison is not None:
            groups.extend(spread_group(g) for g in comparison.quote_groups if carried(g))
    return {"stories": stories, "quote_groups": groups}
