"""The writer process of ``storylens serve`` (``python -m storylens.api.writer_process``): every write of the
server, one at a time, in priority order (posts, then comparisons a reader waits for, then the others), at a lower CPU
priority than the serving processes; and :class:`WriterProcess`, which its parent uses to start it, start it again
when it dies, and stop it.  The protocol is :mod:`storylens.api.writer`'s."""

from __future__ import annotations

import base64
import contextlib
import hmac
import itertools
import logging
import os
import pickle
import queue
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from storylens.api.writer import GREETING, recv_message, send_message
from storylens.settings import Settings

log = logging.getLogger(__name__)

WRITER_SETTINGS_ENV = "STORYLENS_WRITER_SETTINGS"  # the writer's settings from its parent (pickled, base64)
INGEST, COMPARE_WAITED, COMPARE_LATER = 0, 1, 2  # job priorities: posts first, then the reads that wait


class _Jobs:
    """One thread runs the writes in priority order (posts, then waited-for comparisons, then the others); a story
    queued for a later comparison is queued once."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any], Future[Any]]] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._later: set[str] = set()
        self._lock = threading.Lock()
        self.busy = threading.Event()
        self.running = threading.Lock()  # held by each write (the feed watcher takes it too: one corpus, one writer)

    def submit(self, priority: int, fn: Callable[[], Any]) -> Future[Any]:
        fut: Future[Any] = Future()
        self._queue.put((priority, next(self._seq), fn, fut))
        return fut

    def compare_later(self, story_id: str, compare: Callable[[str], Any]) -> None:
        with self._lock:
            if story_id in self._later:
                return
            self._later.add(story_id)

        def run() -> None:
            with self._lock:
                self._later.discard(story_id)
            compare(story_id)

        self.submit(COMPARE_LATER, run)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                _, _, fn, fut = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if not fut.set_running_or_notify_cancel():
                continue
            self.busy.set()
            try:
                with self.running:
                    fut.set_result(fn())
            except BaseException as e:  # noqa: BLE001 - reported to the waiting request; the writer goes on
                log.exception("a write failed")
                fut.set_exception(e)
            finally:
                self.busy.clear()


class WriterService:
    """What the writer process does with each request: the corpus, the job thread and the socket server."""

    def __init__(self, settings: Settings, feeds: Sequence[str] = (), every_s: float = 600.0) -> None:
        from storylens.corpus import Corpus

        address, key = settings.api.writer_address, settings.api.writer_key
        if address is None or key is None:
            raise ValueError("the writer process needs settings.api.writer_address and writer_key")
        self.settings = settings
        self.key = key.hex()
        self.corpus = Corpus(settings.db_url, settings=settings)
        self.corpus.runner.keep_session = True  # its ingest state stays loaded from one post to the next
        self.jobs = _Jobs()
        self.stop = threading.Event()
        self.address = address
        os.makedirs(os.path.dirname(address), mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)  # a socket left by a writer that died
        service = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                service.handle(self.request)

        self.server = socketserver.ThreadingUnixStreamServer(address, Handler)
        self.server.daemon_threads = True
        self.feeds = list(feeds)
        self.every_s = every_s

    # ---- the writes --------------------------------------------------------------------------------------------
    def ingest(self, items: list[Any]) -> list[dict[str, Any]]:
        from storylens.model import to_jsonable

        results = self.corpus.ingest(items).results  # narratives linked with each batch, under the writer lock
        changed = {r.story_id for r in results if r.story_id and r.status in ("new", "updated", "duplicate")}
        # the stories the post changed, then the most recently changed of those left stale (an article moved out)
        for sid in sorted(changed) + [s for s in self.corpus.store.stale_comparisons(100) if s not in changed]:
            self.jobs.compare_later(sid, self.compare)
        out: list[dict[str, Any]] = to_jsonable(results)
        return out

    def compare(self, story_id: str) -> None:
        self.corpus.compare(story_id)

    def polled(self, poll: Any) -> None:
        """After a feed poll: a failure logged; the comparisons it made stale queued."""
        if not poll.ok:
            log.warning("feed %s: %s", poll.feed, poll.error)
        if poll.new_ids:
            for sid in self.corpus.store.stale_comparisons(100):
                self.jobs.compare_later(sid, self.compare)

    # ---- requests ----------------------------------------------------------------------------------------------
    def handle(self, sock: socket.socket) -> None:
        try:
            sock.sendall(GREETING)
            request = recv_message(sock)
        except (OSError, EOFError, ValueError):
            return
        try:
            answer = self.answer(request)
        except Exception as e:  # noqa: BLE001 - the request's own failure, told to the serving process
            answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        with contextlib.suppress(OSError):
            send_message(sock, answer)

    def answer(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict) or not hmac.compare_digest(str(request.get("key", "")), self.key):
            return {"ok": False, "error": "not authorised"}
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "ingest" and isinstance(request.get("items"), list):
            items = request["items"]
            return {"ok": True, "results": self.jobs.submit(INGEST, lambda: self.ingest(items)).result()}
        if op == "compare" and isinstance(request.get("story"), str):
            story_id = request["story"]
            if request.get("wait"):
                self.jobs.submit(COMPARE_WAITED, lambda: self.compare(story_id)).result()
            else:
                self.jobs.compare_later(story_id, self.compare)
            return {"ok": True}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def serve(self, grace_s: float = 10.0) -> None:
        """Serve until SIGTERM/SIGINT or until the parent process is gone; a write under way may finish (up to
        ``grace_s``), then the process exits (a write cut short rolls back: each batch is one transaction)."""
        parent = os.getppid()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        threading.Thread(target=self.jobs.run, args=(self.stop,), name="storylens-writes", daemon=True).start()
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="storylens-writer",
                         daemon=True).start()
        if self.feeds:
            from storylens.api.watch import Watcher

            Watcher(self.corpus, self.feeds, self.every_s, lock=self.jobs.running, on_poll=self.polled).start(self.stop)
        while not self.stop.wait(1.0):
            if os.getppid() != parent:
                log.warning("the server process is gone: the writer stops")
                self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        with contextlib.suppress(OSError):  # the socket and its private directory (made again by a next writer)
            os.unlink(self.address)
            os.rmdir(os.path.dirname(self.address))
        deadline = time.monotonic() + grace_s
        while self.jobs.busy.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)


def main() -> None:
    """``python -m storylens.api.writer_process``: the writer process of ``storylens serve`` (settings from its parent)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s storylens writer: %(message)s")
    packed = os.environ.pop(WRITER_SETTINGS_ENV, None)
    if not packed:
        sys.exit("the writer process is started by `storylens serve`, not by hand")
    settings: Settings = pickle.loads(base64.b64decode(packed))  # noqa: S301 - from our parent process
    if settings.api.writer_nice:
        with contextlib.suppress(OSError):
            os.nice(settings.api.writer_nice)
    import argparse

    ap = argparse.ArgumentParser(prog="python -m storylens.api.writer_process")
    ap.add_argument("feeds", nargs="*")
    ap.add_argument("--every", type=float, default=600.0)
    args = ap.parse_args()
    WriterService(settings, args.feeds, args.every).serve()


# ---- the parent's side ------------------------------------------------------------------------------------------
class WriterProcess:
    """Starts the writer process for ``settings`` (setting ``settings.api.writer_address`` and ``writer_key`` for the
    serving processes), restarts it when it dies, stops it with :meth:`stop`."""

    def __init__(self, settings: Settings, feeds: Sequence[str] = (), every_s: float = 600.0,
                 restart_after_s: float = 1.0) -> None:
        import secrets

        self.dir = tempfile.mkdtemp(prefix="storylens-writer-")  # mode 0700: only this user reaches the socket
        settings.api.writer_address = os.path.join(self.dir, "writer.sock")
        settings.api.writer_key = secrets.token_bytes(32)
        self.settings = settings
        self.args = ["--every", str(every_s), *feeds]
        self.restart_after_s = restart_after_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._spawned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> WriterProcess:
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name="storylens-writer-supervisor", daemon=True)
        self._thread.start()
        return self

    def _spawn(self) -> None:
        env = {**os.environ, WRITER_SETTINGS_ENV: base64.b64encode(pickle.dumps(self.settings)).decode()}
        self.proc = subprocess.Popen([sys.executable, "-m", "storylens.api.writer_process", *self.args], env=env)
        self._spawned_at = time.monotonic()

    def _supervise(self) -> None:
        """Start the writer again when it exits (after ``restart_after_s``; twice as long each time it dies within
        30 s of its start, up to 30 s)."""
        delay = self.restart_after_s
        while not self._stop.wait(0.2):
            proc = self.proc
            if proc is None or proc.poll() is None:
                continue
            # a writer that stopped cleanly was signalled: most likely the whole server is stopping (a signal to
            # the process group, Ctrl-C), which is given a few seconds to reach stop() before the writer is restarted
            if self._stop.wait(5.0 if proc.returncode == 0 else 0.5):
                return
            if time.monotonic() - self._spawned_at > 30:
                delay = self.restart_after_s
            log.warning("the writer process exited with %s: starting it again in %.0f s", proc.returncode, delay)
            if self._stop.wait(delay):
                return
            self._spawn()
            self.restarts += 1
            delay = min(delay * 2, 30.0)

    def stop(self, timeout_s: float = 20.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
