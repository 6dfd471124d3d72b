"""Russian attribution on the hand-written set tests/fixtures/ru_attributions.json, scored like
``score_quotes.py --gold adaq-ru`` (token level), per split: ``tune`` (looked at while writing rules) and ``test``
(written apart, only scored).

    python benchmarks/quotes_russian.py [--split tune|test|all] [--show]

Token scores (ADAQ's definition, as in ../shared/eval/score_quotes.py): every word token (``\\w+``) of an item has a
gold role (source, cue, content or none); a token gets a predicted role when it overlaps a predicted quote's span
(content), its speaker mention (source) or its cue (cue), cue over source over content; P/R/F1 per role.  Also:
sentence detection (an item with a gold attribution has a prediction), attribution F1 (a prediction covering
>= 0.3 / >= 0.8 of a gold content's tokens, one to one), speaker accuracy over matched attributions (canonical
nominative name) and kind accuracy.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from storylens.model import Article
from storylens.nlp import analyze
from storylens.settings import NlpSettings

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ru_attributions.json"
ROLES = ("source", "cue", "content")
PRIORITY = {"content": 1, "source": 2, "cue": 3}


def load(split: str) -> list[dict[str, Any]]:
    items = json.loads(FIXTURE.read_text(encoding="utf-8"))["items"]
    return [x for x in items if split == "all" or x["split"] == split]


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"p": round(p, 3), "r": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0}


def _tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\w+", text)]


def _label(toks: list[tuple[int, int]], spans: list[tuple[str, int, int]]) -> list[str | None]:
    out: list[str | None] = [None] * len(toks)
    for role, s, e in spans:
        for i, (ts, te) in enumerate(toks):
            if ts < e and s < te and PRIORITY[role] > PRIORITY.get(out[i] or "", 0):
                out[i] = role
    return out


def evaluate(items: list[dict[str, Any]], show: bool = False) -> dict[str, Any]:
    arts = [Article(id=x["id"], source=x["id"], text=x["text"], language="ru") for x in items]
    analyze(arts, NlpSettings())
    tp = dict.fromkeys(ROLES, 0)
    n_pred = dict.fromkeys(ROLES, 0)
    n_gold = dict.fromkeys(ROLES, 0)
    sent = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    att: dict[str, int] = {"gold": 0, "pred": 0, "ov0.3": 0, "ov0.8": 0, "speaker": 0, "kind": 0}
    for x, a in zip(items, arts, strict=True):
        toks = _tokens(x["text"])
        gold_spans = []
        for g in x["attributions"]:
            gold_spans += [("content", s, e) for s, e in g["content"]]
            gold_spans += [("source", *g["source"]), ("cue", *g["cue"])]
        pred_spans: list[tuple[str, int, int]] = []
        for q in a.quotes:
            pred_spans.append(("content", q.start, q.end))
            if q.speaker is not None:
                pred_spans.append(("source", q.speaker.start, q.speaker.end))
            if q.cue is not None:
                pred_spans.append(("cue", q.cue.start, q.cue.end))
        gl, pl = _label(toks, gold_spans), _label(toks, pred_spans)
        for g_role, p_role in zip(gl, pl, strict=True):
            if g_role:
                n_gold[g_role] += 1
            if p_role:
                n_pred[p_role] += 1
            if g_role and g_role == p_role:
                tp[g_role] += 1
        has_gold, has_pred = bool(x["attributions"]), bool(a.quotes)
        sent[("t" if has_gold == has_pred else "f") + ("p" if has_pred else "n")] += 1
        # attributions, one to one by coverage of the gold content's tokens
        att["gold"] += len(x["attributions"])
        att["pred"] += len(a.quotes)
        pairs = []
        for gi, g in enumerate(x["attributions"]):
            gt = {i for i, (ts, te) in enumerate(toks) if any(s <= ts and te <= e for s, e in g["content"])}
            for pi, q in enumerate(a.quotes):
                pt = {i for i, (ts, te) in enumerate(toks) if q.start <= ts and te <= q.end}
                if gt and gt & pt:
                    pairs.append((len(gt & pt) / len(gt), gi, pi))
        used_g: set[int] = set()
        used_p: set[int] = set()
        for c, gi, pi in sorted(pairs, reverse=True):
            if gi in used_g or pi in used_p or c < 0.3:
                continue
            used_g.add(gi)
            used_p.add(pi)
            g, q = x["attributions"][gi], a.quotes[pi]
            att["ov0.3"] += 1
            att["ov0.8"] += c >= 0.8
            ok = q.speaker is not None and q.speaker.name == g["speaker"]
            att["speaker"] += ok
            att["kind"] += q.kind == g["kind"]
            if show and (not ok or q.kind != g["kind"]):
                print(f"{x['id']}: speaker {q.speaker and q.speaker.name!r} (gold {g['speaker']!r}), kind {q.kind} "
                      f"(gold {g['kind']}): {q.text[:60]!r}")
        if show:
            for gi in set(range(len(x["attributions"]))) - used_g:
                s, e = x["attributions"][gi]["content"][0]
                print(f"{x['id']}: missed {x['text'][s:e]!r}")
            for pi in set(range(len(a.quotes))) - used_p:
                print(f"{x['id']}: extra {a.quotes[pi].kind} {a.quotes[pi].text!r}")
    c = sent
    out: dict[str, Any] = {"items": len(items), "tokens": {r: prf(tp[r], n_pred[r], n_gold[r]) for r in ROLES}}
    out["sentence_detection"] = prf(c["tp"], c["tp"] + c["fp"], c["tp"] + c["fn"])
    out["attributions"] = {"n_gold": att["gold"], "n_pred": att["pred"],
                           "ov0.3": prf(att["ov0.3"], att["pred"], att["gold"]),
                           "ov0.8": prf(att["ov0.8"], att["pred"], att["gold"]),
                           "speaker_acc": round(att["speaker"] / att["ov0.3"], 3) if att["ov0.3"] else None,
                           "kind_acc": round(att["kind"] / att["ov0.3"], 3) if att["ov0.3"] else None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", choices=["tune", "test", "all"], default=None, help="default: all three")
    ap.add_argument("--show", action="store_true", help="print misses, extras and wrong speakers or kinds")
    a = ap.parse_args()
    res = {}
    for split in [a.split] if a.split else ["tune", "test", "all"]:
        r = evaluate(load(split), a.show)
        res[split] = r
        t, at = r["tokens"], r["attributions"]
        print(f"{split:5} items {r['items']:3}  content F1 {t['content']['f1']:.3f}  source F1 {t['source']['f1']:.3f}  "
              f"cue F1 {t['cue']['f1']:.3f}  | attributions ov0.3 F1 {at['ov0.3']['f1']:.3f}  ov0.8 F1 "
              f"{at['ov0.8']['f1']:.3f}  speaker acc {at['speaker_acc']}  kind acc {at['kind_acc']}")
    print(json.dumps(res, ensure_ascii=False))


if __name__ == "__main__":
    main()
