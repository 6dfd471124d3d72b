"""Analysis: sentences, entities, quotes and speakers (English with spaCy, Russian with natasha), and aliases.

``analyze(articles, settings)`` fills each article's ``sentences``, ``entities`` and ``quotes``;
``EntityResolver(known).resolve(articles)`` ties mentions and speakers to store-wide entities.
"""

from storylens.nlp.aliases import EntityResolver
from storylens.nlp.analyze import analyze

__all__ = ["EntityResolver", "analyze"]
