"""Scale benchmark (not a test): the local runner vs Spark local[N] on generated articles.

    .venv/bin/python benchmarks/spark_scale.py --n 20000                 # everything (slow on 2 cores)
    .venv/bin/python benchmarks/spark_scale.py --n 500 --runs local,spark:2:1,spark:2:2
    .venv/bin/python benchmarks/spark_scale.py --assigner 1000,2000,4000,8000   # story assignment alone

Each run is a subprocess (``storylens ingest`` or ``storylens spark``); its peak memory is the peak over time of
the summed RSS of the whole process tree (for Spark: the driver's Python, the JVM and every Python worker), read
from /proc every 0.2 s.  ``spark:C:P`` means master ``local[C]`` with P partitions per core.  Results are appended
to ``benchmarks/results/spark_scale.jsonl`` (one JSON object per run) and printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "spark_scale.jsonl"
CLI = [sys.executable, "-m", "storylens.cli"]

SPEAKERS = [("Jens Stoltenberg", "the NATO chief"), ("Ursula von der Leyen", "the Commission president"),
            ("Antonio Guterres", "the UN secretary-general"), ("Olaf Scholz", "the German chancellor"),
            ("Emmanuel Macron", "the French president"), ("Dmitry Peskov", "the Kremlin spokesman"),
            ("Janet Yellen", "the Treasury secretary"), ("Christine Lagarde", "the ECB president"),
            ("Kristalina Georgieva", "the IMF chief"), ("Tedros Adhanom", "the WHO director-general")]
PLACES = ["Brussels", "Geneva", "Berlin", "Paris", "Moscow", "Washington", "Frankfurt", "Vienna", "Oslo", "Madrid"]
TOPICS = [("arms control", "the New START treaty", "strategic stability"),
          ("energy prices", "the gas price cap", "winter supplies"),
          ("interest rates", "the rate decision", "inflation"),
          ("pandemic preparedness", "the pandemic accord", "vaccine supplies"),
          ("trade", "the tariff agreement", "supply chains"),
          ("climate", "the emissions target", "coal phase-out"),
          ("migration", "the asylum pact", "border controls"),
          ("debt relief", "the debt framework", "developing economies")]
OUTLETS = ["Harbor Wire", "Baltic Ledger", "Meridian Post", "Northgate Daily", "Vestnik Severa", "City Wire",
           "Global Desk", "Morning Courier", "Evening Standard Times", "Delta News", "Atlas Report", "Signal Today"]
VERBS = ["said", "told reporters", "added", "stressed", "warned", "noted"]


def generate(n: int, seed: int = 7, dup_rate: float = 0.1) -> list[dict[str, Any]]:
    """``n`` articles over ~90 days: events (speaker x topic x place on a date) each reported by several outlets,
    a share of them syndicated copies (near duplicates)."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    start = dt.date(2024, 1, 1)
    event = 0
    while len(out) < n:
        event += 1
        (name, role), (topic, thing, theme) = rnd.choice(SPEAKERS), rnd.choice(TOPICS)
        place, day = rnd.choice(PLACES), start + dt.timedelta(days=rnd.randrange(90))
        surname = name.split()[-1]
        q1 = f"We will not accept any weakening of {thing}, and we expect every partner to honour it"
        q2 = f"{theme.capitalize()} is not a question of one country, it is a question for all of us"
        for k in range(rnd.randint(3, 8)):
            if len(out) >= n:
                break
            outlet = rnd.choice(OUTLETS)
            verb = rnd.choice(VERBS)
            extra = " ".join(rnd.choice(["Officials", "Diplomats", "Analysts", "Observers"]) + " " +
                             rnd.choice(["expect", "doubt", "question", "welcome"]) + " " +
                             rnd.choice(["further talks", "a compromise", "new measures", "a delay"]) +
                             f" on {topic} before the {rnd.choice(['summer', 'autumn', 'spring'])} meeting."
                             for _ in range(rnd.randint(3, 7)))
            text = (f"{place.upper()}, {day:%B} {day.day}. {name} on {day:%A} urged partners to keep talking about "
                    f"{topic}. “{q1},” {surname} {verb} in {place}.\n\n"
                    f"Speaking after talks with ministers, {role} added that {theme} would stay on the agenda. "
                    f"“{q2},” he said.\n\n{extra}\n\nThe meeting in {place} was the {rnd.randint(2, 40)}th of its "
                    f"kind, and {rnd.randint(10, 90)} delegations took part, according to organisers.")
            art = {"id": f"gen-{event}-{k}", "title": f"{surname} on {topic}: {thing} must stay",
                   "text": text, "published": day.isoformat(), "outlet": outlet, "language": "en",
                   "url": f"https://{outlet.lower().replace(' ', '')}.example/{event}/{k}"}
            out.append(art)
            if rnd.random() < dup_rate and len(out) < n:  # a syndicated copy with a sign-off
                copy = dict(art, id=f"gen-{event}-{k}-copy", outlet=rnd.choice(OUTLETS),
                            text=art["text"] + "\n\nThis story was syndicated from a wire service.")
                out.append(copy)
    return out


def _tree_rss(pid: int) -> int:
    """Summed RSS (bytes) of ``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as fh:
                stat = fh.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(stat[1]), []).append(int(d))
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += children.get(p, [])
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall time and peak summed RSS of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=ROOT)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.2)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    stdout, stderr = proc.communicate()
    stop.set()
    th.join()
    secs = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": round(secs, 1), "peak_rss_mb": round(peak / 2**20), "stdout": stdout, "stderr": stderr[-2000:]}


def run_local(inp: Path, work: Path) -> dict[str, Any]:
    db = work / "local.db"
    r = measure([*CLI, "ingest", str(inp), "--db", str(db)])
    return {"runner": "local", "seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
            "summary": [ln for ln in r["stderr"].splitlines() if " new, " in ln][-1:]}


def run_spark(inp: Path, work: Path, cores: int, per_core: int) -> dict[str, Any]:
    out = work / f"spark-{cores}-{per_core}"
    r = measure([*CLI, "spark", str(inp), "--out", str(out), "--master", f"local[{cores}]",
                 "--partitions", str(cores * per_core), "--json"])
    rep = json.loads(r["stdout"].strip().splitlines()[-1])
    return {"runner": f"spark local[{cores}]", "partitions_per_core": per_core, "seconds": r["seconds"],
            "peak_rss_mb": r["peak_rss_mb"], "stage_seconds": rep["seconds"], "counts": rep["counts"]}


def bench_assigner(sizes: list[int]) -> list[dict[str, Any]]:
    """Story assignment alone on synthetic vectors: its cost as the input grows (same days, denser news)."""
    import numpy as np

    from storylens.embed import ArticleVectors
    from storylens.model import Article, PublishedDate
    from storylens.settings import Settings
    from storylens.stories import StoryAssigner

    rows = []
    dim = 512
    for n in sizes:
        rnd = np.random.default_rng(1)
        n_events = max(1, n // 6)  # ~6 articles per event, over the same 90 days: news gets denser with n
        centres = rnd.normal(size=(n_events, dim)).astype("float32")
        vocab = [f"w{i}" for i in range(20000)]
        words = [rnd.choice(vocab, 25) for _ in range(n_events)]
        days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(rnd.integers(90))) for _ in range(n_events)]
        arts, vecs = [], []
        for i in rnd.permutation(n):
            e = int(i) % n_events
            c = centres[e] + 0.35 * rnd.normal(size=dim).astype("float32")
            c /= np.linalg.norm(c)
            text = " ".join([*rnd.choice(words[e], 40), *rnd.choice(vocab, 20)]) + "."
            arts.append(Article(id=f"a{i}", source="bench", text=text, title=" ".join(words[e][:6]),
                                published=PublishedDate(days[e] + dt.timedelta(days=int(rnd.integers(3))),
                                                        "metadata")))
            vecs.append(_vectors(ArticleVectors, c))
        order = sorted(range(n), key=lambda j: (arts[j].published.value, arts[j].id))
        arts, vecs = [arts[j] for j in order], [vecs[j] for j in order]
        a = StoryAssigner(Settings().stories)
        t0 = time.perf_counter()
        for art, v in zip(arts, vecs, strict=True):
            a.add(art, v)
        secs = time.perf_counter() - t0
        rows.append({"assigner_n": n, "events": n_events, "seconds": round(secs, 3),
                     "per_article_ms": round(1000 * secs / n, 3), "stories": len(list(a.stories()))})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _vectors(cls: Any, doc: Any) -> Any:
    import inspect

    params = list(inspect.signature(cls).parameters)
    kwargs: dict[str, Any] = {}
    for p in params:
        if p in ("doc", "vector", "article", "title", "lead"):
            kwargs[p] = doc
        elif p in ("paragraphs", "sentences", "quotes"):
            kwargs[p] = doc.reshape(1, -1)
    return cls(**kwargs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--runs", default="local,spark:2:1,spark:2:2", help="local, spark:CORES:PARTITIONS_PER_CORE")
    ap.add_argument("--assigner", default="", help="sizes for the story-assignment micro-benchmark, e.g. 1000,4000")
    ap.add_argument("--keep", help="keep the generated input and outputs in this directory")
    args = ap.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    if args.assigner:
        rows += bench_assigner([int(x) for x in args.assigner.split(",")])
    if args.n and args.runs:
        work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="storylens-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        inp = work / f"generated-{args.n}.jsonl"
        if not inp.exists():
            with inp.open("w", encoding="utf-8") as fh:
                for a in generate(args.n):
                    fh.write(json.dumps(a, ensure_ascii=False) + "\n")
        for spec in args.runs.split(","):
            if spec == "local":
                r = run_local(inp, work)
            else:
                _, cores, per = spec.split(":")
                r = run_spark(inp, work, int(cores), int(per))
            r.update(n=args.n, articles_per_s=round(args.n / r["seconds"], 2),
                     when=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), cpus=os.cpu_count())
            if r["runner"].startswith("spark"):
                cores = int(r["runner"].split("[")[1].rstrip("]"))
                r["articles_per_s_per_core"] = round(r["articles_per_s"] / cores, 2)
                r["cores_for_1M_per_hour"] = round(1_000_000 / 3600 / r["articles_per_s_per_core"], 1)
            print(json.dumps(r), flush=True)
            rows.append(r)
    with RESULTS.open("a", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
