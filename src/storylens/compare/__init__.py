"""storylens.compare: how outlets carried one story.

>>> from storylens.compare import compare_story, render_report
>>> comparison = compare_story(story, articles, settings.compare, embedder.encode)
>>> html = render_report(comparison, articles, "html")

Quote groups — one per statement (:mod:`.statements`), each report's changes against the statement's first report
(:mod:`.quote_diff`, speakers unified across articles by :mod:`.names`) — in :mod:`.quote_groups`; the public
``spread`` contract (:mod:`.spread`); fact alignment, coverage and conflicts (:mod:`.facts`), framing signals
(:mod:`.framing`), cited summaries (:mod:`.summary`), timelines (:mod:`.timeline`), and how all of it is shown
(:mod:`.present`, :mod:`.report`).  Every function here is a plain function over records: no database, no terminal, no network
(except the optional abstractive summary endpoint, when configured).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from storylens.clean.dates import reanchor_mentions
from storylens.compare.chronology import time_order
from storylens.compare.embedding import CachedEmbed
from storylens.compare.facts import align, build_facts, coverage, order_facts
from storylens.compare.framing import framing_signals
from storylens.compare.quote_groups import diff_quotes, group_quotes
from storylens.compare.report import render_report, render_terminal
from storylens.compare.spread import spread_contract
from storylens.compare.summary import abstractive, lead_baseline, summarize
from storylens.compare.timeline import build_timeline
from storylens.model import Article, Narrative, NarrativeComparison, Story, StoryComparison, StorySummary
from storylens.settings import CompareSettings
from storylens.text.scripts import script_language

if TYPE_CHECKING:
    from storylens.embed import ArticleVectors

__all__ = [
    "COMPARE_VERSION", "compare_narrative", "compare_story", "diff_quotes", "framing_signals", "group_quotes", "lead_baseline",
    "render_report", "render_terminal", "spread_contract",
]

Embed = Callable[[list[str]], np.ndarray]
# the format of a StoryComparison: a cached comparison of another version is computed again
# (2: statements as the unit of a quote group, changes against the first report, diffs over the carried text)
COMPARE_VERSION = 2
_caches: dict[int, CachedEmbed] = {}
_lock = threading.Lock()


def _cached(embed: Embed | None) -> CachedEmbed:
    """One memo per embedding function, so comparing a story again does not embed its sentences again."""
    if isinstance(embed, CachedEmbed):
        return embed
    key = id(embed) if embed is not None else 0
    with _lock:
        c = _caches.get(key)
        if c is None or c.embed is not embed:
            if len(_caches) > 8:
                _caches.clear()
            c = _caches[key] = CachedEmbed(embed)
        return c


def _ordered(articles: Sequence[Article]) -> list[Article]:
    """The articles in date order (then time, where the metadata gave one), with their relative dates anchored on
    their own (possibly corrected) date."""
    return [_anchored(a) for a in sorted(articles, key=lambda a: (*time_order(a), a.id))]


def _anchored(a: Article) -> Article:
    """``a`` with "on Monday" / "yesterday" / "June 16" resolved against its publication date as it stands now (the
    date may have been corrected after the mentions were resolved: a weekday-dated article moved back a week)."""
    if not a.date_mentions:
        return a
    langs = sorted({a.language or "en", "en"} | ({"ru"} if any(p.language == "ru" for p in a.paragraphs) else set()))
    mentions = reanchor_mentions(a.text, a.date_mentions, a.published.value, langs)
    if [m.value for m in mentions] == [m.value for m in a.date_mentions]:
        return a
    return dataclasses.replace(a, date_mentions=mentions)


def _seeded(embed: Embed | None, articles: Sequence[Article], vectors: Mapping[str, ArticleVectors] | None
            ) -> CachedEmbed:
    cached = _cached(embed)
    if vectors:
        from storylens.embed import known_vectors

        cached.seed(known_vectors(articles, vectors))
    return cached


def compare_story(story: Story, articles: Sequence[Article], settings: CompareSettings | None = None,
                  embed: Embed | None = None, vectors: Mapping[str, ArticleVectors] | None = None) -> StoryComparison:
    """Quote groups, coverage, framing, a cited summary and a timeline for one story's articles.  ``vectors``
    (article id -> the embed stage's vectors, as the store keeps them): sentences already embedded are not
    embedded again."""
    settings = settings or CompareSettings()
    arts = _ordered(articles)
    cached = _seeded(embed, articles, vectors)
    multilingual = len({a.language or script_language(a.text) for a in arts}) > 1
    groups = group_quotes(arts, cached, story_id=story.id)
    al = align(arts, cached if multilingual else None)
    order_facts(al)
    facts = build_facts(al)
    cov = coverage(arts, al, facts, exclusive_min_words=settings.exclusive_min_words, widely=settings.widely_reported)
    summary = summarize(al, facts, arts, settings.summary_sentences, settings.summary_words)
    return StoryComparison(
        story_id=story.id, quote_groups=groups, coverage=cov, framing=framing_signals(arts), summary=summary,
        timeline=build_timeline(arts, groups, al), title=story.title, articles=[a.id for a in arts],
        abstract=abstractive(summary, facts, settings, arts), version=COMPARE_VERSION,
    )


def compare_narrative(narrative: Narrative, stories: Sequence[Story], articles_by_story: Mapping[str, Sequence[Article]],
                      settings: CompareSettings | None = None, embed: Embed | None = None,
                      vectors: Mapping[str, ArticleVectors] | None = None) -> NarrativeComparison:
    """Per-story cited summaries in time order, one timeline, and the quotes that recur across the stories."""
    settings = settings or CompareSettings()
    cached = _seeded(embed, [a for arts in articles_by_story.values() for a in arts], vectors)
    ordered = sorted(stories, key=lambda s: (s.first_seen or dt.date.max, s.id))
    all_articles: list[Article] = []
    parts: list[StorySummary] = []
    timeline = []
    for s in ordered:
        arts = _ordered(articles_by_story.get(s.id, []))
        all_articles.extend(arts)
        multilingual = len({a.language or script_language(a.text) for a in arts}) > 1
        al = align(arts, cached if multilingual else None, prefix=f"{s.id}:f")
        order_facts(al)
        facts = build_facts(al)
        groups = group_quotes(arts, cached, story_id=s.id)
        summary = summarize(al, facts, arts, settings.summary_sentences, settings.summary_words)
        parts.append(StorySummary(s.id, s.title, s.first_seen, s.last_seen, summary, [a.id for a in arts]))
        timeline.extend(build_timeline(arts, groups, al, story_id=s.id))
    timeline.sort(key=lambda e: (e.date, 0 if e.kind == "event" else 1, e.label))
    recurring = [g for g in group_quotes(all_articles, cached, story_id=narrative.id)
                 if len({v.article_id for v in g.variants}) > 1]
    return NarrativeComparison(narrative.id, narrative.title, parts, timeline, recurring,
                               list(dict.fromkeys(a.id for a in all_articles)))
