"""The writes of a server: posted articles (ingested with their narrative links) and story comparisons.

* :class:`InProcessWriter` writes in the process that took the request (an app built by ``create_app`` alone).
* ``storylens serve`` runs one writer process (:mod:`storylens.api.writer_process`) that does every write of the
  server, one at a time and at a lower CPU priority; the serving processes only read, and reach it through
  :class:`WriterClient` over a Unix socket in a private directory.  Its parent restarts it when it dies.

The protocol: per connection, the writer's greeting byte, then one JSON request and one JSON answer, each a 4-byte
length then UTF-8: ``{"key", "op": "ingest", "items"}`` → ``{"ok", "results"}``; ``{"op": "compare", "story",
"wait"}`` → ``{"ok"}`` (after the comparison is stored, or at once when ``wait`` is false: it is then queued behind
the posts); ``{"op": "ping"}`` → ``{"ok", "pid"}``.  Every client wait is bounded: a writer that is down, or does not
answer in time, is a :class:`WriterUnavailable` (the routes answer 503).
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from storylens.pipeline import ItemResult

log = logging.getLogger(__name__)

MAX_MESSAGE = 1 << 30
GREETING = b"+"  # the writer's first byte on a connection it took


class WriterUnavailable(RuntimeError):
    """The writer is not running, stopped while handling the request, or did not answer in time."""


class Writer(Protocol):
    background: bool  # True: a stale comparison is recomputed later, elsewhere (the reader serves the stored one)

    def ingest(self, items: Sequence[Any]) -> list[ItemResult]:
        """Store (or reject, with the reason) each item; returns once they are stored."""

    def compare(self, story_id: str, wait: bool = True) -> None:
        """Compute the story's comparison when it is not current; ``wait``: return once it is stored."""

    def close(self) -> None: ...


class InProcessWriter:
    """Writes in the calling process: ingests one at a time, comparisons one at a time (each also under the store's
    writer lock)."""

    background = False

    def __init__(self, corpus: Any) -> None:
        self.corpus = corpus
        self._ingest_lock = threading.Lock()
        self._compare_lock = threading.Lock()

    def ingest(self, items: Sequence[Any]) -> list[ItemResult]:
        with self._ingest_lock:
            results: list[ItemResult] = self.corpus.ingest(list(items)).results
            return results

    def compare(self, story_id: str, wait: bool = True) -> None:
        with self._compare_lock:
            self.corpus.compare(story_id)

    def close(self) -> None:
        pass


# ---- the wire -----------------------------------------------------------------------------------------------------
def send_message(sock: socket.socket, obj: Any) -> None:
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    sock.sendall(struct.pack(">I", len(data)) + data)


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the connection closed")
        buf += chunk
    return bytes(buf)


def recv_message(sock: socket.socket) -> Any:
    (n,) = struct.unpack(">I", _recv_exactly(sock, 4))
    if n > MAX_MESSAGE:
        raise ValueError(f"a message of {n} bytes")
    return json.loads(_recv_exactly(sock, n).decode("utf-8"))


# ---- the serving processes' side --------------------------------------------------------------------------------
class WriterClient:
    """A serving process's handle on the writer process (thread-safe: one connection per call)."""

    background = True

    def __init__(self, address: str, key: bytes, timeout_s: float = 600.0, start_s: float = 30.0,
                 again_after_s: float = 5.0) -> None:
        self.address = address
        self.key = key.hex()
        self.timeout_s = timeout_s
        self.start_s = start_s
        self.again_after_s = again_after_s  # a story whose refresh was asked for is not asked again before this
        self._asked: dict[str, float] = {}
        self._lock = threading.Lock()

    def _connect(self) -> socket.socket:
        """A connection to the writer, greeted by it (so a request is only sent to a writer that took the
        connection: one that died meanwhile never saw it, and the connection is tried again); while the writer is
        (re)starting, tried again for up to ``start_s``."""
        deadline = time.monotonic() + self.start_s
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(max(0.1, min(5.0, deadline - time.monotonic())))
            try:
                sock.connect(self.address)
                if sock.recv(1) != GREETING:
                    raise ConnectionResetError("the writer closed the connection")
                return sock
            except OSError as e:
                sock.close()
                if time.monotonic() >= deadline:
                    raise WriterUnavailable(f"the writer process is not running (tried for {self.start_s:.0f} s: "
                                            f"{type(e).__name__}); try again shortly") from e
                time.sleep(0.2)

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        sock = self._connect()
        try:
            sock.settimeout(timeout_s)
            try:
                send_message(sock, {"key": self.key, **request})
                answer = recv_message(sock)
            except TimeoutError as e:
                raise WriterUnavailable(f"the writer process did not answer within {timeout_s:.0f} s") from e
            except (OSError, EOFError, ValueError) as e:
                raise WriterUnavailable("the writer process stopped while handling the request "
                                        f"({type(e).__name__}); try again") from e
        finally:
            sock.close()
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise WriterUnavailable(f"the writer process failed: {error or 'no answer'}")
        return answer

    def ingest(self, items: Sequence[Any]) -> list[ItemResult]:
        answer = self.call({"op": "ingest", "items": list(items)}, self.timeout_s)
        return [ItemResult(**r) for r in answer["results"]]

    def compare(self, story_id: str, wait: bool = True) -> None:
        if not wait:
            now = time.monotonic()
            with self._lock:
                if now - self._asked.get(story_id, -1e9) < self.again_after_s:
                    return
                self._asked[story_id] = now
                if len(self._asked) > 10_000:
                    self._asked.clear()
            try:
                self.call({"op": "compare", "story": story_id, "wait": False}, min(self.timeout_s, 10.0))
            except WriterUnavailable as e:  # the stored comparison is served meanwhile; asked again later
                log.warning("could not ask the writer to compare %s again: %s", story_id, e)
            return
        self.call({"op": "compare", "story": story_id, "wait": True}, self.timeout_s)

    def pid(self) -> int:
        return int(self.call({"op": "ping"}, min(self.timeout_s, 10.0))["pid"])

    def close(self) -> None:
        pass
