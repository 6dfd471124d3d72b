"""Run the web app with uvicorn: ``run(db_url, host, port, workers=N)`` (used by ``storylens serve`` and
``storylens demo``).

With ``workers`` > 1, uvicorn starts that many server processes on one socket; each builds the app with
:func:`app_from_env` from the settings the parent hands down in :data:`SETTINGS_ENV`.  Readers never block one
another (SQLite in WAL mode, or PostgreSQL), and writes from any process go through the store-wide writer lock.  A
feed watcher runs once, in the parent process.
"""

from __future__ import annotations

import base64
import logging
import os
import pickle
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

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
    if not is_loopback(host) and not settings.api.token:
        log.warning("serving on %s without STORYLENS_TOKEN: the API is read-only", host)
    stop = threading.Event()
    opts = {"host": host, "port": port, "log_level": log_level, "proxy_headers": False, "server_header": False}
    try:
        if workers == 1:
            app = create_app(settings)
            if feeds:
                from storylens.api.app import state_of_app

                st = state_of_app(app)
                _watch(st.corpus, feeds, every_s, stop, lock=st.ingest_lock)
            uvicorn.run(app, **opts)  # type: ignore[arg-type]
            return
        os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
        if feeds:
            from storylens.corpus import Corpus

            _watch(Corpus(settings.db_url, settings=settings), feeds, every_s, stop)
        uvicorn.run("storylens.api.server:app_from_env", factory=True, workers=workers, **opts)  # type: ignore[arg-type]
    finally:
        stop.set()
        os.environ.pop(SETTINGS_ENV, None)


def _watch(corpus: Corpus, feeds: Sequence[str], every_s: float, stop: threading.Event,
           lock: threading.Lock | None = None) -> None:
    """Poll ``feeds`` in a thread of this process until ``stop``."""
    from storylens.api.watch import Watcher

    Watcher(corpus, feeds, every_s, lock=lock,
            on_poll=lambda p: log.warning("feed %s: %s", p.feed, p.error) if not p.ok else None).start(stop)
