"""Run the web app with uvicorn: ``run(db_url, host, port, workers=N)`` (used by ``storylens serve`` and
``storylens demo``).

With ``workers`` > 1, uvicorn starts that many server processes on one socket; each builds the app with
:func:`app_from_env` from the settings the parent hands down in :data:`SETTINGS_ENV`.  Readers never block one
another (SQLite in WAL mode, or PostgreSQL).  Every write (posted articles, feed polls, narrative links,
comparisons of changed stories) is done by one writer child process (:mod:`storylens.api.writer_process`), restarted
when it dies; its writes go through the store-wide writer lock, so ``storylens ingest`` and ``storylens watch`` can
write at the same time.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import signal
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from storylens.api.writer_process import WriterProcess
from storylens.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from storylens.corpus import Corpus

log = logging.getLogger(__name__)

SETTINGS_ENV = "STORYLENS_SERVE_SETTINGS"  # the parent's settings for the worker processes (pickled, base64)


def app_from_env() -> FastAPI:
    """The app of one worker process: the settings the parent put in :data:`SETTINGS_ENV`, else the environment's."""
    from storylens.api.app import create_app

    packed = os.environ.get(SETTINGS_ENV)
    settings = pickle.loads(base64.b64decode(packed)) if packed else Settings.from_env()  # noqa: S301 - our parent's
    return create_app(settings)


def run(db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000, *, feeds: Sequence[str] = (),
        every_s: float = 600.0, allow_private: bool = False, settings: Settings | None = None,
        log_level: str = "info", workers: int = 1) -> None:
    """Serve the store at ``db_url`` on ``host:port`` with ``workers`` processes until interrupted; optionally watch
    ``feeds`` meanwhile.

    Binding to anything but loopback without ``STORYLENS_TOKEN`` serves read-only: writes are refused.
    """
    import uvicorn

    from storylens.api.app import create_app, is_loopback

    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    settings = settings or Settings.from_env()
    if db_url:
        settings.db_url = db_url if "://" in db_url else f"sqlite:///{db_url}"
    settings.api.host, settings.api.port = host, port
    if allow_private:
        settings.ingest.allow_private_urls = True
    settings.api.check()
    if not is_loopback(host) and not settings.api.token:
        log.warning("serving on %s without STORYLENS_TOKEN: the API is read-only", host)
    stop = threading.Event()
    writer: WriterProcess | None = None
    opts = {"host": host, "port": port, "log_level": log_level, "proxy_headers": False, "server_header": False}
    # uvicorn shuts down on SIGTERM, then raises the signal again to the handler it found: let that be an exit
    # that runs the `finally` below (which stops the writer process), not the default one that skips it
    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main else None
    try:
        if settings.api.writer_process and _shared_by_processes(settings.db_url):
            # every write (posts, feed polls, narratives, comparisons) in one child process: the serving
            # processes only read
            writer = WriterProcess(settings, feeds=feeds, every_s=every_s).start()
        elif feeds:  # a corpus of its own: the store-wide writer lock orders its writes with the server's
            from storylens.corpus import Corpus

            _watch(Corpus(settings.db_url, settings=settings), feeds, every_s, stop)
        if workers == 1:
            uvicorn.run(create_app(settings), **opts)  # type: ignore[arg-type]
            return
        os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
        uvicorn.run("storylens.api.server:app_from_env", factory=True, workers=workers, **opts)  # type: ignore[arg-type]
    finally:
        stop.set()
        if writer is not None:
            writer.stop()
        os.environ.pop(SETTINGS_ENV, None)
        if main:
            signal.signal(signal.SIGTERM, before)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _shared_by_processes(db_url: str) -> bool:
    """Whether other processes can open the same store (not an in-memory SQLite database)."""
    return not (db_url.startswith("sqlite") and (db_url in ("sqlite://", "sqlite:///:memory:")
                                                 or ":memory:" in db_url or "mode=memory" in db_url))


def _watch(corpus: Corpus, feeds: Sequence[str], every_s: float, stop: threading.Event) -> None:
    """Poll ``feeds`` in a thread of this process until ``stop``."""
    from storylens.api.watch import Watcher

    Watcher(corpus, feeds, every_s,
            on_poll=lambda p: log.warning("feed %s: %s", p.feed, p.error) if not p.ok else None).start(stop)
