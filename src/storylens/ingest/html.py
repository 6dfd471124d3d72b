"""Reader for ``.html`` / ``.htm`` pages, and the main-text extraction (trafilatura) used by cleaning."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from storylens.ingest._common import InputError, decode_html, read_limited
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings


def read_html_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    try:
        data = read_limited(path, settings.max_bytes)
        html = decode_html(data, f"file {path}")
    except InputError as e:
        yield ReadError(str(path), str(e), "read")
        return
    yield RawDocument(source=str(path), html=html)


@dataclass(slots=True)
class Extracted:
    text: str
    title: str | None = None
    date: str | None = None
    sitename: str | None = None
    url: str | None = None
    hostname: str | None = None
    language: str | None = None


def extract_html(html: str, url: str | None = None) -> Extracted | None:
    """Main text and metadata of a page with trafilatura (comments excluded); None when it has no article."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, url=url, include_comments=False, with_metadata=True)
    if doc is None:
        return None
    text = getattr(doc, "text", None)
    if not text or not text.strip():
        return None
    return Extracted(text=text, title=getattr(doc, "title", None), date=getattr(doc, "date", None),
                     sitename=getattr(doc, "sitename", None), url=getattr(doc, "url", None),
                     hostname=getattr(doc, "hostname", None), language=getattr(doc, "language", None))
