"""Russian quotes (natasha back end) on the hand-written fixture tests/fixtures/ru_quotes.json."""

from __future__ import annotations

import json
from pathlib import Path

from storylens.model import Article
from storylens.nlp import analyze
from storylens.nlp.marks import normalise_quotes
from storylens.settings import NlpSettings

FIXTURE = Path(__file__).parent / "fixtures" / "ru_quotes.json"


def test_russian_fixture_quotes_kinds_and_speakers() -> None:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    arts = [Article(id=a["id"], source=a["id"], text=a["text"], language="ru") for a in data["articles"]]
    analyze(arts, NlpSettings())
    n = 0
    for a, g in zip(arts, data["articles"], strict=True):
        for gq in g["quotes"]:
            n += 1
            found = [q for q in a.quotes if normalise_quotes(q.text).rstrip(".") == gq["text"]]
            assert found, (a.id, gq["text"], [q.text for q in a.quotes])
            q = found[0]
            assert q.kind == gq["kind"], (gq["text"], q.kind)
            assert q.speaker is not None and q.speaker.name == gq["speaker"], (gq["text"], q.speaker)
            assert a.text[q.start:q.end] == q.text
        assert len(a.quotes) == len(g["quotes"]), (a.id, [q.text for q in a.quotes])
    assert n >= 30
    assert all(s.text.strip() for a in arts for s in a.sentences)


def test_russian_entities_in_nominative() -> None:
    a = Article(id="x", source="x", text="Официальный представитель МИД России Мария Захарова заявила журналистам, "
                "что встреча состоится. «Ответа нет», — сказала Захаровой близкая к ней сотрудница.", language="ru")
    analyze([a], NlpSettings())
    names = {m.name for m in a.entities if m.label == "PERSON"}
    assert "Мария Захарова" in names
