"""Shared helpers of the readers: byte limits, encoding detection, input-contract records."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storylens.model import RawDocument, ReadError

PREFERRED_ENCODINGS = ("utf_8", "cp1252", "cp1251", "latin_1", "koi8_r", "iso8859_15", "cp1250")
CONTRACT_KEYS = ("id", "url", "title", "text", "html", "published", "outlet", "language")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)


class InputError(Exception):
    """A per-item problem a reader reports as a :class:`ReadError`."""


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


def too_big(what: str, size: int, limit: int) -> str:
    return (f"{what} is {human_bytes(size)} ({size} bytes), above the size limit of {human_bytes(limit)} "
            f"(settings.ingest.max_bytes / STORYLENS_MAX_BYTES); refused")


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The bytes of a file, or :class:`InputError` for an empty or over-sized file."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(too_big(f"file {path}", size, max_bytes))
    data = path.read_bytes()
    if not data.strip():
        raise InputError(f"file {path} is empty")
    return data


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if b"\x00" in head:
        # UTF-16 text has NULs too; charset_normalizer decides below
        return not (head.startswith((b"\xff\xfe", b"\xfe\xff")))
    return False


def decode_bytes(data: bytes, what: str = "input", declared: str | None = None) -> str:
    """Decode text of unknown encoding: BOM / declared charset / UTF-8, else charset_normalizer's best guess
    (cp1251, latin-1 ...).  Never raises on undecodable bytes of a text file; binary data is an InputError."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if looks_binary(data):
        raise InputError(f"{what} looks binary (NUL bytes), not text")
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # mostly UTF-8 with a few broken bytes: keep UTF-8 and replace the broken bytes
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    valid_multibyte = sum(1 for ch in lenient if ord(ch) > 127) - bad
    if valid_multibyte >= max(bad, 1) and bad / max(len(lenient), 1) < 0.05:
        return lenient
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    if not results:
        raise InputError(f"{what} is not text in any known encoding (binary file?)")
    best = results[0]
    # equally good guesses: prefer the encodings the web actually uses (cp1252 for latin-1 pages)
    ties = [r for r in results if r.chaos <= best.chaos and r.coherence >= best.coherence - 0.01]
    for enc in PREFERRED_ENCODINGS:
        pick = next((r for r in ties if r.encoding == enc), None)
        if pick is not None:
            best = pick
            break
    text = str(best)
    if _control_ratio(text) > 0.05:
        raise InputError(f"{what} looks binary, not text")
    return text


def _control_ratio(text: str) -> float:
    sample = text[:8192]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    return bad / len(sample)


def html_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii", "replace") if m else None


def decode_html(data: bytes, what: str = "page", declared: str | None = None) -> str:
    return decode_bytes(data, what, declared or html_charset(data))


def _str(v: Any) -> str | None:
    if v is None:
        return None
    s = v if isinstance(v, str) else str(v)
    return s if s.strip() else None


def record_to_raw(rec: Any, source: str) -> RawDocument | ReadError:
    """One input-contract record (``{"id","url","title","text"|"html","published","outlet","language"}``)."""
    if not isinstance(rec, Mapping):
        return ReadError(source, f"record is a {type(rec).__name__}, not a JSON object", "read")
    text = rec.get("text")
    html = rec.get("html")
    text = text if isinstance(text, str) and text.strip() else None
    html = html if isinstance(html, str) and html.strip() else None
    if text is None and html is None:
        return ReadError(source, "record has neither 'text' nor 'html' (one of them is required)", "read")
    published = rec.get("published")
    return RawDocument(
        source=source,
        id=_str(rec.get("id")),
        url=_str(rec.get("url")),
        title=_str(rec.get("title")),
        text=text,
        html=html,
        published=_str(published),
        outlet=_str(rec.get("outlet")),
        language=_str(rec.get("language")),
        meta={k: v for k, v in rec.items() if k not in CONTRACT_KEYS},
    )
