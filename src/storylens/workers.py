"""The per-article stages (analyze, embed) on several cores: a pool of worker processes, each with its models
loaded once.

The analysis and the sentence encoder are CPU-bound and hold the GIL, so the local runner spreads a batch over
processes: :func:`process` is the unit of work (a runner calls it in-process when it has one core or little to do),
:class:`WorkerPool` runs it in ``workers`` processes started once per runner and reused by every batch.  One bad
article never stops a batch: it comes back in ``failed`` with the stage and the reason.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storylens.model import Article
from storylens.settings import NlpSettings

if TYPE_CHECKING:
    from storylens.embed import ArticleVectors, Embedder

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Processed:
    """What the per-article stages made of some articles, in input order."""

    analyzed: list[Article] = field(default_factory=list)
    failed: list[tuple[Article, str, str]] = field(default_factory=list)  # (article, stage, reason)
    vectors: dict[str, ArticleVectors] = field(default_factory=dict)

    def extend(self, other: Processed) -> None:
        self.analyzed.extend(other.analyzed)
        self.failed.extend(other.failed)
        self.vectors.update(other.vectors)


def analyze_isolated(articles: Sequence[Article], settings: NlpSettings
                     ) -> tuple[list[Article], list[tuple[Article, str]]]:
    """Analyze a batch; when the batch fails, retry one by one so a bad item names itself."""
    from storylens.nlp import analyze

    arts = list(articles)
    try:
        return list(analyze(arts, settings)), []
    except Exception:  # noqa: BLE001 - isolate the failing item below
        ok: list[Article] = []
        bad: list[tuple[Article, str]] = []
        for a in arts:
            try:
                ok.extend(analyze([a], settings))
            except Exception as e:  # noqa: BLE001
                bad.append((a, f"analysis failed: {type(e).__name__}: {e}"))
        return ok, bad


def embed_isolated(articles: Sequence[Article], embedder: Embedder
                   ) -> tuple[dict[str, ArticleVectors], list[tuple[Article, str]]]:
    """Vectors of each article in one batched call; when it fails, one by one so a bad item names itself."""
    from storylens.embed import article_vectors

    arts = list(articles)
    if not arts:
        return {}, []
    try:
        return dict(zip([a.id for a in arts], article_vectors(arts, embedder), strict=True)), []
    except Exception:  # noqa: BLE001 - isolate the failing item below
        out: dict[str, ArticleVectors] = {}
        bad: list[tuple[Article, str]] = []
        for a in arts:
            try:
                out[a.id] = article_vectors([a], embedder)[0]
            except Exception as e:  # noqa: BLE001
                bad.append((a, f"embedding failed: {type(e).__name__}: {e}"))
        return out, bad


def process(articles: Sequence[Article], embed_ids: set[str], settings: NlpSettings, embedder: Embedder
            ) -> Processed:
    """Analyze ``articles`` and embed those whose id is in ``embed_ids`` (the originals: a copy needs no vectors)."""
    ok, bad = analyze_isolated(articles, settings)
    vecs, unembedded = embed_isolated([a for a in ok if a.id in embed_ids], embedder)
    failed = {a.id for a, _ in unembedded}
    return Processed([a for a in ok if a.id not in failed],
                     [(a, "analyze", r) for a, r in bad] + [(a, "embed", r) for a, r in unembedded], vecs)


# ---- worker processes ---------------------------------------------------------------------------------------------
_worker: dict[str, Any] = {}


def _init_worker(settings: NlpSettings, owner: int) -> None:
    """Load the models once in a worker process; its BLAS uses one thread (the processes use the cores).

    Ctrl-C reaches the whole process group: the worker ignores it and lets the ingesting process stop the pool
    (otherwise every worker printed a KeyboardInterrupt traceback).  The worker ends when the ingesting process
    (``owner``) is gone, even killed with SIGKILL: its task queue never reports that by itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(owner,), name="storylens-owner-watch", daemon=True).start()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # noqa: BLE001 - without threadpoolctl the encoder and the parser still work
        pass
    os.environ["STORYLENS_EMBED_THREADS"] = "1"
    from storylens.embed import Embedder
    from storylens.nlp.backends import spacy_model

    spacy_model(settings.spacy_model)
    _worker["settings"] = settings
    _worker["embedder"] = Embedder()
    _worker["embedder"].encode(["warm up"])


def _exit_with(owner: int, every_s: float = 1.0) -> None:
    """End this worker process once ``owner`` no longer runs."""
    while True:
        time.sleep(every_s)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # a process of another user took the number: the owner is gone
            os._exit(0)


def _run(articles: list[Article], embed_ids: set[str]) -> Processed:
    return process(articles, embed_ids, _worker["settings"], _worker["embedder"])


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class WorkerPool:
    """``workers`` processes running :func:`process`, models loaded once in each."""

    def __init__(self, workers: int, settings: NlpSettings) -> None:
        self.workers = workers
        # forkserver: the workers start from a clean interpreter, not from a copy of a process that holds database
        # connections and threads (a progress bar's)
        ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        self._pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                         initargs=(settings, os.getpid()))
        self._started = False

    def submit(self, articles: Sequence[Article], embed_ids: set[str]) -> list[Future[Processed]]:
        """The articles in contiguous chunks of about equal text length, a few per worker (the faster worker takes
        more); the futures in input order."""
        chunks = split_by_length(list(articles), 2 * self.workers)
        with contextlib.nullcontext() if self._started else _main_hidden():
            # the processes start with the first submission
            futures = [self._pool.submit(_run, c, {a.id for a in c if a.id in embed_ids}) for c in chunks]
        self._started = True
        return futures

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """While the workers start: the caller's main module hidden from them.  A new process otherwise imports the
    script that called storylens again (a script without an ``if __name__ == "__main__"`` guard would then ingest
    in every worker); the workers only run storylens code."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved: dict[str, Any] = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def split_by_length(articles: list[Article], parts: int) -> list[list[Article]]:
    """Contiguous runs of ``articles`` with about the same number of characters each (at most ``parts``)."""
    if not articles:
        return []
    total = sum(len(a.text or "") + 1 for a in articles)
    out: list[list[Article]] = [[]]
    acc = 0
    for a in articles:
        if out[-1] and acc >= total * len(out) / parts and len(out) < parts:
            out.append([])
        out[-1].append(a)
        acc += len(a.text or "") + 1
    return out
