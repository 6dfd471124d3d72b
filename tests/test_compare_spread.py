"""The spread contract: `storylens spread INPUT... --format json`, `Corpus.spread` and `GET /api/stories/{id}/spread`
give the same objects; translated quotes (English <-> Russian) keep working.  Input: tests/fixtures/crosslingual/
quotes.jsonl (written for these tests: one event in English and Russian, three outlets), through the whole pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from storylens.corpus import Corpus
from storylens.pipeline import analyze_items
from storylens.settings import Settings

FIXTURE = Path(__file__).parent / "fixtures" / "crosslingual" / "quotes.jsonl"
GROUP_KEYS = {"id", "story", "speaker", "statement", "first", "variants"}
VARIANT_KEYS = {"article", "outlet", "published", "text", "start", "end", "speaker", "changes"}
STORY_KEYS = {"id", "title", "articles", "first_seen", "last_seen", "summary"}


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, int]:
    missing = tmp_path_factory.mktemp("spread") / "no-such-article.txt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    r = subprocess.run([sys.executable, "-m", "storylens.cli", "spread", str(FIXTURE), str(missing), "--format",
                        "json"], capture_output=True, text=True, env=env, timeout=600)
    return json.loads(r.stdout), r.stderr, r.returncode


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    c = Corpus(f"sqlite:///{tmp_path_factory.mktemp('spread') / 's.db'}")
    report = c.ingest([str(FIXTURE)])
    assert not report.rejected
    yield c
    c.close()


def _texts() -> dict[str, str]:
    """The `analyze` text of each article: the offsets of the contract index it."""
    return {a.id: a.text for a in analyze_items([str(FIXTURE)], Settings())}


def test_cli_contract_shape_offsets_and_bad_input(cli_output: tuple[dict[str, Any], str, int]) -> None:
    obj, stderr, _ = cli_output
    assert "no-such-article.txt" in stderr  # the bad item is named, the batch went on
    assert set(obj) == {"stories", "quote_groups"}
    (story,) = obj["stories"]
    assert set(story) >= STORY_KEYS and len(story["articles"]) == 3
    assert story["summary"] and all(s["articles"] and set(s["articles"]) <= set(story["articles"])
                                    for s in story["summary"])
    texts = _texts()
    assert len(obj["quote_groups"]) == 2
    for g in obj["quote_groups"]:
        assert set(g) >= GROUP_KEYS and g["story"] == story["id"]
        assert set(g["first"]) == {"article", "outlet", "published"}
        assert g["first"]["article"] == "ferry-en-1" and g["speaker"] == "Ilse Norden"
        assert len({v["article"] for v in g["variants"]}) >= 2
        for v in g["variants"]:
            assert set(v) >= VARIANT_KEYS
            assert texts[v["article"]][v["start"]:v["end"]] == v["text"]
            for c in v["changes"]:
                assert {"kind", "from", "to"} <= set(c)
        first = [v for v in g["variants"] if v["first"]]
        assert len(first) == 1 and first[0]["text"] == g["statement"] and first[0]["changes"] == []


def test_translated_and_cut_against_the_first_report(cli_output: tuple[dict[str, Any], str, int]) -> None:
    obj, _, _ = cli_output
    g = next(g for g in obj["quote_groups"] if g["statement"].startswith("The ferry is safe again"))
    by = {v["article"]: v for v in g["variants"]}
    assert [c["kind"] for c in by["ferry-ru-1"]["changes"]] == ["translated"]
    assert by["ferry-ru-1"]["text"].startswith("Паром снова безопасен")
    cut = by["ferry-en-2"]["changes"]
    assert [c["kind"] for c in cut] == ["cut"]
    assert cut[0]["from"] == "We have replaced both engines and trained new crews" and cut[0]["to"] == ""
    tickets = next(g for g in obj["quote_groups"] if g["statement"].startswith("Tickets"))
    kinds = {v["article"]: [c["kind"] for c in v["changes"]] for v in tickets["variants"]}
    assert kinds == {"ferry-en-1": [], "ferry-ru-1": ["translated"], "ferry-en-2": []}


def test_corpus_and_rest_give_the_same_objects(corpus: Corpus, cli_output: tuple[dict[str, Any], str, int]) -> None:
    from storylens.api.app import create_app

    (story,) = corpus.stories()
    mine = corpus.spread([story.id])
    comparison = corpus.compare(story.id)
    assert comparison is not None
    assert [g["id"] for g in mine["quote_groups"]] == [g.id for g in comparison.quote_groups
                                                       if len({v.article_id for v in g.variants}) > 1]
    with TestClient(create_app(Settings(db_url=corpus.settings.db_url), corpus=corpus)) as client:
        r = client.get(f"/api/stories/{story.id}/spread")
        assert r.status_code == 200 and r.json() == json.loads(json.dumps(mine))
        assert client.get("/api/stories/nope/spread").status_code == 404
    # the one-shot CLI run found the same statements with the same changes
    cli, _, _ = cli_output

    def shape(o: dict[str, Any]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
        return sorted((g["statement"], sorted((v["article"], [c["kind"] for c in v["changes"]])
                                              for v in g["variants"])) for g in o["quote_groups"])

    assert shape(mine) == shape(cli)
