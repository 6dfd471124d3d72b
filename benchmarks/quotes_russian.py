"""Russian quotes on the hand-written fixture (tests/fixtures/ru_quotes.json), with PolNeAR's definitions.

    python benchmarks/quotes_russian.py [--show]

Content P/R/F1 with one-to-one greedy matching on word-token coverage of the gold (>= 0.3 and >= 0.8, the
GenderGapTracker rule of score_quotes.py), speaker accuracy over matched quotes (canonical name equal to the gold
name), quote+speaker F1, for all quotes and for the quoted (direct|partial) ones.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from storylens.model import Article, Quote
from storylens.nlp import analyze
from storylens.settings import NlpSettings

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ru_quotes.json"


def toks(text: str, s: int, e: int) -> set[int]:
    return {m.start() for m in re.finditer(r"\w+", text) if s <= m.start() < e}


def evaluate(show: bool = False) -> dict[str, Any]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    arts = [Article(id=a["id"], source=a["id"], text=a["text"], language="ru") for a in data["articles"]]
    analyze(arts, NlpSettings())
    res: dict[str, Any] = {}
    for subset in ("all", "quoted"):
        n_gold = n_pred = 0
        tp = {"ov0.3": 0, "ov0.8": 0, "quote+spk": 0}
        spk_ok = 0
        for a, g in zip(arts, data["articles"], strict=True):
            golds = [q for q in g["quotes"] if subset == "all" or q["kind"] != "indirect"]
            preds: list[Quote] = [q for q in a.quotes if subset == "all" or q.kind != "indirect"]
            n_gold += len(golds)
            n_pred += len(preds)
            gt = []
            for q in golds:
                s = a.text.index(q["text"])
                gt.append(toks(a.text, s, s + len(q["text"])))
            pt = [toks(a.text, p.start, p.end) for p in preds]
            for mode, thr in (("ov0.3", 0.3), ("ov0.8", 0.8), ("quote+spk", 0.3)):
                pairs = sorted(((len(gt[i] & pt[j]) / len(gt[i]), i, j) for i in range(len(gt))
                                for j in range(len(pt)) if gt[i] & pt[j]), reverse=True)
                ug: set[int] = set()
                up: set[int] = set()
                for c, i, j in pairs:
                    if c < thr or i in ug or j in up:
                        continue
                    ok = (preds[j].speaker.name if preds[j].speaker else None) == golds[i]["speaker"]
                    if mode == "quote+spk" and not ok:
                        continue
                    ug.add(i)
                    up.add(j)
                    tp[mode] += 1
                    if mode == "ov0.3":
                        spk_ok += ok
                        if show and not ok:
                            print("speaker", golds[i]["text"], preds[j].speaker)
                if show and mode == "ov0.3":
                    for i in set(range(len(gt))) - ug:
                        print("missed", golds[i])
                    for j in set(range(len(pt))) - up:
                        print("extra", preds[j].text, preds[j].speaker)
        out: dict[str, Any] = {"n_gold": n_gold, "n_pred": n_pred}
        for mode, t in tp.items():
            p = t / n_pred if n_pred else 0.0
            r = t / n_gold if n_gold else 0.0
            out[mode] = {"p": round(p, 3), "r": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}
        out["speaker_acc"] = round(spk_ok / tp["ov0.3"], 3) if tp["ov0.3"] else None
        res[subset] = out
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--show", action="store_true", help="print misses, extras and wrong speakers")
    a = ap.parse_args()
    res = evaluate(a.show)
    for subset, r in res.items():
        print(f"{subset:7} gold {r['n_gold']:3} pred {r['n_pred']:3}  ov0.3 F1 {r['ov0.3']['f1']:.3f}  "
              f"ov0.8 F1 {r['ov0.8']['f1']:.3f}  speaker acc {r['speaker_acc']}  quote+spk F1 {r['quote+spk']['f1']:.3f}")
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
