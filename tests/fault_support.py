"""Fault injection for the fault tests, without hooks in the shipped code: the real ``storylens`` command runs in a
subprocess through a small script written by the test, which wraps one function of the engine so that the process,
on reaching the interesting point (inside an open transaction), writes a marker file and waits, either to be killed
or for the test to let it go on (after it restarted the database server).  And what the tests compare: a store's
articles, stories and narratives as sets of article sources."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storylens.store import Store

_HEADER = '''\
import json, os, sys, time
from pathlib import Path

MARKER = Path(os.environ["STORYLENS_FAULT_MARKER"])
RESUME = os.environ.get("STORYLENS_FAULT_RESUME")


def reached(info):
    """The fault point: tell the test (the marker appears whole), then wait to be killed or let go on."""
    tmp = MARKER.with_suffix(".tmp")
    tmp.write_text(json.dumps(info))
    tmp.rename(MARKER)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if RESUME and Path(RESUME).exists():
            return
        time.sleep(0.05)
    raise SystemExit("fault hook: never killed nor resumed")

'''

_FOOTER = '''

from storylens.cli import main

sys.argv[0] = "storylens"
main()
'''


@dataclass
class Hooked:
    """A ``storylens`` command running with a fault hook."""

    proc: subprocess.Popen[str]
    marker: Path
    resume: Path

    def wait_for_fault(self, timeout: float = 240) -> dict[str, Any]:
        """What the hook saw when it reached its point; fails the test when the command ended first."""
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                pytest.fail(f"the command ended (exit {self.proc.returncode}) without reaching the fault point:\n"
                            f"{err[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("the fault point was not reached in time")
            time.sleep(0.05)
        info: dict[str, Any] = json.loads(self.marker.read_text())
        return info

    def kill(self) -> None:
        """``kill -9`` of the command (and of any worker process it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=60)
        assert self.proc.returncode == -signal.SIGKILL

    def go_on(self, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        """Let the command go on from the fault point; its result."""
        self.resume.write_text("go")
        out, err = self.proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, out, err)


def start_hooked(tmp: Path, hook: str, *args: str, env: dict[str, str] | None = None) -> Hooked:
    """``storylens ARGS`` with ``hook`` (Python that wraps an engine function and calls ``reached(info)`` at the
    fault point) installed first.  One worker process: the stages run in the command's own process."""
    script = tmp / "hooked_storylens.py"
    script.write_text(_HEADER + textwrap.dedent(hook) + _FOOTER, encoding="utf-8")
    marker, resume = tmp / "fault-reached.json", tmp / "fault-resume"
    marker.unlink(missing_ok=True)
    resume.unlink(missing_ok=True)
    full_env = {**os.environ, "STORYLENS_WORKERS": "1", "STORYLENS_FAULT_MARKER": str(marker),
                "STORYLENS_FAULT_RESUME": str(resume), **(env or {})}
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env, start_new_session=True)
    return Hooked(proc, marker, resume)


def run_storylens(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
                  preexec: Any = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "storylens", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "STORYLENS_WORKERS": "1", **(env or {})}, preexec_fn=preexec)


# ---- what a store holds --------------------------------------------------------------------------------------


def sources(store: Store) -> Counter[str]:
    """How many stored articles each input item became (1 each when nothing is stored twice)."""
    with store.engine.connect() as conn:
        return Counter(str(s) for (s,) in conn.execute(text("SELECT source FROM articles")))


def stories(store: Store) -> set[frozenset[str]]:
    """The stories as sets of their articles' sources."""
    members: dict[str, set[str]] = {}
    with store.engine.connect() as conn:
        for sid, src in conn.execute(text("SELECT story_id, source FROM articles")):
            members.setdefault(str(sid), set()).add(str(src))
    return {frozenset(m) for m in members.values()}


def narratives(store: Store) -> set[frozenset[frozenset[str]]]:
    """The narratives as sets of stories (each the set of its articles' sources)."""
    with store.engine.connect() as conn:
        by_story: dict[str, set[str]] = {}
        for sid, src in conn.execute(text("SELECT story_id, source FROM articles")):
            by_story.setdefault(str(sid), set()).add(str(src))
        rows = list(conn.execute(text("SELECT stories FROM narratives")))
    out = set()
    for (members,) in rows:
        ids = json.loads(members) if isinstance(members, str) else members
        out.add(frozenset(frozenset(by_story.get(sid, {f"(missing story {sid})"})) for sid in ids))
    return out


def copy_sqlite(src: Path, dest: Path) -> str:
    """A private copy of an SQLite store (online backup); its URL."""
    import sqlite3

    dest.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dest) as b:
        a.backup(b)
    return f"sqlite:///{dest}"


__all__ = ["Hooked", "copy_sqlite", "narratives", "run_storylens", "sources",
           "start_hooked", "stories"]
