"""storylens.ingest: readers that turn files, directories, stdin, URLs and feeds into :class:`RawDocument` values.

Every per-item problem is a :class:`ReadError` in the stream (never an exception that stops the batch).

>>> from storylens.ingest import read_inputs
>>> from storylens.settings import IngestSettings
>>> docs = list(read_inputs(["articles/", "dump.jsonl"], IngestSettings()))
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from storylens.ingest._common import InputError, decode_bytes, record_to_raw
from storylens.ingest.feed import read_feed_file
from storylens.ingest.html import read_html_file
from storylens.ingest.jsonl import read_json_file, read_jsonl_file, read_jsonl_stream, read_records
from storylens.ingest.text import read_text_file
from storylens.ingest.url import read_url
from storylens.ingest.warc import read_warc_file
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings

__all__ = [
    "InputError", "decode_bytes", "read_inputs", "read_path", "read_records",
    "record_to_raw",
]

Reader = Callable[[Path, IngestSettings], Iterator[RawDocument | ReadError]]

READERS: dict[str, Reader] = {
    ".txt": read_text_file,
    ".text": read_text_file,
    ".html": read_html_file,
    ".htm": read_html_file,
    ".xhtml": read_html_file,
    ".json": read_json_file,
    ".jsonl": read_jsonl_file,
    ".ndjson": read_jsonl_file,
    ".warc": read_warc_file,
    ".warc.gz": read_warc_file,
    ".xml": read_feed_file,
    ".rss": read_feed_file,
    ".atom": read_feed_file,
}


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".warc.gz"):
        return ".warc.gz"
    return path.suffix.lower()


def _sniff(path: Path) -> Reader:
    """The reader of a file named explicitly whose extension is not known, from its first bytes."""
    try:
        with path.open("rb") as fh:
            head = fh.read(2048)
    except OSError:
        return read_text_file
    h = head.lstrip().lower()
    if head.startswith(b"WARC/") or head.startswith(b"\x1f\x8b"):
        return read_warc_file
    if h.startswith((b"<!doctype html", b"<html")) or b"<body" in h:
        return read_html_file
    if h.startswith(b"<?xml") and (b"<rss" in h or b"<feed" in h):
        return read_feed_file
    if h.startswith(b"{"):
        return read_jsonl_file
    if h.startswith(b"["):
        return read_json_file
    return read_text_file


def _walk(root: Path, settings: IngestSettings) -> Iterator[Path | ReadError]:
    """Files under a directory with a known extension, recursively, in sorted order; unreadable entries
    are reported, not fatal."""
    exts = {e.lower() for e in settings.extensions}
    errors: list[ReadError] = []

    def onerror(e: OSError) -> None:
        errors.append(ReadError(str(e.filename or root), f"cannot read directory {e.filename}: {e.strerror}"))

    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in filenames:
            p = Path(dirpath) / fn
            if fn.startswith("."):
                continue
            if _suffix(p) in exts:
                found.append(p)
    yield from errors
    yield from sorted(found)


def read_path(path: Path, settings: IngestSettings, explicit: bool = True) -> Iterator[RawDocument | ReadError]:
    """One file, by extension (sniffed when named explicitly with an unknown extension)."""
    if not os.access(path, os.R_OK):
        yield ReadError(str(path), f"cannot read {path}: permission denied")
        return
    reader = READERS.get(_suffix(path))
    if reader is None:
        if not explicit:
            return
        reader = _sniff(path)
    try:
        yield from reader(path, settings)
    except OSError as e:
        yield ReadError(str(path), f"cannot read {path}: {e.strerror or e}")
    except Exception as e:  # noqa: BLE001 - one bad file never stops the batch
        yield ReadError(str(path), f"failed to read {path}: {type(e).__name__}: {e}")


def read_inputs(inputs: Iterable[str | Path], settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    """Files (.txt .html/.htm .json .jsonl .warc .warc.gz, feeds .xml/.rss), directories (recursive, sorted),
    ``-`` (JSONL on stdin) and http(s) URLs (a page, or an RSS/Atom feed: one document per entry)."""
    for item in inputs:
        s = str(item)
        try:
            if s == "-":
                yield from read_jsonl_stream(sys.stdin.buffer, "<stdin>", settings)
            elif s.startswith(("http://", "https://")):
                yield from read_url(s, settings)
            else:
                p = Path(s)
                if p.is_dir():
                    for f in _walk(p, settings):
                        if isinstance(f, ReadError):
                            yield f
                        else:
                            yield from read_path(f, settings, explicit=False)
                elif p.exists():
                    yield from read_path(p, settings)
                else:
                    yield ReadError(s, f"no such file or directory: {s}")
        except Exception as e:  # noqa: BLE001 - the rest of the inputs still load
            yield ReadError(s, f"failed to read {s}: {type(e).__name__}: {e}")
