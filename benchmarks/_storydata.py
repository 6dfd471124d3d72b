"""The story-level dev sets of ``../shared`` through the real stages, cached, for the story benchmarks.

    python ../shared/eval/to_jsonl.py          # once: writes $TMPDIR/storylens-eval/jsonl/*.jsonl

``load(name)`` reads ``<name>.jsonl`` through :func:`storylens.pipeline.analyze_items` (read, clean, detect,
dedupe within the set, analyze, cross-article dating, entities) and :func:`storylens.embed.article_vectors`, and
caches the records under ``$TMPDIR/storylens-eval/cache`` (never in the repository; delete the cache after
changing the clean or nlp stages).  ``gold(name)`` is the scorer's own gold: article id -> story.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))
EVAL = SHARED / "eval"
BENCH = SHARED / "benchdata"
HIDDEN = Path(os.environ.get("STORYLENS_HIDDEN", Path(tempfile.gettempdir()) / "storylens-eval"))
CACHE = HIDDEN / "cache"

# every story-level dev set: name -> JSONL (to_jsonl.py's output, or the copy in benchdata)
SETS = {
    "ecbplus-dev": HIDDEN / "jsonl" / "ecbplus-dev.jsonl",
    "neus-dev": HIDDEN / "jsonl" / "neus-dev.jsonl",
    "neus-stream-dev": BENCH / "neus" / "neus-stream-dev.jsonl",
    "gunviolence-dev": HIDDEN / "jsonl" / "gunviolence-dev.jsonl",
    "wmt-ruen-dev": HIDDEN / "jsonl" / "wmt-ruen-dev.jsonl",
    "semeval8-dev": HIDDEN / "jsonl" / "semeval8-dev.jsonl",
    "wmt-ruen-halves-dev": HIDDEN / "jsonl" / "wmt-ruen-halves-dev.jsonl",
}
DERIVED = {"wmt-ruen-halves-dev": "wmt-ruen-dev"}  # made from another set by derive()


def derive(name: str) -> None:
    """``wmt-ruen-halves-dev``: each WMT document's first half of sentences and its second half, in both languages,
    as four articles of one story.  A Russian half and the other English half report the same story without being
    translations of each other, which cross-lingual coverage of one event by different outlets looks like."""
    source = DERIVED[name]
    out = []
    for r in rows_of(source):
        lines = [x for x in (r.get("text") or "").split("\n") if x.strip()]
        if len(lines) < 4:
            continue
        cut = len(lines) // 2
        for part, text in (("a", lines[:cut]), ("b", lines[cut:])):
            out.append({"id": f"{r['id']}-{part}", "title": r.get("title") if part == "a" else None,
                        "text": "\n".join(text), "published": r.get("published"), "url": None})
    SETS[name].parent.mkdir(parents=True, exist_ok=True)
    SETS[name].write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in out), encoding="utf-8")


@dataclass(slots=True)
class DevSet:
    name: str
    rows: list[dict[str, Any]]  # the input rows, in file order
    articles: list[Any]  # analyzed Article records (duplicates within the set marked)
    vectors: dict[str, Any]  # article id -> ArticleVectors (originals and duplicates)


def module(name: str) -> Any:
    """A scorer module of ``../shared/eval`` (score_clusters, score_pairs, ...)."""
    path = EVAL / f"{name}.py"
    if not path.exists():
        raise SystemExit(f"{path} is absent: nothing to measure")
    if str(EVAL) not in sys.path:
        sys.path.insert(0, str(EVAL))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def rows_of(name: str) -> list[dict[str, Any]]:
    path = SETS[name]
    if not path.exists() and name in DERIVED:
        derive(name)
    if not path.exists():
        raise SystemExit(f"{path} is absent: run python {EVAL}/to_jsonl.py first")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _code_key() -> str:
    """A key of the code that shapes the cached records (clean, nlp, embed), so a change rebuilds the cache."""
    h = hashlib.sha1()
    src = ROOT / "src" / "storylens"
    for sub in ("clean", "nlp", "ingest"):
        for p in sorted((src / sub).rglob("*")):
            if p.is_file() and p.suffix in (".py", ".txt"):
                h.update(p.read_bytes())
    for p in (src / "embed.py", src / "encoder.py", src / "model.py"):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def load(name: str, *, quiet: bool = False) -> DevSet:
    from storylens.embed import ArticleVectors, Embedder, article_vectors
    from storylens.pipeline import analyze_items
    from storylens.settings import Settings

    rows = rows_of(name)
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"stories-{name}-{_code_key()}.pkl"
    if path.exists():
        with path.open("rb") as f:
            arts, blobs = pickle.load(f)
    else:
        if not quiet:
            print(f"[{name}] analyzing {len(rows)} articles (cached afterwards in {path})", file=sys.stderr, flush=True)
        errors: list[str] = []
        arts = list(analyze_items([dict(r) for r in rows], Settings(),
                                  on_error=lambda r: errors.append(f"{r.source}: {r.reason}")))
        if errors and not quiet:
            print(f"[{name}] {len(errors)} rejected, e.g. {errors[0]}", file=sys.stderr)
        vecs = article_vectors(arts, Embedder())
        blobs = {a.id: v.to_bytes() for a, v in zip(arts, vecs, strict=True)}
        with path.open("wb") as f:
            pickle.dump((arts, blobs), f)
    return DevSet(name, rows, arts, {k: ArticleVectors.from_bytes(b) for k, b in blobs.items()})


def gold(name: str) -> dict[str, str]:
    """Article id -> gold story (the scorer's own reading of the gold files)."""
    sc = module("score_clusters")
    if name in DERIVED:
        parent = gold(DERIVED[name])
        return {r["id"]: parent[r["id"].rsplit("-", 1)[0]] for r in rows_of(name)}
    base = "neus-dev" if name == "neus-stream-dev" else name
    g, _ = sc.load_gold(base)
    return {str(k): str(v) for k, v in g.items()}


def semeval_pairs() -> list[dict[str, Any]]:
    path = BENCH / "semeval8" / "pairs.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} is absent: nothing to measure")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


if __name__ == "__main__":
    for n in sys.argv[1:] or list(SETS):
        d = load(n)
        print(n, len(d.rows), "rows", len(d.articles), "articles", sum(1 for a in d.articles if a.duplicate_of),
              "duplicates", flush=True)
