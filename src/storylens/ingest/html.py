"""Reader for ``.html`` / ``.htm`` pages (the main text is extracted by the clean stage: :mod:`storylens.clean.extract`)."""

from __future__ import annotations

from collections.abc import Iterator
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
