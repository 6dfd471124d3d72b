"""Batch re-clustering (back-fills, one-shot ``storylens cluster``) with the same-story scorer.

The whole input is known, so the background document frequencies come from all of it, every article's candidates
(:class:`~storylens.stories.index.CandidateIndex`: nearest by embedding and by tf-idf overlap) are scored with the
:class:`~storylens.stories.scorer.SameStoryScorer`, and the graph of probabilities is cut by average linkage at
``StorySettings.link_threshold`` (:func:`~storylens.stories.linkage.average_linkage`).  Inputs larger than
``batch_max_block`` are cut at quiet gaps in time (longer than ``window_days``); a block still too large goes through
the streaming :class:`~storylens.stories.stream.StoryStream` instead, so memory stays bounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from storylens.embed import ArticleVectors
from storylens.model import Article, Story
from storylens.settings import StorySettings
from storylens.stories.features import DocFreq, names_of_typed, term_counts
from storylens.stories.index import CandidateIndex
from storylens.stories.linkage import average_linkage
from storylens.stories.scorer import SameStoryScorer
from storylens.stories.signals import ArticleSignals, article_signals, observe
from storylens.stories.state import StoryState, story_id_for


def background(articles: Sequence[Article]) -> DocFreq:
    """The document frequencies of a whole batch."""
    df = DocFreq()
    for a in articles:
        df.add(set(term_counts(a.text or "", a.title)) | set(names_of_typed(a)))
    return df


def batch_signals(articles: Sequence[Article], vectors: Sequence[ArticleVectors], settings: StorySettings,
                  df: DocFreq | None = None) -> list[ArticleSignals]:
    """Signals of every article, weighted against the background of the whole batch (or ``df``)."""
    df = df if df is not None else background(articles)
    return [article_signals(a, v, df, settings.terms_per_article, count=False)
            for a, v in zip(articles, vectors, strict=True)]


def context_pairs(items: Sequence[ArticleSignals], k: int) -> list[tuple[int, int]]:
    """The candidate pairs of ``items`` (each article's ``k`` nearest by vector and by key overlap), in order; every
    pair is recorded first as the context of the relative features (each article's closest candidate)."""
    index = CandidateIndex()
    for s in items:
        index.add(s)
    pos = {s.id: i for i, s in enumerate(items)}
    pairs: set[tuple[int, int]] = set()
    for i, s in enumerate(items):
        for other in index.nearest(s, k):
            j = pos[other]
            pairs.add((min(i, j), max(i, j)))
    ordered = sorted(pairs)
    for i, j in ordered:
        observe(items[i], items[j])
    return ordered


def cluster_signals(items: Sequence[ArticleSignals], scorer: SameStoryScorer, settings: StorySettings
                    ) -> list[list[ArticleSignals]]:
    """Average-linkage groups of ``items`` over the scored candidate pairs."""
    ordered = context_pairs(items, settings.candidates)
    probs = scorer.matrix(list(items), ordered)
    labels = average_linkage(len(items), dict(zip(ordered, probs.tolist(), strict=True)), settings.link_threshold,
                             complete=lambda more: scorer.matrix(list(items), list(more)).tolist(),
                             cap=settings.story_members)
    groups: dict[int, list[ArticleSignals]] = {}
    for s, lab in zip(items, labels, strict=True):
        groups.setdefault(lab, []).append(s)
    return list(groups.values())


def recluster(articles: Sequence[Article], vectors: Sequence[ArticleVectors], settings: StorySettings | None = None,
              scorer: SameStoryScorer | None = None) -> list[Story]:
    """Stories of ``articles`` (originals; duplicates are placed by the caller), built in publication order so
    that each story's id comes from its earliest article."""
    return [s.to_story() for s in recluster_states(articles, vectors, settings, scorer)[0]]


def recluster_states(articles: Sequence[Article], vectors: Sequence[ArticleVectors],
                     settings: StorySettings | None = None, scorer: SameStoryScorer | None = None
                     ) -> tuple[list[StoryState], DocFreq]:
    """:func:`recluster` as story states (members' signals numbered in publication order), with the batch's
    background: what a stream needs to continue from the re-clustered stories (``StoryStream.install``)."""
    st = settings or StorySettings()
    scorer = scorer or SameStoryScorer(st.scorer_model, st.window_days)
    order = sorted(range(len(articles)), key=lambda i: (articles[i].published.value or dt.date.max, articles[i].id))
    ordered = [articles[i] for i in order]
    df = background(ordered)
    sigs = batch_signals(ordered, [vectors[i] for i in order], st, df)
    groups: list[list[ArticleSignals]] = []
    for block in _blocks(sigs, st):
        if len(block) > st.batch_max_block:
            from storylens.stories.stream import ASSIGNMENT_BATCH, MemoryBackend, StoryStream

            backend = MemoryBackend()
            stream = StoryStream(st, backend, scorer=scorer)
            for k in range(0, len(block), ASSIGNMENT_BATCH):
                stream.add_signals_many(block[k:k + ASSIGNMENT_BATCH])
            stream.flush()
            ids = [i for chunk in backend.story_ids(1000) for i in chunk]
            groups.extend([list(x.members.values()) for x in backend.load(ids)])
        else:
            groups.extend(cluster_signals(block, scorer, st))
    rank = {s.id: i for i, s in enumerate(sigs)}
    by_id = {s.id: s for s in sigs}
    states: list[StoryState] = []
    used: set[str] = set()
    for g in sorted(groups, key=lambda g: min(rank[s.id] for s in g)):
        members = sorted((by_id[s.id] for s in g), key=lambda s: rank[s.id])
        sid = story_id_for(members[0].id)
        while sid in used:
            sid = story_id_for(sid)
        used.add(sid)
        state = StoryState(id=sid, created=rank[members[0].id] + 1)
        for s in members:
            s.arrival = rank[s.id] + 1
            state.add(s, s.arrival)
        states.append(state)
    return states, df


def _blocks(sigs: list[ArticleSignals], st: StorySettings) -> list[list[ArticleSignals]]:
    """One block when the batch is small enough; else cut at gaps longer than the window between consecutive firm
    dates (undated articles form a block of their own)."""
    if len(sigs) <= st.batch_max_block:
        return [sigs]
    blocks: list[list[ArticleSignals]] = []
    prev: dt.date | None = None
    for s in sigs:
        if s.date is None:
            continue
        if prev is None or (s.date - prev).days > st.window_days:
            blocks.append([])
        blocks[-1].append(s)
        prev = s.date
    undated = [s for s in sigs if s.date is None]
    return blocks + ([undated] if undated else [])
