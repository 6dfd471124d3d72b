"""Real stages for the story tests: read -> prepare -> analyze (when installed) -> embed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from storylens.clean import FurnitureModel, prepare
from storylens.embed import ArticleVectors, Embedder, article_vectors
from storylens.ingest import read_inputs
from storylens.model import Article, RawDocument
from storylens.settings import Settings


def prepared(paths: Sequence[Path | str], settings: Settings | None = None) -> list[Article]:
    s = settings or Settings()
    raws = [r for r in read_inputs(list(paths), s.ingest) if isinstance(r, RawDocument)]
    fm = FurnitureModel()
    for r in raws:
        fm.observe(r)
    arts = [prepare(r, s, fm) for r in raws]
    import storylens.nlp as nlp

    analyze = getattr(nlp, "analyze", None)
    if callable(analyze):
        arts = list(analyze(arts, s.nlp))
    return arts


def vectors(arts: Sequence[Article]) -> list[ArticleVectors]:
    return article_vectors(arts, Embedder())


def runner_order(arts: Sequence[Article]) -> list[int]:
    """The local runner's order: publication date (undated last), then id."""
    return sorted(range(len(arts)), key=lambda i: (arts[i].published.value or dt.date.max, arts[i].id))
