"""Quality of the compare stage.

* Quote grouping precision / recall (pairwise, over the quotes the truth lists, a quote without a group is a
  singleton) on the example corpus (examples/truth.json) and on the seeds (../shared/seeds/gold.json).
* ROUGE-1/2 (F1, own implementation: lower-cased word n-grams, no stemming) of each example story's extractive
  summary against the reference summary in examples/truth.json, next to a lead-3 baseline (the first three
  sentences of the story's earliest article).

Articles go through the real stages: read → prepare (clean) → analyze (nlp).  Stories are taken from the truth so
that the figures measure the compare stage, not the clustering.  Run: .venv/bin/python benchmarks/compare_quality.py
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

from storylens.compare import compare_story, group_quotes, lead_baseline
from storylens.model import Article, QuoteGroup, Story
from storylens.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))


def _words(s: str) -> list[str]:
    return re.findall(r"[^\W_]+", s.lower())


def rouge_n(candidate: str, reference: str, n: int) -> float:
    def grams(ws: list[str]) -> Counter[tuple[str, ...]]:
        return Counter(tuple(ws[i:i + n]) for i in range(len(ws) - n + 1))
    c, r = grams(_words(candidate)), grams(_words(reference))
    overlap = sum((c & r).values())
    if not c or not r or not overlap:
        return 0.0
    p, rec = overlap / sum(c.values()), overlap / sum(r.values())
    return 2 * p * rec / (p + rec)


def load(paths: list[str]) -> list[Article]:
    from storylens.clean import FurnitureModel, prepare
    from storylens.ingest import read_inputs

    s = Settings()
    fm = FurnitureModel()
    raws = [r for r in read_inputs(paths, s.ingest) if not hasattr(r, "reason")]
    arts = [prepare(r, s, fm) for r in raws]  # type: ignore[arg-type]
    from storylens.nlp import analyze

    return list(analyze(arts, s.nlp))


def _key(a: Article) -> str:
    return a.id.rsplit("/", 1)[-1] if "#" not in a.id else a.id


def _norm(s: str) -> str:
    return " ".join(_words(s))


def grouping_pr(groups: list[QuoteGroup], truth_quotes: list[dict[str, Any]], key_of: dict[str, str]) -> tuple[float, float, int]:
    """Pairwise precision / recall of quote groups over the truth's quotes."""
    members: dict[tuple[str, str], set[str]] = {}  # (article key, quote text) -> group ids
    for g in groups:
        for v in g.variants:
            members.setdefault((key_of.get(v.article_id, v.article_id), _norm(v.text)), set()).add(g.id)
    items = []
    for n, q in enumerate(truth_quotes):
        art, text = q["article"], _norm(q["text"])
        found: set[str] = set()
        for (a, t), gs in members.items():
            if a == art and t and (text in t or t in text):
                found |= gs
        items.append((q.get("group") or f"single-{n}", found))
    tp = fp = fn = 0
    for (ga, pa), (gb, pb) in combinations(items, 2):
        same_truth, same_pred = ga == gb, bool(pa & pb)
        tp += same_truth and same_pred
        fp += same_pred and not same_truth
        fn += same_truth and not same_pred
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, tp + fn


def main() -> int:
    truth = json.loads((ROOT / "examples" / "truth.json").read_text(encoding="utf-8"))
    arts = load([str(ROOT / "examples" / "corpus")])
    by_key = {_key(a): a for a in arts}
    key_of = {a.id: _key(a) for a in arts}
    p, r, pos = grouping_pr(group_quotes(arts), truth["quotes"], key_of)
    print(f"example corpus quote grouping: precision {p:.3f} recall {r:.3f} ({pos} true pairs, "
          f"{len(truth['quotes'])} truth quotes)")
    print("\nsummaries vs reference (F1)   ROUGE-1  ROUGE-2 | lead-3 ROUGE-1  ROUGE-2")
    tot = [0.0, 0.0, 0.0, 0.0]
    for st in truth["stories"]:
        members = [by_key[k] for k in st["articles"] if k in by_key]
        ref = truth["reference_summaries"][st["event"]]
        comp = compare_story(Story(st["event"], st["name"], [a.id for a in members]), members, Settings().compare)
        summ = " ".join(s.text for s in comp.summary)
        lead = lead_baseline(members)
        row = [rouge_n(summ, ref, 1), rouge_n(summ, ref, 2), rouge_n(lead, ref, 1), rouge_n(lead, ref, 2)]
        tot = [a + b for a, b in zip(tot, row, strict=True)]
        print(f"story {st['event']} ({len(members)} articles)          {row[0]:.3f}    {row[1]:.3f}  |     "
              f"{row[2]:.3f}    {row[3]:.3f}")
    k = len(truth["stories"])
    print(f"mean                          {tot[0] / k:.3f}    {tot[1] / k:.3f}  |     {tot[2] / k:.3f}    {tot[3] / k:.3f}")
    gold_path = SHARED / "seeds" / "gold.json"
    if gold_path.exists():
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        seeds = load([str(p) for p in sorted((SHARED / "seeds").glob("0*.txt"))])
        skey = {a.id: Path(a.source).name for a in seeds}
        p, r, pos = grouping_pr(group_quotes(seeds), gold["quotes"], skey)
        print(f"\nseeds quote grouping: precision {p:.3f} recall {r:.3f} ({pos} true pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
