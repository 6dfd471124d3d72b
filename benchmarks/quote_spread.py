"""Quote spread on QuoteDrift dev (../shared/benchdata/quotedrift): quote groups, first carriers and change labels
relative to the first report, scored by ../shared/eval/quotedrift.py next to its word-diff baseline.

Sources are split in two halves by their PolNeAR file name (sorted; even positions = the half the compare stage was
tuned on, odd positions = held out); every figure is reported for the tuning half, the held-out half and all.

  .venv/bin/python benchmarks/quote_spread.py                       # through the CLI, as the evaluators run it
  .venv/bin/python benchmarks/quote_spread.py --store qd.db         # in-process on a store that holds articles.jsonl
  .venv/bin/python benchmarks/quote_spread.py --json-out figures.json --keep DIR

The CLI run (`quotedrift.py run --cli storylens`) ingests the articles, lists the stories and writes one report per
story; `--store` skips the ingest and compares each stored story in this process (the same compare code).
Evaluation data is read from ../shared and never copied; the script exits 0 with a note when it is absent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "benchdata" / "quotedrift"
SCORER = SHARED / "eval" / "quotedrift.py"
TARGETS = {"grouping F1": 0.98, "first carrier": 0.99, "labels micro F1": 0.90, "false change rate": 0.02,
           "speaker_changed P": 0.95, "speaker_changed R": 0.90}


def _storylens_cli() -> str:
    here = Path(sys.executable).parent / "storylens"
    return str(here) if here.exists() else (shutil.which("storylens") or "storylens")


def run_cli(out: Path, cli: str) -> None:
    subprocess.run([sys.executable, str(SCORER), "run", "--cli", cli, "--data", str(DATA), "--out", str(out)],
                   check=True)


def run_store(db: str, out: Path) -> None:
    """Every stored story compared in this process; PRED.json in the scorer's shape."""
    from storylens.compare import group_quotes
    from storylens.corpus import Corpus

    c = Corpus(db)
    encode = c.runner.c.embedder.encode
    stories, groups = [], []
    for s in c.stories():
        arts = sorted(c.articles(s.articles), key=lambda a: (a.published.value or dt.date.max, a.id))
        stories.append({"id": s.id, "articles": [a.id for a in arts]})
        for g in group_quotes(arts, encode, story_id=s.id):
            groups.append({"id": g.id, "story": s.id, "first_article": g.first_article, "first_outlet": g.first_outlet,
                           "speaker": g.speaker, "canonical": g.canonical,
                           "variants": [{"article": v.article_id, "text": v.text, "mutations": list(v.mutations),
                                         "speaker": v.speaker, "outlet": v.outlet,
                                         "published": v.published.isoformat() if v.published else None,
                                         "quote_id": v.quote_id} for v in g.variants]})
    c.close()
    out.write_text(json.dumps({"system": "storylens (in-process)", "stories": stories, "groups": groups},
                              ensure_ascii=False), encoding="utf-8")


def halves(gold: dict[str, Any]) -> dict[str, set[str]]:
    """Article ids of each half of the sources (sorted source names: even positions tune, odd positions test)."""
    sources = sorted({a["source_article"] for a in gold["articles"]})
    tune = set(sources[0::2])
    out: dict[str, set[str]] = {"tune": set(), "held-out": set()}
    for a in gold["articles"]:
        out["tune" if a["source_article"] in tune else "held-out"].add(a["id"])
    return out


def _subset(gold: dict[str, Any], pred: dict[str, Any], ids: set[str], tmp: Path) -> tuple[Path, Path]:
    """Gold and predictions restricted to the articles ``ids`` (the scorer reads articles.jsonl next to gold)."""
    g = dict(gold)
    g["articles"] = [a for a in gold["articles"] if a["id"] in ids]
    g["occurrences"] = [o for o in gold["occurrences"] if o["article"] in ids]
    keep = {o["statement"] for o in g["occurrences"]}
    g["statements"] = [s for s in gold["statements"] if s["statement"] in keep]
    g["first_article"] = {k: v for k, v in gold["first_article"].items() if k in keep}
    d = tmp / "gold"
    d.mkdir(parents=True, exist_ok=True)
    (d / "gold.json").write_text(json.dumps(g, ensure_ascii=False), encoding="utf-8")
    link = d / "articles.jsonl"
    if not link.exists():
        link.symlink_to(DATA / "articles.jsonl")
    p = dict(pred)
    p["groups"] = [{**gr, "variants": [v for v in gr["variants"] if v.get("article") in ids]}
                   for gr in pred.get("groups", [])]
    p["groups"] = [gr for gr in p["groups"] if gr["variants"]]
    pp = tmp / "pred.json"
    pp.write_text(json.dumps(p, ensure_ascii=False), encoding="utf-8")
    return d / "gold.json", pp


def score(gold_path: Path, pred_path: Path, errors: Path | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(SCORER), "score", "--gold", str(gold_path), "--pred", str(pred_path)]
    if errors is not None:
        cmd += ["--errors", str(errors)]
    r = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def figures(s: dict[str, Any]) -> dict[str, float]:
    sc = s["speaker_changed"]["label"]
    return {"grouping F1": s["grouping"]["f1"], "first carrier": s["first_acc"],
            "labels micro F1": s["change_micro"]["f1"], "labels micro P": s["change_micro"]["p"],
            "false change rate": s["false_change_rate"]["all"], "speaker_changed P": sc["p"],
            "speaker_changed R": sc["r"], "label-set acc": s["label_set_acc"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", help="compare the stories of this store in-process instead of running the CLI")
    ap.add_argument("--cli", default=None, help="the storylens executable for the CLI run (default: next to python)")
    ap.add_argument("--json-out", help="write the figures here")
    ap.add_argument("--keep", help="keep predictions and per-occurrence errors in this directory")
    args = ap.parse_args()
    if not (DATA / "gold.json").exists() or not SCORER.exists():
        print(f"QuoteDrift data or scorer not found under {SHARED}: nothing to measure")
        return 0
    gold = json.loads((DATA / "gold.json").read_text(encoding="utf-8"))
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="quote-spread-"))
    tmp.mkdir(parents=True, exist_ok=True)
    pred_path = tmp / "qd.json"
    if args.store:
        run_store(args.store, pred_path)
    else:
        run_cli(pred_path, args.cli or _storylens_cli())
    base_path = tmp / "qd-baseline.json"
    subprocess.run([sys.executable, str(SCORER), "baseline", "--data", str(DATA), "--out", str(base_path),
                    "--mode", "fuzzy"], check=True, capture_output=True)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for system, path in (("storylens", pred_path), ("word-diff baseline", base_path)):
        pred = json.loads(path.read_text(encoding="utf-8"))
        results[system] = {"all": figures(score(DATA / "gold.json", path,
                                                tmp / "errors.jsonl" if system == "storylens" else None))}
        for name, ids in halves(gold).items():
            g, p = _subset(gold, pred, ids, tmp / f"{system.split()[0]}-{name}")
            results[system][name] = figures(score(g, p))
    cols = list(next(iter(results.values()))["all"])
    print("| system | split | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for system, per in results.items():
        for split in ("tune", "held-out", "all"):
            print(f"| {system} | {split} | " + " | ".join(f"{per[split][c]:.3f}" for c in cols) + " |")
    print("| target | | " + " | ".join(("≤ " if c == "false change rate" else "≥ ") + f"{TARGETS[c]:.2f}"
                                      if c in TARGETS else "" for c in cols) + " |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
