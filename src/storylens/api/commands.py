"""``storylens serve`` and ``storylens watch`` (registered into the CLI by :func:`register`)."""

from __future__ import annotations

import threading
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)

DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL or SQLite path (default: STORYLENS_DB or "
                                                         "./storylens.db)")]
EveryOpt = Annotated[str, typer.Option("--every", help="poll interval: 30s, 10m, 1h")]
PrivateOpt = Annotated[bool, typer.Option("--allow-private", help="allow feeds on loopback/private addresses")]


def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option(help="address to bind; anything but loopback needs STORYLENS_TOKEN for "
                                           "writes")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    feed: Annotated[list[str] | None, typer.Option("--feed", help="also watch this RSS/Atom feed (repeatable)")] = None,
    every: EveryOpt = "10m",
    allow_private: PrivateOpt = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help="server processes: reads scale with cores (one more "
                                                             "process, the writer, does every write)")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: critical, error, warning, info, debug")] = "info",
) -> None:
    """Serve the REST API (/api, OpenAPI at /docs) and the web app over a store."""
    from storylens.api.server import run

    every_s = _every(every)
    err.print(f"serving on http://{host if ':' not in host else f'[{host}]'}:{port}/ with {workers} "
              f"worker{'s' if workers > 1 else ''}  (Ctrl-C to stop)")
    try:
        run(db, host=host, port=port, feeds=feed or [], every_s=every_s, allow_private=allow_private,
            workers=workers, log_level=log_level)
    except ValueError as e:  # invalid settings, found before anything starts
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


def _every(every: str) -> float:
    """``--every`` in seconds, or a clear error and exit code 2."""
    from storylens.api.watch import parse_every

    try:
        return parse_every(every)
    except ValueError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from e


def watch(
    feed: Annotated[list[str], typer.Option("--feed", help="an RSS/Atom feed URL (repeatable)")],
    db: DbOpt = None,
    every: EveryOpt = "10m",
    once: Annotated[bool, typer.Option("--once", help="poll every feed once and exit")] = False,
    allow_private: PrivateOpt = False,
) -> None:
    """Poll feeds and ingest new articles as they appear; a failing feed never stops the others."""
    from storylens.api.watch import FeedPoll, Watcher
    from storylens.corpus import Corpus

    every_s = _every(every)
    c = Corpus(db)
    if allow_private:
        c.settings.ingest.allow_private_urls = True

    def report(p: FeedPoll) -> None:
        when = p.at.strftime("%H:%M:%S")
        if p.ok:
            n = p.counts
            err.print(f"{when} {p.feed}: {n.get('new', 0)} new, {n.get('duplicate', 0)} duplicates, "
                      f"{n.get('updated', 0)} updated, {n.get('unchanged', 0)} unchanged, "
                      f"{n.get('rejected', 0)} rejected")
        else:
            err.print(f"{when} [red]{p.feed} failed[/red]: {p.error}")

    w = Watcher(c, feed, every_s, on_poll=report)
    stop = threading.Event()
    try:
        if once:
            polls = w.poll_once()
            if not any(p.ok for p in polls):
                raise typer.Exit(1)
            return
        err.print(f"watching {len(w.feeds)} feed(s) every {every}  (Ctrl-C to stop)")
        w.run(stop)
    except KeyboardInterrupt:
        stop.set()
    finally:
        c.close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("watch")(watch)
