"""The store on both back ends: every test runs on SQLite and on a real PostgreSQL 15 (``db_url`` in conftest).

No models are loaded: the records are built by hand, so these tests are fast and test only persistence.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text

from storylens.model import (
    Article,
    Entity,
    EntityMention,
    PublishedDate,
    Quote,
    Span,
    SpeakerRef,
    Story,
    StoryMerge,
)
from storylens.store import Store, search


def make_article(i: int, *, outlet: str = "TASS", day: int = 14, story_text: str = "") -> Article:
    body = (f"MOSCOW, June {day} /TASS/. «Dialogue with Russia is not a sign of weakness», "
            f"Jens\u00a0Stoltenberg said on Monday. {story_text} Article number {i}.")
    q0 = body.index("«")
    q1 = body.index("»") + 1
    sp = body.index("Jens")
    return Article(
        id=f"art-{i}", source=f"/data/in.jsonl#{i}", text=body, title=f"NATO chief on dialogue #{i}",
        url=f"https://example.org/{i}", outlet=outlet,
        published=PublishedDate(dt.date(2021, 6, day), "metadata"), language="en", content_hash=f"h{i}",
        sentences=[Span(0, len(body), body)],
        entities=[EntityMention("Jens\u00a0Stoltenberg", sp, sp + 16, "PERSON", "e-stoltenberg", "Jens Stoltenberg"),
                  EntityMention("Russia", body.index("Russia"), body.index("Russia") + 6, "GPE", "e-russia", "Russia")],
        quotes=[Quote(body[q0:q1], q0, q1, "direct",
                      SpeakerRef("Jens Stoltenberg", "Jens\u00a0Stoltenberg", sp, sp + 16, "e-stoltenberg"),
                      Span(sp + 17, sp + 21, "said"), id=f"art-{i}:q0")],
    )


ENTITIES = [Entity("e-stoltenberg", "Jens Stoltenberg", "PERSON", ["Stoltenberg", "the NATO chief"], ["apposition"]),
            Entity("e-russia", "Russia", "GPE")]


@pytest.fixture()
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s  # type: ignore[misc]
    s.close()


def test_migrations_reach_head_and_reopen_is_a_noop(db_url: str) -> None:
    s1 = Store(db_url)
    tables = set(inspect(s1.engine).get_table_names())
    assert {"articles", "quotes", "entities", "entity_mentions", "stories", "quote_groups", "state",
            "embeddings", "narratives", "item_errors", "alembic_version"} <= tables
    with s1.engine.connect() as c:
        head = c.execute(text("select version_num from alembic_version")).scalar_one()
    s1.close()
    s2 = Store(db_url)  # upgrading an up-to-date database changes nothing
    with s2.engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar_one() == head
    assert s2.dialect in ("sqlite", "postgresql")
    s2.close()


def test_postgresql_url_uses_psycopg(store: Store) -> None:
    if store.dialect == "postgresql":
        assert store.engine.driver == "psycopg"


def test_article_round_trip_keeps_unicode_offsets_and_dates(store: Store) -> None:
    a = make_article(1)
    store.save_article(a, run_id=None, minhash=b"\x00\x01mh", embedding=("use", b"\x00" * 16), entities=ENTITIES,
                       story_id="s1")
    got = store.article("art-1")
    assert got is not None
    assert got == a
    q = got.quotes[0]
    assert got.text[q.start:q.end] == q.text and q.text.startswith("«")
    assert got.published.value == dt.date(2021, 6, 14)
    assert store.embeddings(["art-1"]) == {"art-1": b"\x00" * 16}
    assert list(store.signatures()) == [("art-1", "h1", b"\x00\x01mh")]
    assert store.content_hash("art-1") == "h1" and store.content_hash("nope") is None
    assert store.story_of(["art-1"]) == {"art-1": "s1"}


def test_resave_replaces_derived_rows_and_keeps_order(store: Store) -> None:
    for i in range(3):
        store.save_article(make_article(i), run_id=None)
    changed = make_article(0, story_text="Updated.")
    changed.quotes = []
    store.save_article(changed, run_id=None)
    assert [a.id for a in store.articles()] == ["art-0", "art-1", "art-2"]
    assert store.quotes(article_id="art-0") == []
    assert len(store.quotes(speaker="stoltenberg")) == 2
    assert store.count_articles() == 3


def test_queries_are_case_insensitive_on_both_back_ends(store: Store) -> None:
    store.save_article(make_article(1, outlet="TASS"), run_id=None, entities=ENTITIES)
    store.save_article(make_article(2, outlet="Sputnik", day=15), run_id=None, entities=ENTITIES)
    assert [a.id for a in store.articles(outlet="tass")] == ["art-1"]
    assert [a.id for a in store.articles(since=dt.date(2021, 6, 15))] == ["art-2"]
    assert {q.article_id for q in store.quotes(speaker="JENS")} == {"art-1", "art-2"}
    assert [q.article_id for q in store.quotes(q="DIALOGUE", outlet="sputnik")] == ["art-2"]
    assert [e.id for e in store.entities(label="person")] == ["e-stoltenberg"]
    assert [e.id for e in store.entities(name="the nato chief")] == ["e-stoltenberg"]
    assert store.entity_article_counts() == {"e-stoltenberg": 2, "e-russia": 2}


def test_stories_merges_and_narratives(store: Store) -> None:
    for i in range(4):
        store.save_article(make_article(i, day=14 + i), run_id=None)
    s1 = Story("s1", "NATO and Russia", ["art-0", "art-1"], dt.date(2021, 6, 14), dt.date(2021, 6, 15), ["nato"],
               ["TASS"])
    s2 = Story("s2", "Summit", ["art-2", "art-3"], dt.date(2021, 6, 16), dt.date(2021, 6, 17))
    store.replace_stories([s1, s2], [StoryMerge("s1", "s9", "art-1", 0.7)])
    assert {s.id: s.articles for s in store.stories()} == {"s1": ["art-0", "art-1"], "s2": ["art-2", "art-3"]}
    assert store.stories(q="summit")[0].id == "s2"
    assert [m.merged for m in store.merges()] == ["s9"]
    import numpy as np

    from storylens.store.narratives import StoreNarratives
    from storylens.stories.narratives import NarrativeChanges, NarrativeState, StorySummary

    sums = [StorySummary(sid, np.eye(512, dtype=np.float32)[k], {"p:jens stoltenberg": 2.0, "l:russia": 1.0},
                         {"dialogue": 1.5}) for k, sid in enumerate(("s1", "s2"))]
    n1 = NarrativeState("n1", [], StorySummary("n1", np.zeros(512, dtype=np.float32), {}, {}))
    for x in sums:
        n1.add(x)
    backend = StoreNarratives(store)
    backend.apply(NarrativeChanges(summaries=sums, narratives=[n1]))
    assert store.narratives()[0].stories == ["s1", "s2"] and "Stoltenberg" in store.narratives()[0].title
    assert backend.narratives_of(["s1", "s2"]) == {"s1": "n1", "s2": "n1"}
    assert [x.id for x in backend.candidates(["p:jens stoltenberg"], 10)] == ["s1", "s2"]
    (again,) = backend.narrative_states(["n1"])
    assert again.stories == ["s1", "s2"] and again.total.names["p:jens stoltenberg"] == 4.0
    assert store.story_updated_at("s1") is not None


def test_state_is_versioned_bytes(store: Store) -> None:
    assert store.get_state("k") is None
    store.put_state("k", b"\x00\xffone")
    store.put_state("k", b"two")
    assert store.get_state("k") == b"two"


def test_runs_and_errors(store: Store) -> None:
    run = store.start_run(["a.jsonl"])
    store.record_error(run, "a.jsonl#2", "read", "invalid JSON: Expecting property name")
    store.finish_run(run, {"new": 1, "rejected": 1})
    assert store.errors(run) == [{"source": "a.jsonl#2", "stage": "read", "reason":
                                  "invalid JSON: Expecting property name", "run_id": run}]
    assert store.runs()[0].status == "done" and store.runs()[0].n_rejected == 1


def test_comparison_cache_and_quote_groups(store: Store) -> None:
    store.save_article(make_article(1), run_id=None)
    store.replace_stories([Story("s1", "t", ["art-1"], dt.date(2021, 6, 14), dt.date(2021, 6, 14))])
    store.save_comparison("s1", {"story_id": "s1"}, [{"id": "g1", "canonical": "Dialogue…", "speaker": "J"}])
    assert store.cached_comparison("s1") == {"story_id": "s1"}
    assert store.quote_group("g1") == {"id": "g1", "canonical": "Dialogue…", "speaker": "J"}
    as_of = store.story_updated_at("s1")
    groups = [{"id": f"s1:g{i}", "canonical": "c", "speaker": None,
               "variants": [{"quote_id": f"art-1:q{i}", "text": "“a”"}, {"quote_id": f"art-1:q{i + 5}@0-3"}]}
              for i in (2, 1)]
    store.save_comparison("s1", {"story_id": "s1", "version": 7}, groups, as_of=as_of)
    # the ids the database reads out of the stored groups, in group order; the version read by the database too
    assert store.quote_group_members(["s1", "nope"]) == [("s1:g1", "art-1:q1"), ("s1:g1", "art-1:q6@0-3"),
                                                         ("s1:g2", "art-1:q2"), ("s1:g2", "art-1:q7@0-3")]
    assert store.quote_group_members([]) == []
    stored = store.stored_comparison_text("s1")
    assert stored is not None and stored[1:] == (True, 7) and store.stale_comparisons() == []


def test_full_text_search_uses_the_back_ends_own_index(store: Store) -> None:
    store.save_article(make_article(1), run_id=None)
    store.save_article(make_article(2, outlet="RBC", story_text="Переговоры о стратегической стабильности."),
                       run_id=None)
    assert search.has_index(store), f"no full-text index on {store.dialect}"
    hits = search.search(store, "dialogue weakness")
    assert {h.id for h in hits.articles} == {"art-1", "art-2"}
    assert {h.article_id for h in hits.quotes} == {"art-1", "art-2"}
    assert [h.id for h in search.search(store, "стратегической").articles] == ["art-2"]
    assert search.search(store, "stolten*").articles  # prefix
    assert search.search(store, "'); drop table articles; --").articles == []
    assert store.count_articles() == 2


def test_pg_safe_keeps_offsets() -> None:
    from storylens.store.postgres import pg_safe

    s = "a\x00b «q»"
    assert len(pg_safe(s)) == len(s) and "\x00" not in pg_safe(s)
    assert pg_safe({"t": [s], "n": 1, "b": b"\x00"}) == {"t": ["a\ufffdb «q»"], "n": 1, "b": b"\x00"}


def test_a_batch_stores_each_article_all_or_nothing(store: Store) -> None:
    """One transaction per batch, a savepoint per article: an article whose writes fail (two quotes with one id)
    is rolled back alone, the others and the batch's state are stored; the stream state waits for a whole batch."""
    from dataclasses import replace

    from storylens.store import ArticleWrite

    good1, good2 = make_article(1), make_article(3, day=15)
    bad = make_article(2)
    bad = replace(bad, quotes=bad.quotes * 2)  # the same quote id twice
    errors = store.save_batch(
        [ArticleWrite(good1, embedding=("use", b"\x01" * 8), story_id="s1"), ArticleWrite(bad, story_id="s1"),
         ArticleWrite(good2, story_id="s1")],
        run_id=None, entities=ENTITIES, stories=[Story("s1", "NATO chief on dialogue", ["art-1", "art-2", "art-3"])],
        state={"furniture": b"f"}, complete_state={"story_stream:arrivals": b"3"})
    assert errors[0] is None and errors[2] is None and errors[1] is not None and "IntegrityError" in errors[1]
    assert [a.id for a in store.articles()] == ["art-1", "art-3"]
    assert {q.article_id for q in store.quotes()} == {"art-1", "art-3"}
    assert store.embeddings() == {"art-1": b"\x01" * 8}
    assert {e.id for e in store.entities()} == {"e-stoltenberg", "e-russia"}
    assert store.entity_articles("e-stoltenberg") == ["art-1", "art-3"] or \
        sorted(store.entity_articles("e-stoltenberg")) == ["art-1", "art-3"]
    assert store.get_state("furniture") == b"f" and store.get_state("story_stream:arrivals") is None
    assert store.story_of(["art-1", "art-3"]) == {"art-1": "s1", "art-3": "s1"}
    # the whole batch again, the bad article repaired: it is stored, the others replaced in place, nothing doubled
    errors = store.save_batch([ArticleWrite(good1), ArticleWrite(make_article(2)), ArticleWrite(good2)], run_id=None,
                              complete_state={"story_stream:arrivals": b"3"})
    assert errors == [None, None, None]
    assert [a.id for a in store.articles()] == ["art-1", "art-3", "art-2"]
    assert len(store.quotes()) == 3 and store.get_state("story_stream:arrivals") == b"3"
