"""Failures of the store itself, told apart from an item's own failure: the disk holding the store is full (or cannot
be written), or the connection to the database server was lost.  An article that cannot be stored for such a reason
is not at fault, and the next one would fail the same way: the ingest stops (or, after a lost connection, stores the
batch again once the server answers) instead of rejecting item after item."""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import make_url

Kind = Literal["disk_full", "disk_error", "connection"]

_SQLITE_FULL = 13
_SQLITE_IOERR = 10
_PG_OUT_OF_SPACE = ("53100", "53200")  # disk_full, out_of_memory: neither is the item's fault


@dataclass(eq=False)
class StoreFailure(Exception):
    """The store cannot take writes now."""

    kind: Kind
    where: str  # the database file or the server
    detail: str  # the driver's words

    def __str__(self) -> str:
        if self.kind == "disk_full":
            return f"the disk holding {self.where} is full ({self.detail})"
        if self.kind == "disk_error":
            return f"the disk holding {self.where} could not be written (full, or failing: {self.detail})"
        return f"the connection to the database server {self.where} was lost ({self.detail})"


def where(url: str) -> str:
    """The database file of an SQLite URL, the host, port and database of a server's (never a password); "the
    store" when the URL is not known."""
    if not url:
        return "the store"
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return f"{u.host or 'localhost'}{':' + str(u.port) if u.port else ''}/{u.database or ''}"


def store_failure(exc: BaseException, url: str) -> StoreFailure | None:
    """``exc`` (or an exception it was raised from) as a :class:`StoreFailure`; None when it is something else."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        found = _classify(e, url)
        if found is not None:
            return found
        e = getattr(e, "orig", None) or e.__cause__ or e.__context__
    return None


def _classify(e: BaseException, url: str) -> StoreFailure | None:
    if isinstance(e, StoreFailure):
        return e
    detail = " ".join(str(e).split())[:200] or type(e).__name__
    if isinstance(e, sqlite3.Error):
        code = (getattr(e, "sqlite_errorcode", None) or 0) & 0xFF
        if code == _SQLITE_FULL or "database or disk is full" in str(e):
            return StoreFailure("disk_full", where(url), detail)
        if code == _SQLITE_IOERR or "disk I/O error" in str(e):
            return StoreFailure("disk_error", where(url), detail)
        return None
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return StoreFailure("disk_full", where(url), detail)
    if getattr(e, "connection_invalidated", False):  # SQLAlchemy: the driver says the connection is gone
        return StoreFailure("connection", where(url), detail)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - PostgreSQL support not installed
        return None
    if isinstance(e, psycopg.Error):
        state = getattr(e, "sqlstate", None) or ""
        if state in _PG_OUT_OF_SPACE:
            return StoreFailure("disk_full", where(url), detail)
        # connection exceptions (08), a server shutting down (57P01-57P03), no connection at all (no SQLSTATE)
        if isinstance(e, psycopg.OperationalError) and (state.startswith(("08", "57P")) or not state):
            return StoreFailure("connection", where(url), detail)
    return None


class ArticlesNotStored(Exception):
    """Articles of a batch written all or nothing could not be stored (their own fault: a value the database
    refuses); the batch's transaction was rolled back.  ``failed``: article id → the reason."""

    def __init__(self, failed: dict[str, str]) -> None:
        super().__init__(f"{len(failed)} articles could not be stored")
        self.failed = failed
