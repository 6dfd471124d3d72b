"""Response bodies kept in the server process while the store says they are current.

A body is stored under a key with the *stamp* of the data it was built from (a story's ``updated_at``, the store's
generation); a lookup with another stamp misses.  So a request still reads the store every time, but only the
stamp (one small query), and builds the body again only after the data changed.  The cache is bounded in bytes
and drops the least recently used bodies first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable


class ResponseCache:
    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Hashable, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, stamp: Hashable) -> bytes | None:
        """The body stored for ``key`` when it was built from data of ``stamp`` (None is never a valid stamp)."""
        with self._lock:
            found = self._items.get(key)
            if found is None or stamp is None or found[0] != stamp:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable, stamp: Hashable, body: bytes) -> None:
        if stamp is None or len(body) > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._items[key] = (stamp, body)
            self._bytes += len(body)
            while self._bytes > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)
