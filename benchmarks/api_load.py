"""Load test of the web API (loopback only, bounded in time, stops by itself).

    .venv/bin/python benchmarks/api_load.py [--articles 10000] [--clients 50] [--seconds 30] [--ingest 200]

Builds (once, cached under benchmarks/out/) a SQLite store of synthetic articles in stories of 20 with their
comparisons, serves it with uvicorn in a child process on a free 127.0.0.1 port, then runs ``--clients``
concurrent clients for ``--seconds`` against ``GET /api/stories/{id}`` and ``GET /api/search?q=`` (half each,
random ids and words).  Meanwhile a writer ingests ``--ingest`` new articles (through ``POST /api/articles`` when
the analysis stages are installed, else straight through the Store) and the run checks that every one of them is
readable afterwards.  Prints requests/s, p50/p99 latency and errors; writes benchmarks/out/api_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import importlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
WORDS = ["START", "treaty", "NATO", "summit", "Geneva", "dialogue", "weakness", "sanctions", "harbour", "budget",
         "Stoltenberg", "leaders", "missile", "council", "strategic stability"]


def build_store(path: Path, n: int) -> None:
    from storylens.api import sample
    from storylens.store import Store

    t = time.perf_counter()
    st = Store(f"sqlite:///{path}")
    have = st.count_articles()
    if have < n:
        sample.build(st, n_articles=n - have, per_story=20, first_index=have, seed=have + 1)
    st.close()
    print(f"store: {n} articles in {path} ({time.perf_counter() - t:.1f}s)", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int) -> subprocess.Popen[bytes]:
    code = ("import sys; from storylens.api.server import run; "
            "run(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')")
    env = {**os.environ, "STORYLENS_TOKEN": ""}
    env.pop("STORYLENS_TOKEN")
    proc = subprocess.Popen([sys.executable, "-c", code, f"sqlite:///{db}", str(port)], env=env,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


def pipeline_ready() -> bool:
    try:
        return (hasattr(importlib.import_module("storylens.nlp"), "analyze")
                and hasattr(importlib.import_module("storylens.stories"), "StoryAssigner")
                and importlib.util.find_spec("storylens.embed") is not None)
    except ImportError:
        return False


def writer(base: str, db: Path, n: int, stop_at: float, mode: str, result: dict[str, Any]) -> None:
    """Ingest ``n`` articles spread over the run; record their ids."""
    ids: list[str] = []
    errors: list[str] = []
    gap = max((stop_at - time.monotonic()) * 0.8 / max(n, 1), 0.0)
    if mode == "api":
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
    else:
        from storylens.api import sample
        from storylens.store import Store

        st = Store(f"sqlite:///{db}", migrate=False)
        rng = random.Random(99)
        for i in range(n):
            a = sample.make_article(900_000 + i, "load", "Load Wire", dt.date(2024, 5, 1), rng)
            a.id = f"load-{i:05d}"
            try:
                st.save_article(a, run_id=None)
            except Exception as e:  # noqa: BLE001 - counted as a lost write
                errors.append(f"{a.id}: {type(e).__name__}: {e}")
            ids.append(a.id)
            time.sleep(gap)
        st.close()
    result.update(ids=ids, errors=errors)


async def client_loop(c: httpx.AsyncClient, stories: list[str], stop_at: float, lat: dict[str, list[float]],
                      errors: list[str], rng: random.Random) -> None:
    while time.monotonic() < stop_at:
        if rng.random() < 0.5:
            kind, url = "story", f"/api/stories/{rng.choice(stories)}"
        else:
            kind, url = "search", "/api/search"
        t = time.perf_counter()
        try:
            if kind == "search":
                r = await c.get(url, params={"q": rng.choice(WORDS), "limit": 20})
            else:
                r = await c.get(url)
            ok = r.status_code == 200
            if not ok:
                errors.append(f"{url}: HTTP {r.status_code}")
        except httpx.HTTPError as e:
            errors.append(f"{url}: {type(e).__name__}")
            continue
        lat[kind].append(time.perf_counter() - t)


async def run_clients(base: str, stories: list[str], clients: int, seconds: float) -> tuple[dict[str, list[float]],
                                                                                             list[str], float]:
    lat: dict[str, list[float]] = {"story": [], "search": []}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        t0 = time.monotonic()
        stop_at = t0 + seconds
        await asyncio.gather(*(client_loop(c, stories, stop_at, lat, errors, random.Random(i))
                               for i in range(clients)))
        elapsed = time.monotonic() - t0
    return lat, errors, elapsed


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--ingest", type=int, default=200, help="articles written during the reads")
    ap.add_argument("--ingest-via", choices=["auto", "api", "store"], default="auto")
    ap.add_argument("--db", type=Path, default=None, help="store to use (default: a cached copy per size)")
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600:
        raise SystemExit("--seconds must be between 1 and 600")
    OUT.mkdir(parents=True, exist_ok=True)
    cached = args.db or OUT / f"load-{args.articles}.db"
    build_store(cached, args.articles)
    db = OUT / "load-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    import sqlite3

    with sqlite3.connect(cached) as src, sqlite3.connect(db) as dst:  # a fresh copy: the writes stay out of the cache
        src.backup(dst)
    mode = args.ingest_via if args.ingest_via != "auto" else ("api" if pipeline_ready() else "store")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(db, port)
    try:
        stories = [s["id"] for s in httpx.get(f"{base}/api/stories", params={"format": "json"}, timeout=120).json()]
        before = httpx.get(f"{base}/api/health", timeout=30).json()["articles"]
        # warm the comparison cache check and the search index pages once
        httpx.get(f"{base}/api/stories/{stories[0]}", timeout=120)
        wres: dict[str, Any] = {}
        stop_at = time.monotonic() + args.seconds
        wt = threading.Thread(target=writer, args=(base, db, args.ingest, stop_at, mode, wres), daemon=True)
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
        "articles": args.articles, "stories": len(stories), "clients": args.clients, "seconds": round(elapsed, 1),
        "cpus": os.cpu_count(),
        "requests": len(all_lat), "requests_per_s": round(len(all_lat) / elapsed, 1),
        "p50_ms": round(pct(all_lat, 50), 1), "p99_ms": round(pct(all_lat, 99), 1),
        "story": {"requests": len(lat["story"]), "p50_ms": round(pct(lat["story"], 50), 1),
                  "p99_ms": round(pct(lat["story"], 99), 1)},
        "search": {"requests": len(lat["search"]), "p50_ms": round(pct(lat["search"], 50), 1),
                   "p99_ms": round(pct(lat["search"], 99), 1)},
        "errors": len(errors), "error_examples": errors[:5],
        "ingest": {"via": mode, "written": len(wres.get("ids", [])), "write_errors": wres.get("errors", [])[:5],
                   "articles_before": before, "articles_after": after, "missing_after": missing[:5],
                   "lost": len(missing) + (before + len(wres.get("ids", [])) - after)},
    }
    (OUT / "api_load.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report, indent=1))
    if report["errors"] or report["ingest"]["lost"] or report["ingest"]["write_errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
