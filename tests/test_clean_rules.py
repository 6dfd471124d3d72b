"""Cleaning and detection on constructed input: general rules, not seed facts."""

from __future__ import annotations

import datetime as dt

import pytest

from storylens.clean import FurnitureModel, clean_text, prepare
from storylens.clean.dateline import find_dateline
from storylens.clean.dates import infer_published, resolve_mentions
from storylens.clean.outlet import outlet_from_url, split_title_suffix
from storylens.model import RawDocument
from storylens.settings import Settings

S = Settings()
BODY = ("The minister said on Tuesday that talks would continue next month. “We are ready to talk,” she said.\n\n"
        "Officials from both sides met in Vienna for four hours and agreed to meet again.\n")


def test_html_without_article_raises() -> None:
    raw = RawDocument(source="empty.html", html="<html><body><nav><a href='/'>Home</a></nav></body></html>")
    with pytest.raises(ValueError, match="empty.html: no article text"):
        prepare(raw, S)


def test_item_with_nothing_raises() -> None:
    with pytest.raises(ValueError, match="no text and no html"):
        prepare(RawDocument(source="x"), S)


def test_only_furniture_raises() -> None:
    with pytest.raises(ValueError, match="no article text left"):
        prepare(RawDocument(source="f.txt", text="World\n\nLeave a Reply\n\nDiscuss\n"), S)


def test_html_metadata() -> None:
    html = ("<html><head><title>Talks resume in Vienna | Example Times</title>"
            "<meta property='og:site_name' content='Example Times'>"
            "<meta property='article:published_time' content='2022-03-04T10:00:00Z'></head>"
            "<body><article><h1>Talks resume in Vienna</h1>"
            + "".join(f"<p>{p}</p>" for p in BODY.split("\n\n")) * 2
            + "<p>Leave a Reply</p></article></body></html>")
    a = prepare(RawDocument(source="p.html", html=html, url="https://www.example-times.com/a"), S)
    assert a.title == "Talks resume in Vienna"
    assert a.published.value == dt.date(2022, 3, 4) and a.published.source == "metadata"
    assert a.outlet == "Example Times" and a.url == "https://www.example-times.com/a"
    assert "Leave a Reply" not in a.text and "Officials from both sides" in a.text


def test_russian_cp1251_article_language_and_dateline() -> None:
    text = ("Лавров прокомментировал переговоры\n\nМОСКВА, 8 июня. /ТАСС/. Министр иностранных дел России "
            "заявил во вторник, что переговоры продолжатся. «Мы готовы к диалогу», — сказал он.\n\nЧитайте также\n")
    a = prepare(RawDocument(source="ru.txt", text=text), S)
    assert a.language == "ru" and a.paragraphs[0].language == "ru"
    assert a.outlet == "TASS" and a.dateline == "МОСКВА"
    assert a.published.source == "dateline" and a.published.value and (a.published.value.month, a.published.value.day) == (6, 8)
    assert "Читайте также" not in a.text


def test_outlet_from_url_and_title_suffix() -> None:
    assert outlet_from_url("https://tass.com/politics/1") == "TASS"
    assert outlet_from_url("https://news.example.org/x") == "news.example.org"
    assert split_title_suffix("Talks resume :: World :: Example News") == ("Talks resume", "Example News", ["World"])
    assert split_title_suffix("Talks resume | BBC News")[1] == "BBC"
    assert split_title_suffix("A - B - C headline")[1] is None
    a = prepare(RawDocument(source="u", text=BODY, title="T", url="https://www.reuters.com/x"), S)
    assert a.outlet == "Reuters" and a.outlet_evidence and "URL" in a.outlet_evidence


def test_datelines() -> None:
    assert find_dateline("MOSCOW, June 8 (Reuters) - The ...").outlet == "Reuters"  # type: ignore[union-attr]
    assert find_dateline("NEW YORK (AP) — The ...").place == "NEW YORK"  # type: ignore[union-attr]
    assert find_dateline("The minister said.") is None


def test_learned_repetition_per_outlet() -> None:
    fm = FurnitureModel(min_articles=3)
    tagline = "Follow the Daily Planet on Mastodon for live updates"
    for i in range(3):
        fm.observe(RawDocument(source=f"{i}", text=f"Title {i}\n\nArticle body number {i} is unique here.\n\n{tagline}\n",
                               outlet="Daily Planet"))
    assert fm.is_furniture(tagline, "Daily Planet")
    assert not fm.is_furniture(tagline, "Other Outlet")
    fm2 = FurnitureModel.from_json(fm.to_json())
    a = prepare(RawDocument(source="n", text=f"New title\n\n{BODY}\n{tagline}\n", outlet="Daily Planet"), S, fm2)
    assert tagline not in a.text and any(r.rule == "repeated_line" for r in a.removed)
    # unknown outlets never teach furniture (syndicated copies would teach real sentences)
    fm3 = FurnitureModel(min_articles=2)
    for i in range(3):
        fm3.observe(RawDocument(source=f"{i}", text=f"T{i}\n\nSame short sentence.\n"))
    assert not fm3.is_furniture("Same short sentence.", None)


def test_rejoin_and_link_lines() -> None:
    text = ("Headline here\n\nThe talks were hailed by the chairman of the committee\n\nJohn Smith\n\n"
            "(Photo: A. Person / AFP)\n\nMore paragraphs follow with full sentences.\n\n"
            "Another Story About Something Else Entirely\n\nThe final paragraph ends here.\n")
    c = clean_text(text)
    assert c.title == "Headline here"
    assert "The talks were hailed by the chairman of the committee John Smith" in c.paragraphs
    rules = {r.text: r.rule for r in c.removed}
    assert rules["(Photo: A. Person / AFP)"] == "photo_credit"
    assert rules["Another Story About Something Else Entirely"] == "link_to_other_story"


def test_stray_foreign_menu_word_and_lines() -> None:
    text = ("Title\n\nThe minister said the plan is... Еще under review and will be published soon, officials said.\n\n"
            "Новости партнеров\n")
    c = clean_text(text)
    assert c.paragraphs == ["The minister said the plan is... under review and will be published soon, officials said."]
    assert {r.text for r in c.removed} == {"Еще ", "Новости партнеров"}


def test_year_inferred_from_weekday_and_dateline() -> None:
    # of the years the office holder allows, only in 2023 is 3 March a Friday (or the day after one)
    text = "BERLIN, March 3. /TASS/. Chancellor Olaf Scholz said on Friday that talks would go on."
    p = infer_published(text, "March 3", upper=dt.date(2026, 1, 1))
    assert p.value == dt.date(2023, 3, 3) and p.source == "dateline" and p.inferred
    assert p.evidence and "Scholz" in p.evidence and "only consistent year 2023" in p.evidence


def test_unpinned_date_is_unknown_with_evidence() -> None:
    p = infer_published("He will travel to Rome on 16 July.", None, upper=dt.date(2026, 1, 1))
    assert p.value is None and p.source == "unknown" and p.evidence and "16 July" in p.evidence


def test_relative_mentions() -> None:
    ms = resolve_mentions("She spoke on Monday and will return on June 16. Yesterday was calm.", dt.date(2021, 6, 9))
    got = {m.text: m.value for m in ms}
    assert got == {"on Monday": dt.date(2021, 6, 7), "June 16": dt.date(2021, 6, 16), "Yesterday": dt.date(2021, 6, 8)}
    ru = {m.text: m.value for m in resolve_mentions("Он заявил в понедельник, что 16 июня встреча состоится.",
                                                    dt.date(2021, 6, 9), ["ru"])}
    assert ru["в понедельник"] == dt.date(2021, 6, 7) and ru["16 июня"] == dt.date(2021, 6, 16)


def test_furniture_candidates_are_bounded_and_furniture_still_learned() -> None:
    fm = FurnitureModel(max_candidates=50)
    def word(i: int) -> str:  # digits fold to one key, so unique lines need unique words
        return "".join("abcdefghij"[int(c)] for c in str(i))

    for i in range(400):
        lines = [f"Storm reaches the {word(i)} harbour", "Follow Harbor Wire on Telegram"]
        fm.observe(lines, outlet="Harbor Wire", key=f"a{i}")
        assert len(fm._seen) <= 50
    assert fm.is_furniture("Follow Harbor Wire on Telegram", "Harbor Wire")
    assert not fm.is_furniture(f"Storm reaches the {word(399)} harbour", "Harbor Wire")
    assert len(fm.to_json()) < 20_000  # the stored state stays small on an endless feed
