"""``storylens load``: Parquet tables in the Spark runner's layout into a store, on SQLite and PostgreSQL.

The tables are written here with pyarrow from hand-made records (the row builders of the Spark runner), so this
runs without Spark or models; tests/test_spark_runner.py loads a real Spark run.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from storylens.model import Story, to_jsonable
from storylens.spark.runner import article_row, mention_rows, quote_rows
from storylens.store import Store, search
from test_store_backends import ENTITIES, make_article


def write(out: Path, name: str, rows: list[dict]) -> None:
    (out / name).mkdir(parents=True, exist_ok=True)
    if rows:
        pq.write_table(pa.Table.from_pylist(rows), out / name / "part-00000.parquet")


@pytest.fixture()
def tables(tmp_path: Path) -> Path:
    out = tmp_path / "tables"
    arts = [make_article(i, day=14 + i % 2) for i in range(3)]
    arts[2].duplicate_of, arts[2].duplicate_kind = "art-1", "near"
    arts[0].text = arts[0].text.replace("Article", "\x00Article")  # a NUL PostgreSQL cannot store
    write(out, "articles", [article_row((0, 0, i), a, "s1", b"\x01" * 8, None if a.duplicate_of else b"\x02" * 16)
                            for i, a in enumerate(arts)])
    write(out, "quotes", [r for a in arts for r in quote_rows(a)])
    write(out, "entities", [r for a in arts for r in mention_rows(a)])
    write(out, "canonical_entities", [to_jsonable(e) for e in ENTITIES])
    write(out, "stories", [{"id": "s1", "title": "NATO on dialogue", "articles": ["art-0", "art-1", "art-2"],
                            "first_seen": "2021-06-14", "last_seen": "2021-06-15", "keywords": ["nato"],
                            "outlets": ["TASS"]}])
    write(out, "quote_groups", [{"id": "s1:g1", "story_id": "s1", "canonical": "Dialogue with Russia",
                                 "speaker": "Jens Stoltenberg", "first_outlet": "TASS", "first_article": "art-0",
                                 "first_published": "2021-06-14", "n_variants": 2, "articles": ["art-0", "art-1"],
                                 "data": json.dumps({"id": "s1:g1", "variants": []})}])
    write(out, "errors", [{"source": "in.jsonl#9", "stage": "read", "reason": "malformed JSON on line 9"}])
    return out


def test_load_puts_every_table_in_the_store(tables: Path, db_url: str) -> None:
    from storylens.spark.load import load

    store = Store(db_url)
    report = load(tables, store, batch_size=2)
    assert report.counts["articles"] == 3 and report.counts["duplicates"] == 1
    assert [a.id for a in store.articles()] == ["art-0", "art-1", "art-2"]
    a0 = store.article("art-0")
    assert a0 is not None and a0.quotes[0].text.startswith("«")
    if store.dialect == "postgresql":
        assert "\ufffd" in a0.text and "\x00" not in a0.text
    assert len(a0.text) == len(make_article(0).text) + 1  # offsets unchanged
    st = store.story("s1")
    assert st is not None and sorted(st.articles) == ["art-0", "art-1", "art-2"]
    assert store.story_of(["art-2"]) == {"art-2": "s1"}
    assert set(store.embeddings()) == {"art-0", "art-1"}
    assert {e.id for e in store.entities()} == {"e-stoltenberg", "e-russia"}
    assert store.quote_group("s1:g1") == {"id": "s1:g1", "variants": []}
    assert [e["source"] for e in store.errors()] == ["in.jsonl#9"]
    assert len(store.quotes(speaker="stoltenberg")) == 3
    # loading again replaces, never duplicates
    load(tables, store)
    assert store.count_articles() == 3 and len(store.quotes()) == 3
    assert {h.id for h in search.search(store, "dialogue").articles} == {"art-0", "art-1", "art-2"}
    store.close()


def test_load_cli_and_a_missing_directory(tables: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from storylens.cli import app

    db = tmp_path / "cli.db"
    r = CliRunner().invoke(app, ["load", str(tables), "--db", str(db), "--no-narratives"])
    assert r.exit_code == 0, r.output
    assert Store(f"sqlite:///{db}").count_articles() == 3
    r = CliRunner().invoke(app, ["load", str(tmp_path / "nope"), "--db", str(db)])
    assert r.exit_code == 2 and "articles" in r.output


def test_story_dates_survive(tables: Path, db_url: str) -> None:
    from storylens.spark.load import load

    store = Store(db_url)
    load(tables, store)
    st = store.stories()[0]
    assert isinstance(st, Story) and st.first_seen == dt.date(2021, 6, 14) and st.last_seen == dt.date(2021, 6, 15)
    store.close()


def test_load_from_a_uri(tables: Path, tmp_path: Path) -> None:
    """The tables can be read where Spark wrote them, through pyarrow's file systems: a file:// URI here (s3://,
    gs://, hdfs:// take the same path); a scheme pyarrow cannot open is a clear error, not a traceback."""
    from typer.testing import CliRunner

    from storylens.cli import app
    from storylens.spark.load import load

    store = Store(f"sqlite:///{tmp_path / 'uri.db'}")
    report = load(tables.as_uri(), store)
    assert report.counts["articles"] == 3 and store.count_articles() == 3
    store.close()
    r = CliRunner().invoke(app, ["load", "nosuchfs://bucket/out", "--db", str(tmp_path / "x.db")])
    assert r.exit_code == 2 and "nosuchfs://bucket/out" in r.output
