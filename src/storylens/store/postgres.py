"""PostgreSQL specifics of the store.

PostgreSQL ``text`` and ``json`` values cannot hold NUL (U+0000) characters, which SQLite accepts and which a
JSONL record can carry (``"\\u0000"``).  :func:`pg_safe` replaces them by U+FFFD, one code point for one, so every
character offset into the text stays valid.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"
REPLACEMENT = "\ufffd"


def pg_safe(value: Any) -> Any:
    """``value`` with every NUL in its strings (nested in dicts and lists too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {pg_safe(k): pg_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [pg_safe(v) for v in value]
    return value


def is_postgres(url_or_dialect: str) -> bool:
    return url_or_dialect.startswith("postgres")
