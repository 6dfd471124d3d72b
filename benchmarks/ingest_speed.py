"""Ingest throughput (articles/s) and peak memory.

Phases, each in a fresh subprocess so peak RSS (resource.getrusage) belongs to that phase alone:

* ``bare-html``   bare ``trafilatura.extract`` on the trafilatura-eval pages (990): file bytes read from disk, decoded
                  and extracted by trafilatura alone;
* ``ours-html``   our reader + ``prepare`` on the same pages written to disk (read from files: decoding included);
* ``ours-text``   reader + ``prepare`` on N generated plain-text articles (one JSONL file);
* ``corpus-text`` full ``storylens.Corpus.ingest`` into SQLite (analysis, embeddings, stories) on M generated
  articles, when ``storylens.Corpus`` exists.

    .venv/bin/python benchmarks/ingest_speed.py [--pages N] [--texts 10000] [--corpus 200] [--phases ...]

Timings are measurements, never tests.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=None, help="trafilatura-eval pages (default all 990)")
    ap.add_argument("--texts", type=int, default=10000)
    ap.add_argument("--corpus", type=int, default=200, help="articles for the full Corpus ingest phase (0: skip)")
    ap.add_argument("--phases", nargs="*", default=["bare-html", "ours-html", "ours-text", "corpus-text"])
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    args = ap.parse_args()
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
