"""Load test of the web API (loopback only, bounded in time, stops by itself; a benchmark, not a test).

    .venv/bin/python benchmarks/api_load.py [--articles 10000] [--workers 2] [--clients 50] [--seconds 30] [--ingest 20]

Builds (once, cached under benchmarks/out/) a SQLite store through the real pipeline: ``--articles`` generated news
articles (``spark_scale.generate``) by ``storylens ingest``, then every story's comparison by the compare stage.
Serves a fresh copy with ``storylens serve --workers N`` in a child process on a free 127.0.0.1 port, then runs
``--clients`` concurrent clients for ``--seconds`` against ``GET /api/stories/{id}`` and ``GET /api/search?q=``
(half each, random stories and words; each client one keep-alive connection on plain asyncio streams, so that the
load generator sharing the machine costs little CPU; 2 % of the bodies are decoded and checked).  Meanwhile a writer posts ``--ingest`` new articles through
``POST /api/articles`` and the run checks that every one of them is readable afterwards.  Prints requests/s,
p50/p99 latency and errors; writes benchmarks/out/api_load.json.  Exits 1 on any error or lost write.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
WORDS = ["START", "treaty", "NATO", "summit", "Geneva", "dialogue", "weakness", "sanctions", "harbour", "budget",
         "Stoltenberg", "leaders", "missile", "council", "strategic stability"]


def build_store(path: Path, n: int) -> None:
    """The store the load runs against, built once (cached) by the real pipeline: ``n`` generated news articles
    (``spark_scale.generate``: events of 20 topics carried by 3-8 outlets, syndicated copies) through
    ``storylens ingest``, then every story's comparison through the compare stage, as the story page would."""
    from storylens.corpus import Corpus

    done = path.with_suffix(".built")
    if done.exists() and path.exists():
        return
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    t = time.perf_counter()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from spark_scale import generate

    inp = path.with_suffix(".jsonl")
    with inp.open("w", encoding="utf-8") as f:
        for a in generate(n):
            f.write(json.dumps(a, ensure_ascii=False) + "\n")
    subprocess.run([sys.executable, "-m", "storylens.cli", "ingest", str(inp), "--db", str(path)], check=False)
    with Corpus(f"sqlite:///{path}") as c:
        stories = c.stories()
        for s in stories:
            c.compare(s.id)
        have = c.store.count_articles()
    done.write_text(json.dumps({"articles": have, "stories": len(stories)}), encoding="utf-8")
    print(f"store: {have} articles, {len(stories)} stories in {path} ({time.perf_counter() - t:.0f}s)",
          file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "STORYLENS_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "storylens.cli", "serve", "--db", str(db), "--port", str(port),
                             "--workers", str(workers), "--log-level", "warning"], env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def writer(base: str, n: int, stop_at: float, result: dict[str, Any]) -> None:
    """Post ``n`` articles through ``POST /api/articles`` (the real pipeline) spread over the run; record their ids."""
    ids: list[str] = []
    errors: list[str] = []
    gap = max((stop_at - time.monotonic()) * 0.8 / max(n, 1), 0.0)
    with httpx.Client(base_url=base, timeout=600) as c:
        for i in range(n):
            aid = f"load-{i:05d}"
            body = {"id": aid, "title": f"Load test article {i}", "published": "2024-05-01",
                    "text": f"Officials said on Wednesday that harbour talks number {i} went well. "
                            f"“We are close to a deal,” the mayor said."}
            r = c.post("/api/articles", json=body)
            if r.status_code != 200:
                errors.append(f"{aid}: HTTP {r.status_code} {r.text[:200]}")
            ids.append(aid)
            time.sleep(gap)
    result.update(ids=ids, errors=errors)


class RawClient:
    """One keep-alive HTTP/1.1 connection issuing GETs on asyncio streams.  The load generator must cost far less CPU
    than the server it measures: on this 2-core machine httpx's client took a whole core at 200 requests/s, so the
    latencies it measured were mostly its own queue."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[int, bytes]:
        if params:
            path = f"{path}?{urllib.parse.urlencode(params)}"
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          f"Accept: application/json\r\n\r\n".encode("ascii"))
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head[9:12])
        length = re.search(r"\r\ncontent-length:\s*(\d+)", head)
        if length:
            body = await self.reader.readexactly(int(length.group(1)))
        elif "transfer-encoding: chunked" in head:
            parts = []
            while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            await self.reader.readuntil(b"\r\n")
            body = b"".join(parts)
        else:  # the body runs to the end of the connection
            body = await self.reader.read()
            await self.close()
        if "\r\nconnection: close" in head:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


async def client_loop(c: RawClient, stories: list[str], stop_at: float, lat: dict[str, list[float]],
                      errors: list[str], rng: random.Random) -> None:
    while time.monotonic() < stop_at:
        if rng.random() < 0.5:
            kind, url = "story", f"/api/stories/{rng.choice(stories)}"
        else:
            kind, url = "search", "/api/search"
        t = time.perf_counter()
        try:
            if kind == "search":
                status, body = await c.get(url, {"q": rng.choice(WORDS), "limit": 20})
            else:
                status, body = await c.get(url)
            if status != 200:
                errors.append(f"{url}: HTTP {status}")
            elif rng.random() < 0.02 and not isinstance(json.loads(body), dict):  # a sample of bodies read whole
                errors.append(f"{url}: not a JSON object")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            errors.append(f"{url}: {type(e).__name__}")
            await c.close()
            continue
        lat[kind].append(time.perf_counter() - t)
    await c.close()


async def run_clients(base: str, stories: list[str], clients: int, seconds: float) -> tuple[dict[str, list[float]],
                                                                                             list[str], float]:
    lat: dict[str, list[float]] = {"story": [], "search": []}
    errors: list[str] = []
    url = urllib.parse.urlsplit(base)
    t0 = time.monotonic()
    stop_at = t0 + seconds
    await asyncio.gather(*(client_loop(RawClient(url.hostname or "127.0.0.1", url.port or 80), stories, stop_at, lat,
                                       errors, random.Random(i)) for i in range(clients)))
    return lat, errors, time.monotonic() - t0


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2, help="server processes (storylens serve --workers)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--ingest", type=int, default=20, help="articles posted during the reads")
    ap.add_argument("--db", type=Path, default=None, help="store to use (default: a cached copy per size)")
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600:
        raise SystemExit("--seconds must be between 1 and 600")
    OUT.mkdir(parents=True, exist_ok=True)
    cached = args.db or OUT / f"load-{args.articles}.db"
    build_store(cached, args.articles)
    db = OUT / "load-run.db"
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    import sqlite3

    with sqlite3.connect(cached) as src, sqlite3.connect(db) as dst:  # a fresh copy: the writes stay out of the cache
        src.backup(dst)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(db, port, args.workers)
    try:
        stories = [s["id"] for s in httpx.get(f"{base}/api/stories", params={"format": "json"}, timeout=120).json()]
        before = httpx.get(f"{base}/api/health", timeout=30).json()["articles"]
        httpx.post(f"{base}/api/articles", json={"id": "load-warm", "text": "The harbour reopened on Monday."},
                   timeout=600)  # the writer's models load before the clock starts
        before += 1
        wres: dict[str, Any] = {}
        stop_at = time.monotonic() + args.seconds
        wt = threading.Thread(target=writer, args=(base, args.ingest, stop_at, wres), daemon=True)
        wt.start()
        lat, errors, elapsed = asyncio.run(run_clients(base, stories, args.clients, args.seconds))
        wt.join(timeout=600)
        after = httpx.get(f"{base}/api/health", timeout=30).json()["articles"]
        missing = [i for i in wres.get("ids", []) if httpx.get(f"{base}/api/articles/{i}", timeout=30).status_code
                   != 200]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    all_lat = lat["story"] + lat["search"]
    report = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "articles": args.articles, "stories": len(stories), "workers": args.workers, "clients": args.clients,
        "seconds": round(elapsed, 1), "cpus": os.cpu_count(),
        "requests": len(all_lat), "requests_per_s": round(len(all_lat) / elapsed, 1),
        "p50_ms": round(pct(all_lat, 50), 1), "p99_ms": round(pct(all_lat, 99), 1),
        "story": {"requests": len(lat["story"]), "p50_ms": round(pct(lat["story"], 50), 1),
                  "p99_ms": round(pct(lat["story"], 99), 1)},
        "search": {"requests": len(lat["search"]), "p50_ms": round(pct(lat["search"], 50), 1),
                   "p99_ms": round(pct(lat["search"], 99), 1)},
        "errors": len(errors), "error_examples": errors[:5],
        "ingest": {"via": "POST /api/articles", "written": len(wres.get("ids", [])),
                   "write_errors": wres.get("errors", [])[:5], "articles_before": before, "articles_after": after,
                   "missing_after": missing[:5], "lost": len(missing) + (before + len(wres.get("ids", [])) - after)},
    }
    (OUT / "api_load.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    if report["errors"] or report["ingest"]["lost"] or report["ingest"]["write_errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
