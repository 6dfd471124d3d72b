"""The writer of a server: ``storylens serve`` does every write (posts, narrative links, comparisons of changed
stories) in one writer child process, restarts it when it dies, and its serving processes only read; a reader serves
a story's last stored comparison while the writer computes it again; a writer that cannot answer is a 503, never a
hung request."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from conftest import NewsStore, process_group, terminate_group
from storylens.api.app import create_app
from storylens.api.writer import GREETING, WriterClient, WriterUnavailable
from storylens.corpus import Corpus
from storylens.settings import ApiSettings, Settings

ARTICLE = {"id": "wr-1", "title": "Ferry strike ends", "published": "2025-05-02",
           "text": "The ferry strike in Lindhaven ended on Friday. “We have a deal,” the union leader said."}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _loaded_spacy(pid: int) -> bool:
    """Whether the process has spaCy's compiled modules mapped, i.e. imported the analysis models."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
    return "/spacy/" in maps or "/thinc/" in maps


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    base: str
    db: str

    def writers(self) -> list[int]:
        return [p for p, cmd in process_group(self.proc.pid).items() if "storylens.api.writer_process" in cmd]

    def servers(self) -> list[int]:
        return [p for p, cmd in process_group(self.proc.pid).items() if "spawn_main" in cmd]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, news_store: NewsStore) -> Iterator[Served]:
    """``storylens serve --workers 2`` over a copy of the news store."""
    db = news_store.copy(tmp_path_factory.mktemp("writer") / "w.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "STORYLENS_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "storylens.cli", "serve", "--db", db, "--port", str(port),
                             "--workers", "2", "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    s = Served(proc, f"http://127.0.0.1:{port}", db)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{s.base}/api/health", timeout=2).status_code == 200 and len(s.servers()) == 2 \
                        and s.writers():
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert proc.poll() is None and len(s.servers()) == 2 and len(s.writers()) == 1, \
            proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else process_group(proc.pid)
        yield s
    finally:
        assert terminate_group(proc) == {}


def test_posts_are_analysed_by_the_writer_process_not_the_serving_ones(served: Served) -> None:
    r = httpx.post(f"{served.base}/api/articles", json=ARTICLE, timeout=300)
    assert r.status_code == 200 and r.json()["counts"]["new"] == 1, r.text
    story_id = r.json()["results"][0]["story_id"]
    writer = served.writers()
    assert len(writer) == 1 and _loaded_spacy(writer[0])  # the writer analysed it
    with httpx.Client(base_url=served.base, timeout=300) as c:
        for _ in range(6):  # each serving process reads the article and its new story, compared by the writer
            assert c.get(f"/api/articles/{ARTICLE['id']}").status_code == 200
            story = c.get(f"/api/stories/{story_id}").json()
            assert story["comparison"] is not None and ARTICLE["id"] in story["comparison"]["articles"]
            assert story["comparison_stale"] is False
    assert not any(_loaded_spacy(p) for p in served.servers())


def test_a_changed_story_is_compared_again_by_the_writer(served: Served) -> None:
    """A post that changes a story leaves its stored comparison stale; readers serve it at once, marked stale, and
    the writer stores a current one in the background."""
    store = Corpus(served.db).store
    story = max(store.stories(), key=lambda s: len(s.articles))
    before = store.story_updated_at(story.id)
    first = store.article(story.articles[0])
    assert first is not None and before is not None and store.stored_comparison_text(story.id) is not None
    copy = {"id": "wr-copy", "title": first.title, "published": str(first.published.value or ""),
            "outlet": "copy.example", "text": first.text}
    r = httpx.post(f"{served.base}/api/articles", json=copy, timeout=300)
    assert r.status_code == 200 and r.json()["results"][0]["story_id"] == story.id, r.text
    after = store.story_updated_at(story.id)
    assert after is not None and after > before
    deadline = time.monotonic() + 120
    seen_current = False
    with httpx.Client(base_url=served.base, timeout=30) as c:
        while time.monotonic() < deadline and not seen_current:
            t = time.perf_counter()
            got = c.get(f"/api/stories/{story.id}")
            assert got.status_code == 200 and got.json()["comparison"] is not None
            assert time.perf_counter() - t < 10  # served from the store, never computed while the request waits
            seen_current = got.json()["comparison_stale"] is False
            time.sleep(0.1)
    assert seen_current
    stored = store.stored_comparison_text(story.id)
    assert stored is not None and stored[1]
    assert not any(_loaded_spacy(p) for p in served.servers())


def test_a_killed_writer_is_restarted_and_the_next_post_succeeds(served: Served) -> None:
    (old,) = served.writers()
    os.kill(old, signal.SIGKILL)
    item = {**ARTICLE, "id": "wr-after-kill", "text": ARTICLE["text"] + " The first ferry leaves on Monday."}
    r = httpx.post(f"{served.base}/api/articles", json=item, timeout=300)
    assert r.status_code == 200 and r.json()["results"][0]["status"] in ("new", "duplicate"), r.text
    new = served.writers()
    assert len(new) == 1 and new[0] != old
    assert httpx.get(f"{served.base}/api/articles/wr-after-kill", timeout=30).status_code == 200


# ---- without a server process -----------------------------------------------------------------------------------
def _dead_writer_settings(tmp_path: Path, db: str) -> Settings:
    s = Settings(db_url=db)
    s.api.writer_address, s.api.writer_key = str(tmp_path / "nobody.sock"), b"k" * 32
    s.api.writer_start_s = 0.5
    return s


def test_a_writer_that_is_down_is_a_503_with_the_reason_and_reads_go_on(tmp_path: Path,
                                                                        news_store: NewsStore) -> None:
    """Posts answer 503 (never hang); a story whose comparison went stale is served from the store, marked stale;
    one with no comparison at all is a 503 too; the serving process computes nothing itself."""
    db = news_store.copy(tmp_path / "d.db")
    with Corpus(db) as c:  # another writer (as `storylens ingest` would) changes a story and adds one
        story = max(c.stories(), key=lambda s: len(s.articles))
        first = c.article(story.articles[0])
        assert first is not None
        report = c.ingest([{"id": "d-copy", "title": first.title, "outlet": "copy.example", "text": first.text,
                            "published": str(first.published.value or "")}, {**ARTICLE, "id": "d-new"}])
        fresh = next(r.story_id for r in report.results if r.id == "d-new")
        assert fresh is not None and fresh != story.id
        assert c.store.stored_comparison_text(story.id) is not None and c.cached_comparison(story.id) is None
    settings = _dead_writer_settings(tmp_path, db)
    client = TestClient(create_app(settings), base_url="http://127.0.0.1:8000")
    t = time.monotonic()
    r = client.post("/api/articles", json={**ARTICLE, "id": "d-2"})
    assert r.status_code == 503 and "writer process is not running" in r.json()["detail"], r.text
    assert r.headers["retry-after"] and time.monotonic() - t < 10
    got = client.get(f"/api/stories/{story.id}")
    assert got.status_code == 200 and got.json()["comparison_stale"] is True
    assert got.json()["comparison"]["articles"]
    assert client.get(f"/api/stories/{fresh}").status_code == 503
    page = client.get(f"/stories/{story.id}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and first.title in page.text and "it is being computed again" in page.text
    with Corpus(db) as c:
        assert c.article("d-2") is None and c.cached_comparison(story.id) is None  # nothing computed here


def test_a_writer_that_does_not_answer_times_out(tmp_path: Path) -> None:
    """A writer that took the connection but never answers, and one that never takes it: both bounded waits."""
    for greets in (True, False):
        address = str(tmp_path / f"mute-{greets}.sock")
        mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        mute.bind(address)
        mute.listen()
        accepted: list[socket.socket] = []

        def take(server: socket.socket = mute, greet: bool = greets, into: list[socket.socket] = accepted) -> None:
            conn = server.accept()[0]
            into.append(conn)
            if greet:
                conn.sendall(GREETING)

        threading.Thread(target=take, daemon=True).start()
        try:
            client = WriterClient(address, b"k" * 32, timeout_s=1.0, start_s=1.0)
            t = time.monotonic()
            with pytest.raises(WriterUnavailable, match="did not answer within 1 s" if greets else "not running"):
                client.ingest([ARTICLE])
            assert time.monotonic() - t < 5
        finally:
            for s in [*accepted, mute]:
                s.close()


def test_api_settings_are_validated_with_clear_errors() -> None:
    with pytest.raises(ValueError, match="writer_timeout_s must be a positive number of seconds, not 0"):
        ApiSettings(writer_timeout_s=0)
    with pytest.raises(ValueError, match="writer_nice must be between 0 and 19, not 40") as e:
        ApiSettings(writer_nice=40, port=70000)
    assert "port must be between 0 and 65535" in str(e.value)
    s = ApiSettings()
    s.writer_start_s = -1
    with pytest.raises(ValueError, match="writer_start_s"):
        s.check()


def test_a_story_keeps_its_updated_at_unless_it_changed(tmp_path: Path, news_store: NewsStore) -> None:
    """The story stream writes every story it closed or reopened; only a story whose articles changed is dated
    anew (its stored comparison and the servers' cached bodies stay current otherwise)."""
    db = news_store.copy(tmp_path / "u.db")
    with Corpus(db) as c:
        before = {s.id: c.store.story_updated_at(s.id) for s in c.stories()}
        members = {s.id: set(s.articles) for s in c.stories()}
        # dated weeks after everything stored: the stream closes the idle stories (and writes them)
        report = c.ingest([{**ARTICLE, "id": "u-new", "published": "2031-01-01"}])
        assert report.counts()["new"] == 1
        after = {s.id: c.store.story_updated_at(s.id) for s in c.stories()}
        now = {s.id: set(s.articles) for s in c.stories()}
    unchanged = [sid for sid in before if sid in now and now[sid] == members[sid]]
    assert unchanged
    assert {sid: after[sid] for sid in unchanged} == {sid: before[sid] for sid in unchanged}


def test_a_kept_ingest_session_sees_what_another_writer_stored(tmp_path: Path) -> None:
    """The writer process keeps its ingest state (duplicate index, story stream) between posts; an article that
    another process stored meanwhile is still found as the original of a copy."""
    db = f"sqlite:///{tmp_path / 'k.db'}"
    with Corpus(db) as writer, Corpus(db) as other:
        writer.runner.keep_session = True
        assert writer.ingest([ARTICLE]).counts()["new"] == 1
        text = ("The harbour authority of Lindhaven approved a new ferry terminal on Tuesday after two years of "
                "talks with the port unions. “This terminal will carry a million passengers a year,” its director said.")
        assert other.ingest([{"id": "k-other", "title": "Terminal approved", "published": "2025-05-06",
                              "text": text}]).counts()["new"] == 1
        copy = writer.ingest([{"id": "k-copy", "title": "Terminal approved", "published": "2025-05-06",
                               "text": text}])
        assert copy.results[0].status == "duplicate" and copy.results[0].duplicate_of == "k-other"
        assert writer.ingest([{**ARTICLE, "id": "k-again"}]).results[0].duplicate_of == ARTICLE["id"]


def test_serve_watches_feeds_in_the_writer_process(tmp_path: Path, feed_server: tuple[str, list[str]]) -> None:
    """``serve --feed`` (one serving process): the feed's articles are ingested by the writer process, and read
    through the server."""
    base, _ = feed_server
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "STORYLENS_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "storylens.cli", "serve", "--db", str(tmp_path / "f.db"), "--port",
                             str(port), "--feed", f"{base}/rss", "--every", "1s", "--allow-private",
                             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        articles = 0
        while time.monotonic() < deadline and proc.poll() is None and articles < 2:
            with contextlib.suppress(httpx.HTTPError):
                articles = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()["articles"]
            time.sleep(0.5)
        assert articles == 2
        group = process_group(proc.pid)
        writers = [p for p, cmd in group.items() if "storylens.api.writer_process" in cmd]
        assert len(writers) == 1 and _loaded_spacy(writers[0]) and not _loaded_spacy(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def test_serve_refuses_invalid_settings_without_a_traceback(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "storylens.cli", "serve", "--db", str(tmp_path / "x.db"), "--port",
                        "70000"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "port must be between 0 and 65535" in r.stderr and "Traceback" not in r.stderr
