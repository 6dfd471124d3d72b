"""Reader for RSS / Atom feeds (feedparser): one document per entry.

From a URL each entry's page is fetched (its main text comes from the page); when the page cannot be
fetched the entry's own content / summary is used, and an entry with neither is a per-item error.
A local feed file never touches the network: entries carry their own content.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from storylens.ingest._common import InputError, read_limited
from storylens.model import RawDocument, ReadError
from storylens.settings import IngestSettings


def _entry_html(entry: Any) -> str | None:
    for c in entry.get("content") or []:
        if c.get("value", "").strip():
            return str(c["value"])
    summary = entry.get("summary")
    return str(summary) if summary and str(summary).strip() else None


def _published(entry: Any) -> str | None:
    for key in ("published", "updated", "created"):
        if entry.get(key):
            return str(entry[key])
    return None


def read_feed_bytes(data: bytes, name: str, settings: IngestSettings,
                    client: httpx.Client | None = None) -> Iterator[RawDocument | ReadError]:
    import feedparser

    from storylens.ingest.url import fetch, to_raw

    parsed = feedparser.parse(data)
    entries = parsed.get("entries") or []
    if not entries:
        reason = f"{name} is not a feed with entries"
        if parsed.get("bozo"):
            reason += f" ({parsed.get('bozo_exception')})"
        yield ReadError(name, reason)
        return
    site = (parsed.get("feed") or {}).get("title")
    for i, entry in enumerate(entries, 1):
        link = entry.get("link")
        source = str(link) if link else f"{name}#{i}"
        fields: dict[str, str | None] = {"title": entry.get("title"), "published": _published(entry),
                                         "id": None}
        fetch_error = None
        if client is not None and link:
            try:
                f = fetch(str(link), settings, client)
                raw = to_raw(f, source, **fields)
                raw.meta["feed"] = name
                if site:
                    raw.meta["feed_title"] = str(site)
                yield raw
                continue
            except InputError as e:
                fetch_error = str(e)
        html = _entry_html(entry)
        if html is None:
            yield ReadError(source, fetch_error or f"feed entry {i} of {name} has no content and no page")
            continue
        meta: dict[str, Any] = {"feed": name}
        if fetch_error:
            meta["fetch_error"] = fetch_error
        yield RawDocument(source=source, url=str(link) if link else None, html=html, meta=meta, **fields)


def read_feed_file(path: Path, settings: IngestSettings) -> Iterator[RawDocument | ReadError]:
    try:
        data = read_limited(path, settings.max_bytes)
    except InputError as e:
        yield ReadError(str(path), str(e))
        return
    yield from read_feed_bytes(data, str(path), settings, None)
