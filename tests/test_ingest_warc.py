"""WARC reader: HTML responses only, per-record errors."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storylens.ingest import read_inputs
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

PAGE = ("<html><head><title>Summit talks</title></head><body><article><h1>Summit talks</h1>"
        + "<p>The leaders met on Monday and discussed arms control at length in Geneva.</p>" * 5
        + "</article></body></html>")


def _write(path: Path, gz: bool) -> None:
    with path.open("wb") as fh:
        w = WARCWriter(fh, gzip=gz)
        for uri, ctype, body, status in [
            ("https://news.example.com/a", "text/html; charset=utf-8", PAGE.encode(), "200 OK"),
            ("https://news.example.com/logo.png", "image/png", b"\x89PNG....", "200 OK"),
            ("https://news.example.com/gone", "text/html", b"<html>404</html>", "404 Not Found"),
        ]:
            headers = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(uri, "response", payload=BytesIO(body), http_headers=headers))
        w.write_record(w.create_warc_record("https://news.example.com/a", "request", payload=BytesIO(b"GET /a")))


def test_warc_html_responses_only(tmp_path: Path) -> None:
    for gz, name in ((False, "x.warc"), (True, "x.warc.gz")):
        p = tmp_path / name
        _write(p, gz)
        out = list(read_inputs([p], IngestSettings()))
        assert len(out) == 1, out
        (doc,) = out
        assert isinstance(doc, RawDocument)
        assert doc.url == "https://news.example.com/a" and doc.html and "Geneva" in doc.html
        assert doc.source.startswith(f"{p}#") and doc.meta.get("fetched")


def test_warc_not_an_archive(tmp_path: Path) -> None:
    p = tmp_path / "bad.warc"
    p.write_bytes(b"this is not a warc file\n" * 10)
    out = list(read_inputs([p], IngestSettings()))
    assert out and all(isinstance(x, ReadError) for x in out)
