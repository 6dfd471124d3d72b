"""Live ingestion: ``storylens watch`` polls feeds; a failing feed never stops the others; the web app shows new
articles without a restart."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from storylens.api.app import create_app
from storylens.api.watch import Watcher, parse_every
from storylens.pipeline import IngestReport, ItemResult
from storylens.settings import Settings


def test_parse_every() -> None:
    assert parse_every("10m") == 600 and parse_every("30s") == 30 and parse_every("2h") == 7200
    assert parse_every("45") == 45 and parse_every("1.5m") == 90
    for bad in ("", "soon", "10x", "0s", "-5m"):
        with pytest.raises(ValueError):
            parse_every(bad)


class FlakyCorpus:
    """Feed 'boom' raises, feed 'dead' is unreachable (every item rejected), the others bring one new article."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.n = 0

    def ingest(self, items: list[str]) -> IngestReport:
        (feed,) = items
        self.seen.append(feed)
        if feed == "boom":
            raise RuntimeError("parser exploded")
        if feed == "dead":
            return IngestReport(results=[ItemResult(source=feed, status="rejected", reason="cannot fetch dead")])
        self.n += 1
        return IngestReport(results=[ItemResult(source=f"{feed}/{self.n}", status="new", id=f"{feed}-{self.n}")])


def test_a_failing_feed_never_stops_the_others() -> None:
    c = FlakyCorpus()
    seen: list[str] = []
    w = Watcher(c, ["boom", "good-1", "dead", "good-2"], every_s=0.01,  # type: ignore[arg-type]
                on_poll=lambda p: seen.append(p.feed))
    polls = w.poll_once()
    assert [p.feed for p in polls] == ["boom", "good-1", "dead", "good-2"] == seen
    assert [p.ok for p in polls] == [False, True, False, True]
    assert "parser exploded" in (polls[0].error or "") and "cannot fetch dead" in (polls[2].error or "")
    assert polls[1].new_ids == ["good-1-1"] and polls[3].counts["new"] == 1
    w.run(rounds=2)
    assert c.seen.count("good-2") == 3 and c.seen.count("boom") == 3


def test_a_failing_callback_does_not_stop_polling() -> None:
    def bad_callback(_: Any) -> None:
        raise ValueError("display broke")

    c = FlakyCorpus()
    polls = Watcher(c, ["a", "b"], on_poll=bad_callback).poll_once()  # type: ignore[arg-type]
    assert [p.ok for p in polls] == [True, True]


def test_watcher_stops_when_told() -> None:
    c = FlakyCorpus()
    stop = threading.Event()
    t = Watcher(c, ["a"], every_s=3600).start(stop)  # type: ignore[arg-type]
    stop.set()
    t.join(timeout=10)
    assert not t.is_alive() and c.seen == ["a"]


def test_cli_has_serve_and_watch() -> None:
    from storylens.cli import app

    r = CliRunner().invoke(app, ["watch", "--help"])
    assert r.exit_code == 0 and "--feed" in r.output and "--every" in r.output
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "127.0.0.1" in r.output
    r = CliRunner().invoke(app, ["watch", "--feed", "http://example.org/rss", "--every", "soon"])
    assert r.exit_code == 2


# ---- the real pipeline, with feeds served on loopback ----------------------------------------------------------------

PAGES = {
    "/a1": ("Harbour deal signed", "The port authority signed the harbour deal on Friday. “This deal secures "
            "two thousand jobs,” the mayor said after the ceremony."),
    "/a2": ("Harbour deal criticised", "Unions criticised the harbour deal on Saturday. “Jobs are not secured by "
            "a press release,” the union leader said."),
    "/a3": ("Harbour deal vote", "The council will vote on the harbour deal next week, officials said on Sunday."),
}


@pytest.fixture()
def feed_server() -> Iterator[tuple[str, list[str]]]:
    entries = ["/a1", "/a2"]

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            port = self.server.server_address[1]
            if self.path == "/rss":
                items = "".join(f"<item><title>{PAGES[p][0]}</title><link>http://127.0.0.1:{port}{p}</link>"
                                f"<pubDate>Fri, 0{i + 1} Mar 2024 10:00:00 GMT</pubDate></item>"
                                for i, p in enumerate(entries))
                body = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port News</title>{items}'
                        f"</channel></rss>").encode()
                ctype = "application/rss+xml"
            elif self.path in PAGES:
                t, x = PAGES[self.path]
                body = f"<html><head><title>{t}</title></head><body><article><h1>{t}</h1><p>{x}</p></article></body></html>".encode()
                ctype = "text/html; charset=utf-8"
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", entries
    srv.shutdown()


def test_watch_ingests_new_entries_and_the_app_shows_them(tmp_path: Path,
                                                          feed_server: tuple[str, list[str]]) -> None:
    from storylens.corpus import Corpus

    base, entries = feed_server
    s = Settings(db_url=f"sqlite:///{tmp_path / 'watch.db'}")
    s.ingest.allow_private_urls = True  # the test feeds live on loopback
    corpus = Corpus(s.db_url, settings=s)
    client = TestClient(create_app(Settings(db_url=s.db_url)))
    assert client.get("/api/health").json()["articles"] == 0
    w = Watcher(corpus, [f"{base}/missing.rss", "http://127.0.0.1:9/rss", f"{base}/rss"], every_s=1)
    polls = w.poll_once()
    assert [p.ok for p in polls] == [False, False, True], polls
    assert polls[2].counts["new"] == 2
    assert client.get("/api/health").json()["articles"] == 2
    entries.append("/a3")
    polls = w.poll_once()
    assert polls[2].counts["new"] == 1 and polls[2].counts["unchanged"] == 2
    assert client.get("/api/health").json()["articles"] == 3  # same app, no restart
    titles = {a["title"] for a in client.get("/api/articles").json()["items"]}
    assert "Harbour deal vote" in titles
    corpus.close()
