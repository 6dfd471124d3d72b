"""Disk full: an SQLite store on a small filesystem that fills up in the middle of an ingest.  The fault is a tmpfs
mounted for the test (``tmpfs-full``: the disk is filled up to a few pages, then the ingest runs) or, where mounting
is refused, a file size limit on the ingesting process (``file-size-limit``: RLIMIT_FSIZE with SIGXFSZ ignored, so
writes past it fail with EFBIG).  The ingest ends with a message naming the store's disk and the items not stored;
the store still opens and is consistent; once space is freed, the same command stores exactly what is missing."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import EXAMPLES
from fault_support import narratives, run_storylens, sources, stories
from storylens.corpus import Corpus
from storylens.store import Store

pytestmark = pytest.mark.slow

FIRST = [str(EXAMPLES / "a03_meridian_post.txt"), str(EXAMPLES / "b01_harbor_wire.txt")]  # stored before it fills
ALL = [*FIRST, *(str(EXAMPLES / n) for n in ("a04_northgate_daily.html", "a05_baltic_ledger.txt",
                                              "b02_baltic_ledger.txt", "c01_meridian_post.txt"))]
ROOM = 96 * 1024  # what is left free on the disk (or how far files may grow) for the ingest that fills it


def _can_mount_tmpfs() -> bool:
    d = tempfile.mkdtemp(prefix="storylens-mount-probe-")
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", d], capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", d], capture_output=True)
        return ok
    except OSError:
        return False
    finally:
        os.rmdir(d)


# STORYLENS_TEST_DISK_FAULT=file-size-limit tries the fallback where mounting works too
DISK_FAULT = os.environ.get("STORYLENS_TEST_DISK_FAULT") or ("tmpfs-full" if _can_mount_tmpfs() else "file-size-limit")


@contextlib.contextmanager
def _small_disk(size_mb: int) -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="storylens-small-disk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(d)], check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)
        d.rmdir()


def _fill(d: Path, leave: int) -> Path:
    """A file taking all the free space of ``d``'s filesystem but ``leave`` bytes."""
    st = os.statvfs(d)
    filler = d / "filler"
    with filler.open("wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        todo = st.f_bavail * st.f_frsize - leave
        while todo > 0:
            todo -= f.write(chunk[:min(len(chunk), todo)])
    return filler


def _file_size_limit(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object, object]:
    with Corpus(f"sqlite:///{tmp_path_factory.mktemp('roomy') / 'store.db'}") as c:
        c.ingest(FIRST)
        c.ingest(ALL)
        return sources(c.store), stories(c.store), narratives(c.store)


@pytest.mark.parametrize("fault", [DISK_FAULT])
def test_disk_full_during_an_ingest(fault: str, uninterrupted: tuple[object, object, object],
                                    tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        d = stack.enter_context(_small_disk(8)) if fault == "tmpfs-full" else tmp_path
        db = d / "store.db"
        with Corpus(f"sqlite:///{db}") as c:  # the first sources, while there is room
            assert c.ingest(FIRST).count("new") == len(FIRST)
            stored_first = sources(c.store)
        preexec = None
        filler = None
        if fault == "tmpfs-full":
            filler = _fill(d, ROOM)
        else:
            preexec = _file_size_limit(ROOM)
        full = run_storylens("ingest", *ALL, "--db", str(db), preexec=preexec)
        assert full.returncode == 3, full.stderr
        assert "Traceback" not in full.stderr
        assert f"the disk holding {db}" in " ".join(full.stderr.split()), full.stderr
        for name in ("a04_northgate_daily.html", "a05_baltic_ledger.txt", "b02_baltic_ledger.txt",
                     "c01_meridian_post.txt"):
            assert f"not stored {EXAMPLES / name}" in full.stderr, full.stderr  # each item not stored is named

        store = Store(f"sqlite:///{db}")  # the store still opens, consistent, with what it had
        assert store.check() == []
        assert sources(store) == stored_first
        store.close()

        if filler is not None:  # space is freed
            filler.unlink()
        again = run_storylens("ingest", *ALL, "--db", str(db))
        assert again.returncode == 0, again.stderr
        store = Store(f"sqlite:///{db}")
        assert store.check() == []
        assert set(sources(store).values()) == {1}
        assert (sources(store), stories(store), narratives(store)) == uninterrupted
        store.close()
