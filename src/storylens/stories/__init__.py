"""storylens.stories: near-duplicates (:mod:`~storylens.stories.dedupe`), the same-story scorer
(:class:`SameStoryScorer`), streaming story assignment over an active window (:class:`StoryStream`), batch
re-clustering with the same scorer (:func:`recluster`) and incremental narratives (:class:`NarrativeLinker`,
:func:`link_narratives`)."""

from storylens.stories.narratives import NarrativeLinker, link_narratives
from storylens.stories.recluster import recluster
from storylens.stories.scorer import SameStoryScorer
from storylens.stories.state import key_phrases
from storylens.stories.stream import MemoryBackend, StoryStream, assignment_order

__all__ = ["MemoryBackend", "NarrativeLinker", "SameStoryScorer", "StoryStream", "assignment_order", "key_phrases",
           "link_narratives", "recluster"]
