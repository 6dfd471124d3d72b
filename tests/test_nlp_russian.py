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


def test_one_entity_across_scripts_by_transliteration() -> None:
    """The Russian and the English report of one event name the same people and places in two scripts: one
    entity each, with the transliteration as the evidence; a different person stays apart."""
    from storylens.nlp import EntityResolver

    rows = {json.loads(ln)["id"]: json.loads(ln) for ln in
            (Path(__file__).parent / "fixtures" / "crosslingual" / "articles.jsonl").read_text("utf-8").splitlines()}
    en = Article(id="en", source="en", text=rows["rocket-en-2"]["text"], language="en")
    ru = Article(id="ru", source="ru", text=rows["rocket-ru-2"]["text"], language="ru")
    other = Article(id="ru2", source="ru2", text="Министр Иван Нельсонов прибыл в Москву.", language="ru")
    analyze([en, ru, other], NlpSettings())
    r = EntityResolver()
    r.resolve([en])
    r.resolve([ru, other])
    nelson_en = {m.entity_id for m in en.entities if m.text == "Bill Nelson"}
    nelson_ru = {m.entity_id for m in ru.entities if m.label == "PERSON" and m.text.startswith("Билл")}
    assert len(nelson_en) == 1 and nelson_en == nelson_ru, ([(m.text, m.entity_id) for m in ru.entities])
    e = next(x for x in r.entities() if x.id in nelson_en)
    assert e.name == "Bill Nelson" and any("transliteration" in ev for ev in e.evidence)
    assert not ({m.entity_id for m in other.entities if m.label == "PERSON"} & nelson_en)


def _ru(text: str) -> Article:
    a = Article(id="r", source="r", text=text, language="ru")
    analyze([a], NlpSettings())
    return a


def test_russian_probes_of_issue_13() -> None:
    """«По мнению Пескова, …», stance verbs and report nouns, and dialogue dashes with the cue outside the span."""
    a = _ru("По мнению Ирины Волковой, отопительный сезон начнётся раньше обычного.")
    (q,) = a.quotes
    assert (q.kind, q.text, q.speaker and q.speaker.name, q.cue and q.cue.text) == (
        "indirect", "отопительный сезон начнётся раньше обычного", "Ирина Волкова", "По мнению")
    a = _ru("Губернатор Олег Смирнов назвал встречу полезной.")
    (q,) = a.quotes
    assert (q.text, q.speaker and q.speaker.name, q.cue and q.cue.text) == ("встречу полезной", "Олег Смирнов",
                                                                            "назвал")
    a = _ru("Глава региона Олег Смирнов сделал заявление о том, что паводок пошёл на спад.")
    (q,) = a.quotes
    assert (q.text, q.speaker and q.speaker.name) == ("паводок пошёл на спад", "Олег Смирнов")
    a = _ru("Губернатор Олег Смирнов приехал на стройку.\n— Мост откроем в октябре, — сказал Смирнов рабочим. "
            "— Дороги доделаем к зиме.")
    (q,) = a.quotes
    assert q.kind == "direct" and q.speaker is not None and q.speaker.name == "Олег Смирнов"
    assert q.cue is not None and q.cue.text == "сказал" and not any(g.start <= q.cue.start < g.end for g in q.segments)
    assert [g.text for g in q.segments] == ["Мост откроем в октябре", "Дороги доделаем к зиме."]
    a = _ru("Мэр Вера Соколова ответила коротко: „Мост откроют в мае“.")
    assert [(q.kind, q.text, q.speaker and q.speaker.name) for q in a.quotes] == [
        ("direct", "Мост откроют в мае", "Вера Соколова")]
    a = _ru("Вчера в кинотеатре «Октябрь» показали фильм «Весна на Заречной улице».")
    assert a.quotes == []
    a = _ru("«Новый корпус построят за год», — сообщил архитектор Пётр Ковалёв.")
    assert a.quotes[0].speaker is not None and a.quotes[0].speaker.name == "Пётр Ковалёв"  # "ё" kept


def test_russian_attribution_set_token_scores() -> None:
    """The hand-written Russian set (both halves), scored like ADAQ: content / source token F1 at the targets."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from quotes_russian import evaluate, load

    r = evaluate(load("all"))
    assert r["items"] >= 100
    assert r["tokens"]["content"]["f1"] >= 0.85, r["tokens"]
    assert r["tokens"]["source"]["f1"] >= 0.80, r["tokens"]
    assert r["attributions"]["speaker_acc"] >= 0.9, r["attributions"]
