"""Cited summaries on NeuS dev (307 AllSides roundups, each a left, a centre and a right outlet's title and lead),
scored by ../shared/eval/score_summaries.py against AllSides' neutral summary, next to the lead baseline (the first
sentence of each of the three leads, as the eval README measures it).

Stories are the true roundups, so the figures measure the summary, not the clustering.  Articles go through the
real stages (read -> clean -> analyze); each roundup's summary is `compare_story(...).summary`, every sentence citing
the articles that carry it.  Roundups are split by their position in the gold file (even: the half the summary was
tuned on; odd: held out); every figure is given for both halves and all.

  python ../shared/eval/to_jsonl.py                       # writes $TMPDIR/storylens-eval/jsonl/neus-dev.jsonl
  .venv/bin/python benchmarks/summaries_neus.py [--jsonl PATH] [--keep DIR] [--json-out figures.json]

Exits 0 with a note when the evaluation data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
SCORER = SHARED / "eval" / "score_summaries.py"
JSONL = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval")) / "jsonl"
TARGET = {"rouge1": 0.42, "rouge2": 0.20}


def first_sentence(text: str) -> str:
    from storylens.text.sentences import split_sentences

    sents = split_sentences(text)
    return sents[0].text if sents else text


def predictions(jsonl: Path, gold: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(storylens summaries, lead baseline) per roundup id."""
    from storylens.compare import compare_story
    from storylens.model import Story
    from storylens.pipeline import analyze_items
    from storylens.settings import Settings

    settings = Settings()
    arts = {a.id: a for a in analyze_items([str(jsonl)], settings)}
    ours: dict[str, Any] = {}
    lead: dict[str, Any] = {}
    for rid, r in gold["roundups"].items():
        members = [arts[i] for i in r["articles"] if i in arts]
        if not members:
            continue
        c = compare_story(Story(rid, r.get("title") or rid, [a.id for a in members]), members, settings.compare)
        ours[rid] = {"summary": [{"text": s.text, "articles": s.citations} for s in c.summary]}
        lead[rid] = " ".join(first_sentence(a.text) for a in members)
    return ours, lead


def score(pred: dict[str, Any], gold_name: str, tmp: Path, name: str) -> dict[str, Any]:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(pred, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "STORYLENS_HIDDEN": str(JSONL.parent)}
    r = subprocess.run([sys.executable, str(SCORER), "--gold", gold_name, "--pred", str(path)], check=True,
                       capture_output=True, text=True, env=env)
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def f1s(s: dict[str, Any]) -> dict[str, float]:
    view = s.get("covered") or s.get("all") or s
    return {k: float(view[k]["f1"]) if isinstance(view[k], dict) else float(view[k])
            for k in ("rouge1", "rouge2", "rougeL") if k in view}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jsonl", default=str(JSONL / "neus-dev.jsonl"))
    ap.add_argument("--keep", help="keep the predictions in this directory")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    jsonl = Path(args.jsonl)
    gold_path = jsonl.with_name("neus-dev.gold.json")
    if not jsonl.exists() or not gold_path.exists() or not SCORER.exists():
        print(f"NeuS dev data or scorer not found ({jsonl}; run ../shared/eval/to_jsonl.py): nothing to measure")
        return 0
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    ours, lead = predictions(jsonl, gold)
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="neus-summaries-"))
    tmp.mkdir(parents=True, exist_ok=True)
    order = list(gold["roundups"])
    halves = {"tune": set(order[0::2]), "held-out": set(order[1::2]), "all": set(order)}
    results: dict[str, dict[str, dict[str, float]]] = {}
    for system, pred in (("storylens", ours), ("lead baseline", lead)):
        results[system] = {}
        for half, ids in halves.items():
            part = {k: v for k, v in pred.items() if k in ids}
            results[system][half] = f1s(score(part, "neus-dev", tmp, f"{system.split()[0]}-{half}"))
    words = [len(re.findall(r"\w+", " ".join(s["text"] for s in v["summary"]))) for v in ours.values()]
    cited = all(s["articles"] for v in ours.values() for s in v["summary"])
    print("| system | split | ROUGE-1 F1 | ROUGE-2 F1 | ROUGE-L F1 |")
    print("|---|---|---|---|---|")
    for system, per in results.items():
        for half in ("tune", "held-out", "all"):
            f = per[half]
            print(f"| {system} | {half} | {f['rouge1']:.3f} | {f['rouge2']:.3f} | {f.get('rougeL', 0):.3f} |")
    print(f"| target | | ≥ {TARGET['rouge1']:.2f} | ≥ {TARGET['rouge2']:.2f} | |")
    print(f"summaries: {len(ours)} roundups, median {sorted(words)[len(words) // 2]} words, "
          f"every sentence cites its articles: {cited}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
