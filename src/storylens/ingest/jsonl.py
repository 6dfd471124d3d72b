"""Readers for the input contract: ``.jsonl`` (one record a line), ``.json`` (a record or a list), stdin JSONL,
and records handed over by Python callers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from storylens.ingest._common import InputError, decode_bytes, read_limited, record_to_raw, too_big
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings


def read_records(records: Iterable[Mapping[str, Any]], source: str = "api") -> Iterator[RawDocument | ReadError]:
    """Input-contract dicts from the API / Python callers; source is ``<source>#<n>`` (1-based)."""
    for i, rec in enumerate(records, 1):
        yield record_to_raw(rec, f"{source}#{i}")


def read_jsonl_stream(stream: IO[bytes], name: str, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    """JSONL, line by line (streamed: the size limit applies to each line); a malformed line is a ReadError
    with source ``name#lineno`` and the other lines still load."""
    n_ok = 0
    lineno = 0
    for lineno, line in enumerate(stream, 1):
        source = f"{name}#{lineno}"
        if len(line) > settings.max_bytes:
            yield ReadError(source, too_big(f"line {lineno} of {name}", len(line), settings.max_bytes))
            continue
        if not line.strip():
            continue
        try:
            text = decode_bytes(line, f"line {lineno} of {name}")
            rec = json.loads(text)
        except InputError as e:
            yield ReadError(source, str(e))
            continue
        except json.JSONDecodeError as e:
            yield ReadError(source, f"malformed JSON on line {lineno} of {name}: {e.msg} (column {e.colno})")
            continue
        n_ok += 1
        yield record_to_raw(rec, source)
    if lineno == 0:
        yield ReadError(name, f"{name} is empty")


def read_jsonl_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    try:
        fh = path.open("rb")
    except OSError as e:
        yield ReadError(str(path), f"cannot read {path}: {e.strerror or e}")
        return
    with fh:
        yield from read_jsonl_stream(fh, str(path), settings)


def read_json_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    """A ``.json`` file: one record, a list of records, or ``{"articles": [...]}``."""
    try:
        data = json.loads(decode_bytes(read_limited(path, settings.max_bytes), f"file {path}"))
    except InputError as e:
        yield ReadError(str(path), str(e))
        return
    except json.JSONDecodeError as e:
        yield ReadError(str(path), f"malformed JSON in {path}: {e.msg} (line {e.lineno}, column {e.colno})")
        return
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, list):
        for i, rec in enumerate(data, 1):
            yield record_to_raw(rec, f"{path}#{i}")
    else:
        yield record_to_raw(data, str(path))
