"""Readers: every file type, directories, stdin, and the bad-input list of issue 2 at the reader level."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from storylens.ingest import read_inputs, read_records
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

S = IngestSettings()
ARTICLE = "A headline\n\nThe first paragraph of the article says something. It has two sentences.\n"
RU = "Заголовок новости\n\nПрезидент России заявил в понедельник, что переговоры продолжатся. Это важно.\n"


def read(*inputs: str | Path, settings: IngestSettings = S) -> list[RawDocument | ReadError]:
    return list(read_inputs(list(inputs), settings))


def test_txt(tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text(ARTICLE, encoding="utf-8")
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.text == ARTICLE and doc.source == str(p) and doc.key == str(p)


def test_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.txt"
    p.write_bytes(b"")
    (err,) = read(p)
    assert isinstance(err, ReadError) and "empty" in err.reason and str(p) in err.reason
    p.write_bytes(b"  \n\n ")
    (err,) = read(p)
    assert isinstance(err, ReadError) and "empty" in err.reason


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "image.txt"
    p.write_bytes(bytes(range(256)) * 40)
    (err,) = read(p)
    assert isinstance(err, ReadError) and "binary" in err.reason


def test_big_file_refused_with_size(tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    with p.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    (err,) = read(p)
    assert isinstance(err, ReadError)
    assert str(p) in err.reason and "50.0 MB" in err.reason and "limit" in err.reason
    small = IngestSettings(max_bytes=10)
    q = tmp_path / "q.txt"
    q.write_text(ARTICLE)
    (err,) = read(q, settings=small)
    assert isinstance(err, ReadError) and "above the size limit" in err.reason


def test_invalid_utf8_does_not_crash(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_bytes(ARTICLE.encode() + b"caf\xe9 \xff\xfe broken " + "ещё текст".encode())
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.text and "The first paragraph" in doc.text
    assert "ещё текст" in doc.text  # mostly UTF-8: the good parts survive


def test_cp1251_russian(tmp_path: Path) -> None:
    p = tmp_path / "ru.txt"
    p.write_bytes(RU.encode("cp1251"))
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.text == RU


def test_latin1(tmp_path: Path) -> None:
    p = tmp_path / "fr.txt"
    text = "Le président a déclaré à la presse que la réunion était très importante pour l'économie.\n"
    p.write_bytes(text.encode("latin-1"))
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.text == text


def test_html_file(tmp_path: Path) -> None:
    p = tmp_path / "page.html"
    p.write_bytes("<html><head><meta charset='windows-1251'><title>Т</title></head><body><p>Привет</p></body></html>"
                  .encode("cp1251"))
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.html and "Привет" in doc.html and doc.text is None


def test_jsonl_malformed_line_and_missing_text(tmp_path: Path) -> None:
    p = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "a1", "text": "Body one.", "title": "T1", "outlet": "TASS", "published": "2021-06-08"}),
             "{not json",
             json.dumps({"id": "a3", "title": "no body"}),
             "",
             json.dumps({"html": "<p>x</p>", "url": "https://example.com/x", "extra": 1}),
             json.dumps([1, 2])]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = read(p)
    assert [type(x).__name__ for x in out] == ["RawDocument", "ReadError", "ReadError", "RawDocument", "ReadError"]
    a1, bad, nobody, html, notobj = out
    assert isinstance(a1, RawDocument) and a1.id == "a1" and a1.key == "a1" and a1.outlet == "TASS"
    assert a1.source == f"{p}#1" and a1.published == "2021-06-08"
    assert isinstance(bad, ReadError) and bad.source == f"{p}#2" and "malformed JSON" in bad.reason
    assert isinstance(nobody, ReadError) and "neither 'text' nor 'html'" in nobody.reason
    assert isinstance(html, RawDocument) and html.key == f"{p}#5" and html.meta == {"extra": 1}
    assert isinstance(notobj, ReadError) and "not a JSON object" in notobj.reason


def test_json_file(tmp_path: Path) -> None:
    p = tmp_path / "one.json"
    p.write_text(json.dumps({"id": "x", "text": "Hello world."}))
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.key == "x"
    p2 = tmp_path / "many.json"
    p2.write_text(json.dumps([{"text": "a"}, {"title": "b"}]))
    a, b = read(p2)
    assert isinstance(a, RawDocument) and a.source == f"{p2}#1" and isinstance(b, ReadError)
    p3 = tmp_path / "broken.json"
    p3.write_text("{")
    (err,) = read(p3)
    assert isinstance(err, ReadError) and "malformed JSON" in err.reason


def test_read_records() -> None:
    out = list(read_records([{"text": "x"}, {"title": "nothing"}, {"html": "<p>a</p>", "id": 7}], source="api"))
    assert isinstance(out[0], RawDocument) and out[0].source == "api#1"
    assert isinstance(out[1], ReadError) and "neither" in out[1].reason
    assert isinstance(out[2], RawDocument) and out[2].id == "7"


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (json.dumps({"text": "From stdin."}) + "\n{oops\n").encode()

    class FakeStdin:
        buffer = io.BytesIO(data)

    monkeypatch.setattr(sys, "stdin", FakeStdin())
    a, b = read("-")
    assert isinstance(a, RawDocument) and a.text == "From stdin." and a.source == "<stdin>#1"
    assert isinstance(b, ReadError) and b.source == "<stdin>#2"


def test_directory_recursive_sorted_with_unreadable(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text(ARTICLE)
    (tmp_path / "1.txt").write_text(ARTICLE)
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "x"}) + "\n")
    (tmp_path / "ignored.png").write_bytes(b"\x89PNG")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing-target.txt")
    locked = tmp_path / "locked.txt"
    locked.write_text(ARTICLE)
    locked.chmod(0)
    out = read(tmp_path)
    locked.chmod(0o644)
    docs = [x for x in out if isinstance(x, RawDocument)]
    errs = [x for x in out if isinstance(x, ReadError)]
    assert [Path(d.source).name for d in docs if d.source.endswith(".txt")][:2] == ["1.txt", "2.txt"]
    assert any("dangling.txt" in e.source for e in errs)
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        assert any("locked.txt" in e.source for e in errs)
    assert all(e.reason for e in errs)


def test_missing_path_and_unknown_extension(tmp_path: Path) -> None:
    (err,) = read(tmp_path / "nope.txt")
    assert isinstance(err, ReadError) and "no such file" in err.reason
    p = tmp_path / "article.md"
    p.write_text(ARTICLE)
    (doc,) = read(p)
    assert isinstance(doc, RawDocument) and doc.text == ARTICLE


def test_bad_items_do_not_stop_the_batch(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(b"")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "c.txt").write_text(ARTICLE)
    out = read(tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "missing", tmp_path / "c.txt")
    assert [type(x).__name__ for x in out] == ["ReadError"] * 3 + ["RawDocument"]


def test_feed_file_uses_entry_content(tmp_path: Path) -> None:
    p = tmp_path / "feed.xml"
    p.write_text("""<?xml version="1.0"?><rss version="2.0"><channel><title>Site</title>
<item><title>One</title><link>https://example.com/1</link><pubDate>Tue, 08 Jun 2021 10:00:00 GMT</pubDate>
<description>&lt;p&gt;First entry text.&lt;/p&gt;</description></item>
<item><title>Two</title><link>https://example.com/2</link></item></channel></rss>""")
    a, b = read(p)
    assert isinstance(a, RawDocument) and a.title == "One" and a.url == "https://example.com/1"
    assert a.published and "2021" in a.published and a.html and "First entry" in a.html
    assert isinstance(b, ReadError) and "no content" in b.reason
