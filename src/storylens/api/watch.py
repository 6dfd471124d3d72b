"""Live ingestion: poll RSS/Atom feeds and ingest what is new, one feed at a time.

Each feed goes through the ingest readers (``storylens.ingest``: the URL reader refuses private addresses unless
allowed, the feed reader fetches each entry's page) and :meth:`storylens.Corpus.ingest`, which stores new articles,
skips unchanged ones (by content hash) and assigns stories.  A feed that fails — unreachable, not a feed, or an
exception anywhere in its ingest — is reported and the next feed is polled as usual.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

from storylens.corpus import Corpus

log = logging.getLogger(__name__)

_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_every(value: str) -> float:
    """``"10m"`` → 600.0; plain numbers are seconds; at least 1 s."""
    m = _EVERY.match(value)
    if not m:
        raise ValueError(f"--every must look like 30s, 10m, 1h or 1d, not {value!r}")
    seconds = float(m.group(1)) * _UNIT[(m.group(2) or "s").lower()]
    if seconds < 1:
        raise ValueError("--every must be at least 1 second")
    return seconds


@dataclass(slots=True)
class FeedPoll:
    """The outcome of polling one feed once."""

    feed: str
    ok: bool
    at: dt.datetime
    counts: dict[str, int] = field(default_factory=dict)
    new_ids: list[str] = field(default_factory=list)
    error: str | None = None


class Watcher:
    """Polls ``feeds`` every ``every_s`` seconds into ``corpus``.

    ``lock`` serialises ingests with other writers in the same process (the web app's POST /api/articles).
    """

    def __init__(self, corpus: Corpus, feeds: Sequence[str], every_s: float = 600.0,
                 lock: AbstractContextManager[object] | None = None,
                 on_poll: Callable[[FeedPoll], None] | None = None) -> None:
        if not feeds:
            raise ValueError("no feeds to watch")
        self.corpus = corpus
        self.feeds = list(dict.fromkeys(feeds))
        self.every_s = every_s
        self.lock: AbstractContextManager[object] = lock if lock is not None else nullcontext()
        self.on_poll = on_poll
        self.history: list[FeedPoll] = []

    def poll_feed(self, feed: str) -> FeedPoll:
        now = dt.datetime.now(dt.UTC)
        try:
            with self.lock:
                report = self.corpus.ingest([feed])
        except Exception as e:  # noqa: BLE001 - one feed never stops the others
            log.warning("feed %s failed: %s", feed, e)
            return FeedPoll(feed=feed, ok=False, at=now, error=f"{type(e).__name__}: {e}")
        counts = report.counts()
        ok_results = [r for r in report.results if r.status != "rejected"]
        error = None
        if report.results and not ok_results:
            reasons = sorted({r.reason or "rejected" for r in report.rejected})
            error = "; ".join(reasons[:3])
        elif not report.results:
            error = "the feed had no entries"
        new_ids = [r.id for r in report.results if r.status in ("new", "updated", "duplicate") and r.id]
        return FeedPoll(feed=feed, ok=error is None, at=now, counts=counts, new_ids=new_ids, error=error)

    def poll_once(self) -> list[FeedPoll]:
        """Poll every feed once, in order; failures are recorded, never raised."""
        out = []
        for feed in self.feeds:
            result = self.poll_feed(feed)
            out.append(result)
            self.history.append(result)
            del self.history[:-1000]
            if self.on_poll is not None:
                try:
                    self.on_poll(result)
                except Exception:  # noqa: BLE001 - a reporting problem must not stop polling
                    log.exception("on_poll callback failed")
        return out

    def run(self, stop: threading.Event | None = None, rounds: int | None = None) -> None:
        """Poll until ``stop`` is set (or ``rounds`` polls are done), sleeping ``every_s`` between rounds."""
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set():
            self.poll_once()
            done += 1
            if rounds is not None and done >= rounds:
                return
            stop.wait(self.every_s)

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run in a daemon thread (used by ``storylens serve --feed``)."""
        t = threading.Thread(target=self.run, args=(stop,), name="storylens-watch", daemon=True)
        t.start()
        return t
