"""Framing signals on articles written for these tests (read -> clean -> analyze -> framing): evaluative words are
matched as words and phrases of a general lexicon, never a word that is neutral on its own."""

from __future__ import annotations

from storylens.compare import framing_signals
from storylens.pipeline import analyze_items
from storylens.settings import Settings


def _signals(text: str, outlet: str = "Вестник") -> list[tuple[str, str]]:
    arts = list(analyze_items([{"id": "f1", "outlet": outlet, "published": "2024-05-02", "text": text}], Settings()))
    return [(s.kind, s.value) for s in framing_signals(arts)]


def test_russian_so_is_not_editorial() -> None:
    text = ("Городской совет в среду одобрил строительство нового моста через реку. Так решили депутаты после "
            "долгого обсуждения. Так называемая реформа транспорта вызвала споры среди жителей.")
    evals = [v for k, v in _signals(text) if k == "unattributed_evaluation"]
    assert evals == ["Так называемая"], evals


def test_loaded_verb_is_the_verb_with_its_sentence() -> None:
    text = ("The mayor repeated the whole list of complaints against the harbour board on Tuesday. "
            "The board argued that the budget was fair.")
    verbs = {v for k, v in _signals(text, "Riverside Wire") if k == "attribution_verb"}
    assert {"repeated", "argued"} <= verbs
