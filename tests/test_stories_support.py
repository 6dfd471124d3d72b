"""Real stages for the story tests: read -> prepare -> analyze (when installed) -> embed."""

from __future__ import annotations

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
    from storylens.nlp import analyze

    return list(analyze([prepare(r, s, fm) for r in raws], s.nlp))


def vectors(arts: Sequence[Article]) -> list[ArticleVectors]:
    return article_vectors(arts, Embedder())
