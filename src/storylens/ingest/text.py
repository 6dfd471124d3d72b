"""Reader for plain ``.txt`` articles (the first non-furniture line is the title: decided by cleaning)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from storylens.ingest._common import InputError, decode_bytes, read_limited
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings


def read_text_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    try:
        data = read_limited(path, settings.max_bytes)
        text = decode_bytes(data, f"file {path}")
    except InputError as e:
        yield ReadError(str(path), str(e), "read")
        return
    if not text.strip():
        yield ReadError(str(path), f"file {path} has no text", "read")
        return
    yield RawDocument(source=str(path), text=text)
