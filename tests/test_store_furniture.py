"""The learned furniture model in the store: written line by line (a batch writes what it counted, not the whole
model), merged across writers, and moved out of the old one-JSON state by the migration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from storylens.clean import FurnitureModel
from storylens.corpus import Corpus
from storylens.store import Store
from storylens.store.db import MIGRATIONS
from storylens.store.furniture import apply_furniture_changes, load_furniture

TAGLINE = "Follow Harbor Wire on Telegram for live updates"
SIGN_OFF = "Harbor Wire thanks its readers in the harbour district."  # no cleaning rule knows it: only learning cuts it


def _lines(i: int) -> list[str]:
    return [f"Storm number {'abcdefghij'[i % 10]}{'klmnopqrst'[i // 10 % 10]} reaches the harbour", TAGLINE]


def _write(store: Store, fm: FurnitureModel) -> int:
    """Store what ``fm`` learned since its last write; the number of lines written."""
    changes = fm.changes()
    with store.session.begin() as s:
        apply_furniture_changes(s, changes)
    fm.commit(changes)
    return len(changes.furniture) + len(changes.seen) + len(changes.dropped)


def _stored(store: Store) -> tuple[set[str], dict[str, list[str]]]:
    fm = load_furniture(store)
    return set(fm._furniture), dict(fm._seen)


def test_a_batch_writes_the_lines_it_counted_and_the_store_holds_the_model(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    fm = FurnitureModel()
    written = []
    for batch in range(10):
        for i in range(batch * 10, batch * 10 + 10):
            fm.observe(_lines(i), outlet="Harbor Wire", key=f"a{i}")
        written.append(_write(store, fm))
        assert not fm.changes()  # nothing pending once written
        assert _stored(store) == (fm._furniture, fm._seen)
    # the first batch makes the tagline furniture; later batches write their own ten storm lines, whatever the history
    assert written[0] == 11 and written[1:] == [10] * 9
    assert load_furniture(store).is_furniture(TAGLINE, "Harbor Wire")


def test_two_writers_count_one_line_together(tmp_path: Path) -> None:
    """Two processes learning at once (serve and ingest): each saw the tagline in articles the other did not; the
    store holds the union, so the line is furniture once three articles carried it between them."""
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    a, b = FurnitureModel(), FurnitureModel()
    a.observe(_lines(1), outlet="Harbor Wire", key="a1")
    a.observe(_lines(2), outlet="Harbor Wire", key="a2")
    b.observe(_lines(3), outlet="Harbor Wire", key="b3")
    _write(store, a)
    _write(store, b)
    assert not a.is_furniture(TAGLINE, "Harbor Wire") and not b.is_furniture(TAGLINE, "Harbor Wire")
    assert load_furniture(store).is_furniture(TAGLINE, "Harbor Wire")


def test_forgotten_candidates_leave_the_store(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    fm = FurnitureModel(max_candidates=40)
    for i in range(100):
        fm.observe(_lines(i), outlet="Harbor Wire", key=f"a{i}")
        if i % 7 == 0:
            _write(store, fm)
    _write(store, fm)
    furniture, seen = _stored(store)
    assert seen == fm._seen and len(seen) <= 40 and furniture == {fm._k("Harbor Wire", TAGLINE)}


def test_the_migration_moves_the_old_json_state_into_lines(tmp_path: Path) -> None:
    fm = FurnitureModel()
    for i in range(5):
        fm.observe(_lines(i), outlet="Harbor Wire", key=f"a{i}")
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:  # a store as the previous release left it
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003_story_stream")
        conn.execute(text("INSERT INTO state (key, version, data) VALUES ('furniture', 1, :d)"),
                     {"d": fm.to_json().encode("utf-8")})
    engine.dispose()
    store = Store(url)  # opening it upgrades it
    assert _stored(store) == (fm._furniture, fm._seen)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM state WHERE key = 'furniture'")).scalar() == 0


def test_ingest_learns_furniture_across_runs(tmp_path: Path) -> None:
    """Three runs of one outlet's articles, each ending its process's model: the tagline is furniture by the third
    and is cut from it; the store holds it as a line, not as a JSON state."""
    runs = []
    for i in range(3):
        place, ship = ["north quay", "ferry terminal", "grain pier"][i], ["tankers", "trawlers", "barges"][i]
        body = (f"Harbour cranes at the {place} stopped as the storm went on, officials said.\n\n"
                f"The port authority said {ship} waited outside the breakwater.\n\n{SIGN_OFF}\n")
        runs.append({"id": f"hw-{i}", "title": f"Storm day {i}", "text": body, "outlet": "Harbor Wire",
                     "published": f"2024-03-0{i + 1}"})
    db = tmp_path / "c.db"
    for i, item in enumerate(runs):
        with Corpus(f"sqlite:///{db}") as c:
            report = c.ingest([item])
            assert not report.rejected, report.rejected
            stored = c.article(f"hw-{i}")
            assert stored is not None
            assert (SIGN_OFF in stored.text) == (i < 2), (i, stored.text)
    store = Store(f"sqlite:///{db}")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM furniture_lines WHERE furniture")).scalar() >= 1
        assert conn.execute(text("SELECT count(*) FROM state WHERE key = 'furniture'")).scalar() == 0
    assert load_furniture(store).is_furniture(SIGN_OFF, "Harbor Wire")
