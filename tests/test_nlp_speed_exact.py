"""The English analysis's speed changes give spaCy's own annotations: NumPy's BLAS for thinc's layers and the
indexed attribute ruler (storylens.nlp.fastpipes), on real text."""

from __future__ import annotations

from pathlib import Path

import pytest

from storylens.nlp.backends import spacy_model
from storylens.nlp.fastpipes import IndexedMatcher, Unsupported, speed_up
from storylens.nlp.marks import paragraphs
from storylens.settings import NlpSettings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def texts(examples_dir: Path, seeds_dir: Path) -> list[str]:
    out: list[str] = []
    for p in [*sorted(examples_dir.glob("*.txt")), *sorted(seeds_dir.glob("0*.txt"))]:
        t = p.read_text(encoding="utf-8")
        out += [t[s:e] for s, e in paragraphs(t)]
    # the ruler's two-token exceptions and odd whitespace
    return out + ["They 're gon na win , he said .", "I ai n't going and you ai nt either", " \n \t x  y "]


def _annotations(nlp: object, texts: list[str]) -> list[tuple[object, ...]]:
    return [(t.text, t.tag_, t.pos_, str(t.morph), t.lemma_, t.dep_, t.head.i, t.ent_iob_, t.ent_type_, t.is_sent_start)
            for d in nlp.pipe(texts) for t in d]  # type: ignore[attr-defined]


def test_annotations_are_spacys_own(texts: list[str]) -> None:
    import spacy

    name = NlpSettings().spacy_model
    plain = spacy.load(name)
    ours = spacy_model(name)
    assert type(ours.get_pipe("attribute_ruler").matcher) is IndexedMatcher
    assert _annotations(plain, texts) == _annotations(ours, texts)


def test_the_index_finds_every_match_of_spacys_matcher(texts: list[str]) -> None:
    import spacy

    nlp = spacy.load(NlpSettings().spacy_model, exclude=["attribute_ruler", "lemmatizer"])
    ruler = spacy.load(NlpSettings().spacy_model).get_pipe("attribute_ruler")
    index = IndexedMatcher(ruler)
    for doc in nlp.pipe(texts):
        assert sorted(set(index(doc))) == sorted(set(ruler.matcher(doc, allow_missing=True, as_spans=False)))


def test_a_pattern_with_an_operator_keeps_spacys_matcher() -> None:
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add([[{"LOWER": "very", "OP": "+"}]], {"POS": "ADV"})
    with pytest.raises(Unsupported):
        IndexedMatcher(ruler)
    assert speed_up(nlp) == [] and type(ruler.matcher) is not IndexedMatcher
