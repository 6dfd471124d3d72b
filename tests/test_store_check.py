"""``storylens check``: a consistent store passes, and each broken invariant is named with the item breaking it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from conftest import NewsStore
from storylens.store import Store


@pytest.fixture()
def store_copy(news_store: NewsStore, tmp_path: Path) -> Store:
    return Store(news_store.copy(tmp_path / "copy.db"))


def test_the_ingested_and_compared_store_is_consistent(news_store: NewsStore) -> None:
    store = Store(news_store.url)
    with store.engine.connect() as conn:  # the check has something to look at
        assert conn.execute(text("SELECT count(*) FROM quote_groups")).scalar()
        assert conn.execute(text("SELECT count(*) FROM narratives")).scalar()
        assert conn.execute(text("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")).scalar()
    assert store.check() == []


def _break(store: Store, sql: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(sql))


def test_each_broken_invariant_is_named_with_its_item(store_copy: Store) -> None:
    with store_copy.engine.connect() as conn:
        orphan = conn.execute(text("SELECT id FROM articles WHERE duplicate_of IS NULL ORDER BY seq LIMIT 1")).scalar()
        copy = conn.execute(text("SELECT id FROM articles WHERE duplicate_of IS NOT NULL LIMIT 1")).scalar()
        chained = conn.execute(text("SELECT id FROM articles WHERE duplicate_of IS NULL ORDER BY seq LIMIT 1 OFFSET 1"
                                    )).scalar()
        gid, data = conn.execute(text("SELECT id, data FROM quote_groups ORDER BY id LIMIT 1")).one()
        nid = conn.execute(text("SELECT id FROM narratives ORDER BY id LIMIT 1")).scalar()
    quote_id = json.loads(data)["variants"][0]["quote_id"].split("@")[0]
    _break(store_copy, f"UPDATE articles SET story_id = NULL WHERE id = '{orphan}'")
    _break(store_copy, f"UPDATE articles SET story_id = 'nowhere' WHERE id = '{copy}'")
    _break(store_copy, f"DELETE FROM quotes WHERE id = '{quote_id}'")
    _break(store_copy, f"UPDATE articles SET duplicate_of = '{copy}' WHERE id = '{chained}'")
    _break(store_copy, "INSERT INTO stories (id, title, keywords, outlets, n_articles, updated_at) "
                       "VALUES ('empty', 'no articles', '[]', '[]', 0, '2026-01-01 00:00:00')")
    _break(store_copy, f"UPDATE narratives SET stories = '[\"gone\"]' WHERE id = '{nid}'")
    found = {(v.invariant, v.item) for v in store_copy.check()}
    assert ("an original article belongs to no story", orphan) in found
    assert ("an article belongs to a story that is not stored", copy) in found
    assert ("a copy is not in its original's story", copy) in found
    assert ("a story has no original article", "empty") in found
    assert ("a copy points at another copy, not at an original", chained) in found
    assert ("a quote group names a quote that is not stored", gid) in found
    assert ("a narrative lists a story that is not stored", f"{nid} → gone") in found


def test_the_check_command_exits_1_and_lists_what_is_broken(store_copy: Store) -> None:
    cmd = [sys.executable, "-m", "storylens", "check", "--db", store_copy.url, "--format", "json"]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == []
    _break(store_copy, "DELETE FROM stories WHERE id = (SELECT min(story_id) FROM articles)")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stderr
    problems = [p["problem"] for p in json.loads(bad.stdout)]
    kinds = {p.split(":")[0] for p in problems}
    assert "an article belongs to a story that is not stored" in kinds
    assert "a comparison belongs to a story that is not stored" in kinds


def test_a_narrative_and_its_stories_agree(store_copy: Store) -> None:
    with store_copy.engine.connect() as conn:
        nid, members = conn.execute(text("SELECT id, stories FROM narratives ORDER BY id LIMIT 1")).one()
        other = conn.execute(text("SELECT id FROM stories WHERE narrative_id IS NULL ORDER BY id LIMIT 1")).scalar()
    first = json.loads(members)[0]
    _break(store_copy, f"UPDATE stories SET narrative_id = NULL WHERE id = '{first}'")
    _break(store_copy, f"UPDATE stories SET narrative_id = '{nid}' WHERE id = '{other}'")
    found = {(v.invariant, v.item) for v in store_copy.check()}
    assert ("a narrative lists a story that names another narrative or none", f"{nid} → {first} (none)") in found
    assert ("a story names a narrative that does not list it", f"{other} → {nid}") in found


def test_the_check_runs_on_both_back_ends(db_url: str, examples_dir: Path) -> None:
    """The invariants are plain SQL that SQLite and PostgreSQL both run: a store built by ingest passes on each, and
    an article moved out of every story is named on each."""
    from storylens.corpus import Corpus

    with Corpus(db_url) as c:
        assert not c.ingest([str(p) for p in sorted(examples_dir.glob("a0*"))]).rejected
        assert c.check() == []
        victim = next(a.id for a in c.articles() if a.duplicate_of is None)
        _break(c.store, f"UPDATE articles SET story_id = NULL WHERE id = '{victim}'")
        assert f"an original article belongs to no story: {victim}" in c.check()
