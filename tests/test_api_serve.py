"""`storylens serve` starts the web app on loopback by default, with one or several worker processes, and stops on
SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from conftest import NewsStore, process_group, terminate_group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_binds_loopback_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "STORYLENS_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "storylens.cli", "serve", "--db", str(tmp_path / "s.db"),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        assert health["articles"] == 0 and health["writes"] == "loopback"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert page.status_code == 200 and "storylens" in page.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_serve_with_workers_shares_one_store(tmp_path: Path, news_store: NewsStore) -> None:
    """``--workers 2``: two server processes on one port over one store; a post through one is read by every
    request after it, whichever process answers; SIGTERM stops them all."""
    db = news_store.copy(tmp_path / "w.db")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "STORYLENS_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "storylens.cli", "serve", "--db", db, "--port", str(port),
                             "--workers", "2", "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                health = httpx.get(f"{base}/api/health", timeout=2).json()
                if len(process_group(proc.pid)) >= 3:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health is not None, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        assert len(process_group(proc.pid)) >= 3  # the supervisor and two workers
        item = {"id": "w-1", "title": "Ferry strike ends", "published": "2025-05-02",
                "text": "The ferry strike in Lindhaven ended on Friday. “We have a deal,” the union leader said."}
        r = httpx.post(f"{base}/api/articles", json=item, timeout=300)
        assert r.status_code == 200 and r.json()["counts"]["new"] == 1, r.text
        with httpx.Client(base_url=base, timeout=30) as c:
            assert all(c.get("/api/articles/w-1").status_code == 200 for _ in range(20))
            assert {c.get("/api/health").json()["articles"] for _ in range(20)} == {health["articles"] + 1}
    finally:
        left = terminate_group(proc)
    assert left == {}
