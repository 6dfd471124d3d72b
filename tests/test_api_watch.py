"""Live ingestion: ``storylens watch`` polls feeds; a failing feed never stops the others; the web app shows new
articles without a restart."""

from __future__ import annotations

import threading
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
