"""storylens.stories: near-duplicates (:mod:`~storylens.stories.dedupe`), streaming time-aware story
assignment (:class:`StoryAssigner`), batch re-clustering (:func:`recluster`) and narratives
(:func:`link_narratives`)."""

from storylens.stories.assign import StoryAssigner, key_phrases, recluster
from storylens.stories.narratives import link_narratives

__all__ = ["StoryAssigner", "key_phrases", "link_narratives", "recluster"]
