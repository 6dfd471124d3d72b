"""Pairwise same-story probabilities (``storylens similarity``, ``Corpus.similarity``).

The same scorer that assigns stories: every article of the call is reduced to its story signals against the
background of all of them, each article's nearest others are compared first (the context of the relative features,
as a batch re-clustering has it), then each requested pair gets its probability.  A pair is the same story when
the probability reaches ``StorySettings.link_threshold``, the level at which the stream lets an article join a
story of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storylens.embed import ArticleVectors
from storylens.model import Article
from storylens.settings import StorySettings
from storylens.stories.index import CandidateIndex
from storylens.stories.recluster import batch_signals
from storylens.stories.scorer import SameStoryScorer
from storylens.stories.signals import observe


@dataclass(slots=True)
class PairScore:
    id: str
    score: float  # the probability that the two articles report the same event
    same_story: bool


def pair_scores(articles: Sequence[Article], vectors: Sequence[ArticleVectors], pairs: Sequence[tuple[str, str, str]],
                settings: StorySettings | None = None, scorer: SameStoryScorer | None = None) -> list[PairScore]:
    """Scores of ``pairs`` = (pair id, article id, article id) over ``articles`` (each with its vectors)."""
    st = settings or StorySettings()
    scorer = scorer or SameStoryScorer(st.scorer_model, st.window_days)
    sigs = batch_signals(articles, vectors, st)
    by_id = {s.id: s for s in sigs}
    index = CandidateIndex()
    for s in sigs:
        index.add(s)
    seen: set[tuple[str, str]] = set()
    for s in sigs:
        for other in index.nearest(s, st.candidates):
            key = (s.id, other) if s.id < other else (other, s.id)
            if key not in seen:
                seen.add(key)
                observe(s, by_id[other])
    for _, a, b in pairs:  # the pair itself is a comparison too
        key = (a, b) if a < b else (b, a)
        if a != b and key not in seen:
            seen.add(key)
            observe(by_id[a], by_id[b])
    out: list[PairScore] = []
    for pid, a, b in pairs:
        p = 1.0 if a == b else scorer.probability(by_id[a], by_id[b])
        out.append(PairScore(id=pid, score=round(p, 6), same_story=p >= st.link_threshold))
    return out
