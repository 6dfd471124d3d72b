"""Shared fixtures: the seeds and dev data are read from ../shared (skipped cleanly when absent, except in CI, where a
missing prerequisite fails loudly); the API and page tests' store, built once per run by the real pipeline."""

from __future__ import annotations

import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
SEEDS = SHARED / "seeds"
EXAMPLES = ROOT / "examples" / "corpus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> NoReturn:
    """A prerequisite is absent: skip on a developer's machine; in CI (``CI=true``) fail, so that a run which
    silently tested less never passes."""
    if IN_CI:
        pytest.fail(f"{what} (CI=true: every prerequisite must be present)", pytrace=False)
    pytest.skip(what)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not (SEEDS / "gold.json").exists():
        missing(f"{SEEDS} is absent")
    return SEEDS


@pytest.fixture(scope="session")
def gold(seeds_dir: Path) -> dict[str, Any]:
    return json.loads((seeds_dir / "gold.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def seed_files(seeds_dir: Path) -> list[Path]:
    return sorted(seeds_dir.glob("0*.txt"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.exists():
        missing(f"{SHARED} is absent")
    return SHARED


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES


# ---- store back ends: SQLite (a temp file) and a throwaway PostgreSQL 15 cluster -----------------------------


def _pg_bin(name: str) -> str | None:
    """``initdb``/``pg_ctl``: on PATH (/usr/local/bin here), else Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    """A running throwaway cluster; :meth:`fresh_url` creates an empty database in it."""

    host: str
    port: int
    user: str
    base: Path
    _n: int = 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/postgres"

    def fresh_url(self) -> str:
        import psycopg

        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        with psycopg.connect(f"host={self.host} port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}@{self.host}:{self.port}/{name}"


@dataclass
class PgServer:
    """A throwaway PostgreSQL cluster in a directory of its own, to start, restart and stop."""

    base: Path
    data: Path
    port: int
    user: str
    prefix: list[str]  # runuser -u postgres -- when running as root (initdb refuses root)
    pg_ctl: str

    def ctl(self, *args: str) -> None:
        r = subprocess.run([*self.prefix, self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-w",
                            "-t", "60", *args], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            log = (self.base / "log").read_text(errors="replace") if (self.base / "log").exists() else ""
            pytest.fail(f"pg_ctl {' '.join(args)} failed: {r.stderr or r.stdout}\n{log}")

    def url(self, name: str) -> str:
        """A new, empty database ``name``; its URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres",
                             autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"


def start_pg_server(base: Path) -> PgServer:
    """initdb a cluster in ``base`` and start it on a free loopback port (as the ``postgres`` user when running as
    root); skipped (failed in CI) when PostgreSQL is not installed."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        missing("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql; "
                "install the `postgresql` package (.ci/run does)")
    prefix: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no `postgres` user to run initdb as")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port, user, data = _free_port(), "storylens", base / "data"
    r = subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8",
                        "--locale=C.UTF-8"], capture_output=True, text=True)
    if r.returncode != 0:  # some builds lack the C.UTF-8 locale
        shutil.rmtree(data, ignore_errors=True)
        r = subprocess.run([*prefix, initdb, "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8"],
                           capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"initdb failed: {r.stderr or r.stdout}")
    with (data / "postgresql.conf").open("a") as conf:  # in the cluster's settings, so a restart keeps them
        conf.write(f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{base}'\n"
                   "fsync = off\nfull_page_writes = off\n")
    server = PgServer(base, data, port, user, prefix, pg_ctl)
    server.ctl("start")
    return server


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster in a temp dir for the whole session, stopped at the end.

    ``STORYLENS_TEST_PG_URL`` points the tests at an existing server instead.
    """
    if os.environ.get("STORYLENS_TEST_PG_URL"):
        from urllib.parse import urlparse

        u = urlparse(os.environ["STORYLENS_TEST_PG_URL"])
        yield PgCluster(u.hostname or "127.0.0.1", u.port or 5432, u.username or "postgres", Path("."))
        return
    base = Path(tempfile.mkdtemp(prefix="storylens-pg-"))
    try:
        server = start_pg_server(base)
        yield PgCluster("127.0.0.1", server.port, server.user, base)
        server.ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture()
def pg_url(pg_cluster: PgCluster) -> str:
    """A fresh, empty PostgreSQL database in the session's throwaway cluster."""
    return pg_cluster.fresh_url()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL on each back end: a temp SQLite file, and a fresh database in a throwaway PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


# ---- the API and page tests' store: the example corpus and the seeds through the real pipeline -----------------


@dataclass(frozen=True)
class NewsStore:
    """A SQLite store built once per test run by ``Corpus.ingest`` (read, clean, analyze, embed, stories, narratives)
    with every story's comparison computed by the compare stage.  Tests read it; a test that writes takes a
    :meth:`copy`."""

    path: Path
    seeds: bool  # whether ../shared/seeds is in it

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def copy(self, dest: Path) -> str:
        """A private copy (SQLite's online backup) at ``dest``; returns its URL."""
        import sqlite3

        dest.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path) as src, sqlite3.connect(dest) as dst:
            src.backup(dst)
        return f"sqlite:///{dest}"


@pytest.fixture(scope="session")
def news_store(tmp_path_factory: pytest.TempPathFactory) -> NewsStore:
    """The seeds (when ../shared is present; in CI it must be) and then the example corpus, ingested as two batches
    the way a user adds sources over time."""
    from storylens.corpus import Corpus

    have_seeds = (SEEDS / "gold.json").exists()
    if not have_seeds and IN_CI:
        missing(f"{SEEDS} is absent")
    path = tmp_path_factory.mktemp("news") / "news.db"
    with Corpus(f"sqlite:///{path}") as c:
        batches = [sorted(str(p) for p in SEEDS.glob("0*.txt"))] if have_seeds else []
        for batch in [*batches, [str(EXAMPLES)]]:
            report = c.ingest(batch)
            assert not report.rejected, report.rejected
        for story in c.stories():
            c.compare(story.id)
    return NewsStore(path=path, seeds=have_seeds)


# ---- RSS feeds served on loopback (serve --feed, watch) ---------------------------------------------------------
PAGES = {
    "/a1": ("Harbour deal signed", "The port authority signed the harbour deal on Friday. “This deal secures "
            "two thousand jobs,” the mayor said after the ceremony."),
    "/a2": ("Harbour deal criticised", "Unions criticised the harbour deal on Saturday. “Jobs are not secured by "
            "a press release,” the union leader said."),
    "/a3": ("Harbour deal vote", "The council will vote on the harbour deal next week, officials said on Sunday."),
}


def process_group(pgid: int) -> dict[int, str]:
    """The live processes of a process group and their command lines (from /proc)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out[int(stat.parent.name)] = cmd
    return out


def terminate_group(proc: subprocess.Popen[Any], within_s: float = 30.0) -> dict[int, str]:
    """SIGTERM to ``proc``'s process group (a command started with ``start_new_session``); what of the group is still
    running ``within_s`` seconds later (nothing, for a command that stops every process it started)."""
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    deadline = time.monotonic() + within_s
    while process_group(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return process_group(proc.pid)


def loopback_server(route: Callable[[str, int], tuple[bytes, str] | None]) -> http.server.ThreadingHTTPServer:
    """A threaded HTTP server on a free 127.0.0.1 port answering GET with ``route(path, port)``: (body, content
    type), or None for a 404.  Stop it with ``shutdown()`` and ``server_close()``."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            found = route(self.path, self.server.server_address[1])
            if found is None:
                self.send_response(404)
                self.end_headers()
                return
            body, ctype = found
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture()
def feed_server() -> Iterator[tuple[str, list[str]]]:
    entries = ["/a1", "/a2"]

    def route(path: str, port: int) -> tuple[bytes, str] | None:
        if path == "/rss":
            items = "".join(f"<item><title>{PAGES[p][0]}</title><link>http://127.0.0.1:{port}{p}</link>"
                            f"<pubDate>Fri, 0{i + 1} Mar 2024 10:00:00 GMT</pubDate></item>"
                            for i, p in enumerate(entries))
            return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Port News</title>{items}'
                    f"</channel></rss>").encode(), "application/rss+xml"
        if path in PAGES:
            t, x = PAGES[path]
            return (f"<html><head><title>{t}</title></head><body><article><h1>{t}</h1><p>{x}</p></article></body>"
                    f"</html>").encode(), "text/html; charset=utf-8"
        return None

    srv = loopback_server(route)
    yield f"http://127.0.0.1:{srv.server_address[1]}", entries
    srv.shutdown()
    srv.server_close()
