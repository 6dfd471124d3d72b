"""Run the web app with uvicorn: ``run(db_url, host, port)`` (used by ``storylens serve`` and ``storylens demo``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from storylens.settings import Settings

log = logging.getLogger(__name__)


def run(db_url: str | None = None, host: str = "127.0.0.1", port: int = 8000, *, feeds: Sequence[str] = (),
        every_s: float = 600.0, allow_private: bool = False, settings: Settings | None = None,
        log_level: str = "info") -> None:
    """Serve the store at ``db_url`` on ``host:port`` until interrupted; optionally watch ``feeds`` meanwhile.

    Binding to anything but loopback without ``STORYLENS_TOKEN`` serves read-only: writes are refused.
    """
    import uvicorn

    from storylens.api.app import create_app, is_loopback, state_of_app

    settings = settings or Settings.from_env()
    if db_url:
        settings.db_url = db_url if "://" in db_url else f"sqlite:///{db_url}"
    settings.api.host, settings.api.port = host, port
    if allow_private:
        settings.ingest.allow_private_urls = True
    if not is_loopback(host) and not settings.api.token:
        log.warning("serving on %s without STORYLENS_TOKEN: the API is read-only", host)
    app = create_app(settings)
    stop = threading.Event()
    if feeds:
        from storylens.api.watch import Watcher

        st = state_of_app(app)
        Watcher(st.corpus, feeds, every_s, lock=st.ingest_lock,
                on_poll=lambda p: log.warning("feed %s: %s", p.feed, p.error) if not p.ok else None).start(stop)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)
    finally:
        stop.set()
