"""Embeddings: shape, normalisation, the cache blob, and English/Russian translations meeting."""

from __future__ import annotations

import numpy as np

from storylens.embed import DIM, ArticleVectors, Embedder, article_vectors, split_sentences
from storylens.model import Article


def test_encode_is_normalised_float32() -> None:
    m = Embedder().encode(["NATO will continue to seek dialogue with Russia.", "Rain is expected tomorrow.", ""])
    assert m.shape == (3, DIM) and m.dtype == np.float32
    assert np.allclose(np.linalg.norm(m[:2], axis=1), 1.0, atol=1e-4)


def test_translation_is_nearer_than_unrelated() -> None:
    en, ru, other = Embedder().encode([
        "Dialogue with Russia is not a sign of weakness.",
        "Диалог с Россией не является признаком слабости.",
        "The football club signed a new goalkeeper on Friday.",
    ])
    assert float(en @ ru) > 0.7 > float(en @ other) + 0.3


def test_article_vectors_roundtrip_and_batching() -> None:
    arts = [Article(id="a", source="a", title="Quake hits Chile",
                    text="A strong earthquake hit Chile on Monday. No casualties were reported. Power was cut."),
            Article(id="b", source="b", title=None, text="Один абзац без заголовка.")]
    vecs = article_vectors(arts, Embedder())
    assert len(vecs) == 2 and vecs[0].sentences.shape == (3, DIM) and vecs[1].sentences.shape[0] == 1
    for v in vecs:
        back = ArticleVectors.from_bytes(v.to_bytes())
        for name in ("title", "lead", "doc"):
            assert np.allclose(getattr(back, name), getattr(v, name), atol=2e-3)
        assert back.sentences.shape == v.sentences.shape
        assert abs(float(np.linalg.norm(v.doc)) - 1.0) < 1e-4


def test_split_sentences() -> None:
    assert split_sentences("One here. Two there! «Три» тут.\nFour") == ["One here.", "Two there!", "«Три» тут.", "Four"]
