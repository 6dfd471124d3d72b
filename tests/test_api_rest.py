"""The REST API over the real pipeline's store (the example corpus and the seeds, see ``news_store``): shapes (the
CLI's), filters, pagination, exports, errors and search, checked against ``examples/truth.json`` and against the
other endpoints."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import EXAMPLES, NewsStore
from storylens.api.app import create_app
from storylens.corpus import Corpus
from storylens.model import Story, clusters_contract
from storylens.settings import Settings

TRUTH = json.loads((EXAMPLES.parent / "truth.json").read_text(encoding="utf-8"))
EVENT = {a["id"]: a["event"] for a in TRUTH["articles"]}
LARGEST = "largest investment in this port"  # Elena Marsh's statement, carried by most of event A


def short(article_id: str) -> str:
    return article_id.rsplit("/", 1)[-1]


@pytest.fixture(scope="module")
def client(news_store: NewsStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_url=news_store.url))) as c:
        yield c


@pytest.fixture(scope="module")
def stories(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/stories", params={"limit": 1000}).json()["items"]
    return items


def story_with(stories: list[dict[str, Any]], article: str) -> dict[str, Any]:
    found = [s for s in stories if article in {short(a) for a in s["articles"]}]
    assert len(found) == 1, (article, found)
    return found[0]


@pytest.fixture(scope="module")
def articles(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/articles", params={"limit": 1000}).json()["items"]
    return items


def test_health(client: TestClient, news_store: NewsStore, stories: list[dict[str, Any]]) -> None:
    h = client.get("/api/health").json()
    assert h["articles"] == len(TRUTH["articles"]) + (5 if news_store.seeds else 0)
    assert h["status"] == "ok" and h["stories"] == len(stories) and h["database"] == "sqlite"
    assert h["search_index"] is True and h["writes"] == "loopback"


def test_every_article_is_in_exactly_one_story(stories: list[dict[str, Any]], articles: list[dict[str, Any]]) -> None:
    members = [a for s in stories for a in s["articles"]]
    assert len(members) == len(set(members)) == len(articles)
    assert set(members) == {a["id"] for a in articles}
    assert all(a["story_id"] == next(s["id"] for s in stories if a["id"] in s["articles"]) for a in articles)


def test_stories_list_has_the_cluster_contract_shape(client: TestClient, stories: list[dict[str, Any]]) -> None:
    body = client.get("/api/stories").json()
    assert set(body) == {"items", "limit", "offset", "next_offset"} and body["next_offset"] is None
    contract_keys = set(clusters_contract([Story(id="x", title="t", articles=[])], [])["stories"][0])
    for s in body["items"]:
        assert contract_keys <= set(s)
        assert s["n_articles"] == len(s["articles"]) >= 1
    seen = [s["last_seen"] for s in body["items"]]
    dated = [d for d in seen if d is not None]
    assert seen == sorted(dated, reverse=True) + [None] * (len(seen) - len(dated))  # newest first, undated last


def test_stories_follow_the_truth(stories: list[dict[str, Any]]) -> None:
    """The announcement (A), the council vote (B) and the football story (C) are apart; A's first six reports are
    one story (the truth accepts a07, a follow-up, on its own)."""
    a, c = story_with(stories, "a01_harbor_wire"), story_with(stories, "c01_meridian_post.txt")
    assert {short(x) for x in a["articles"]} >= {i for i, e in EVENT.items() if e == "A"} - {"a07_harbor_wire"}
    assert {short(x) for x in c["articles"]} == {i for i, e in EVENT.items() if e == "C"}
    assert c["id"] != a["id"] and a["first_seen"] == "2025-03-03"


def test_stories_filters_and_pagination(client: TestClient, stories: list[dict[str, Any]],
                                        articles: list[dict[str, Any]]) -> None:
    page1 = client.get("/api/stories", params={"limit": 2}).json()
    assert len(page1["items"]) == 2 and page1["next_offset"] == 2
    rest = client.get("/api/stories", params={"limit": 1000, "offset": 2}).json()
    assert rest["next_offset"] is None
    assert [s["id"] for s in page1["items"] + rest["items"]] == [s["id"] for s in stories]

    def ids(**params: str) -> set[str]:
        return {s["id"] for s in client.get("/api/stories", params={**params, "limit": 1000}).json()["items"]}

    a, b = story_with(stories, "a01_harbor_wire"), story_with(stories, "b01_harbor_wire.txt")
    c = story_with(stories, "c01_meridian_post.txt")
    assert ids(since="2025-04-01") == {b["id"]}  # only the council vote of April reaches into April
    assert {a["id"], c["id"]} <= ids(until="2025-03-31") and b["id"] not in ids(until="2025-03-31")
    assert ids(outlet="nobody") == set()
    baltic = {x["story_id"] for x in articles if x["outlet"] == "Baltic Ledger"}
    assert {a["id"], c["id"]} <= baltic and ids(outlet="baltic ledger") == baltic
    assert ids(entity="Elena Marsh") >= {a["id"], b["id"]} and c["id"] not in ids(entity="Elena Marsh")
    assert ids(entity="nobody at all") == set()
    word = c["title"].split()[0]
    assert c["id"] in ids(q=word.lower())
    assert all(word.lower() in s["title"].lower() for s in stories if s["id"] in ids(q=word))


def test_story_detail_carries_the_real_comparison(client: TestClient, stories: list[dict[str, Any]]) -> None:
    a = story_with(stories, "a01_harbor_wire")
    d = client.get(f"/api/stories/{a['id']}").json()
    assert set(d) == {"story", "articles", "comparison", "comparison_stale"} and d["story"]["id"] == a["id"]
    assert d["comparison_stale"] is False  # nothing changed the story since its comparison
    assert [x["id"] for x in d["articles"]] == a["articles"] and all("text" not in x for x in d["articles"])
    comp = d["comparison"]
    assert comp["story_id"] == a["id"]
    assert comp["summary"] and all(set(s["citations"]) <= set(a["articles"]) and s["citations"]
                                   for s in comp["summary"])
    g = next(g for g in comp["quote_groups"] if any(LARGEST in v["text"] for v in g["variants"]))
    assert g["first_outlet"] == "Harbor Wire" and g["first_article"] == "a01_harbor_wire"
    mutations = {short(v["article_id"]): set(v["mutations"]) for v in g["variants"]}
    assert "cut" in mutations["a03_meridian_post.txt"] and "words_inserted" in mutations["a05_baltic_ledger.txt"]
    assert "translated" in mutations["a06_vestnik_severa.txt"] and mutations["a01_harbor_wire"] == {"identical"}
    cov = comp["coverage"]
    assert len(cov["matrix"]) == len(cov["outlets"]) and all(len(r) == len(cov["facts"]) for r in cov["matrix"])
    facts = {f["id"]: f for f in cov["facts"]}
    assert any("17 March" in facts[i]["text"] for i in cov["exclusive"]["Baltic Ledger"])
    assert any(c["kind"] == "number" and "Northgate Daily" in c["values"] for c in cov["conflicts"])
    assert {e["date"] for e in comp["timeline"] if e["kind"] == "event"} >= {"2025-03-03", "2025-03-04"}


def test_quotes_and_groups(client: TestClient) -> None:
    body = client.get("/api/quotes", params={"speaker": "marsh", "limit": 5}).json()
    assert len(body["items"]) == 5 and body["next_offset"] == 5
    every = client.get("/api/quotes", params={"speaker": "marsh", "limit": 1000}).json()["items"]
    assert all("marsh" in (q["speaker"] or "").lower() or "marsh" in (q["speaker_text"] or "").lower() for q in every)
    q = next(x for x in every if x["article_id"] == "a01_harbor_wire" and LARGEST in x["text"])
    for key in ("id", "article_id", "text", "kind", "speaker", "outlet", "published", "story_id", "group_id"):
        assert key in q
    assert q["speaker"] == "Elena Marsh" and q["kind"] == "direct" and q["outlet"] == "Harbor Wire"
    assert q["group_id"] and q["group_id"].startswith(q["story_id"] + ":")
    g = client.get(f"/api/quotes/{q['group_id']}").json()
    assert g["id"] == q["group_id"] and q["id"] in {v["quote_id"] for v in g["variants"]}
    meridian = client.get("/api/quotes", params={"outlet": "meridian post", "limit": 1000}).json()["items"]
    assert meridian and {x["outlet"] for x in meridian} == {"Meridian Post"}
    hits = client.get("/api/quotes", params={"q": "LARGEST INVESTMENT", "limit": 1000}).json()["items"]
    assert {x["outlet"] for x in hits} >= {"Harbor Wire", "Meridian Post", "Baltic Ledger"}
    assert all("largest investment" in x["text"].lower() for x in hits)
    assert client.get("/api/quotes", params={"since": "2030-01-01"}).json()["items"] == []


def test_entities_articles_outlets_narratives(client: TestClient, stories: list[dict[str, Any]],
                                              articles: list[dict[str, Any]]) -> None:
    ents = client.get("/api/entities", params={"limit": 1000}).json()["items"]
    marsh = next(e for e in ents if e["name"] == "Elena Marsh")
    assert marsh["type"] == "PERSON" and {"Elena Marsh", "Marsh", "Елена Марш"} <= set(marsh["aliases"])
    e = client.get(f"/api/entities/{marsh['id']}").json()
    assert e["entity"]["id"] == marsh["id"] and "a01_harbor_wire" in e["articles"]
    assert len(e["articles"]) == marsh["articles"] and {q["speaker"] for q in e["quotes"]} == {"Elena Marsh"}
    assert client.get("/api/entities/Elena Marsh").json()["entity"]["id"] == marsh["id"]
    a = client.get("/api/articles/a01_harbor_wire").json()
    for key in ("id", "source", "title", "outlet", "published", "language", "text", "duplicate_of", "entities",
                "quotes", "removed", "story_id"):
        assert key in a
    assert a["title"] == next(t["title"] for t in TRUTH["articles"] if t["id"] == "a01_harbor_wire")
    assert a["quotes"] and all(a["text"][q["start"]:q["end"]] == q["text"] for q in a["quotes"])
    c = story_with(stories, "c01_meridian_post.txt")
    in_c = client.get("/api/articles", params={"story": c["id"], "limit": 100}).json()["items"]
    assert sorted(x["id"] for x in in_c) == sorted(c["articles"]) and {x["story_id"] for x in in_c} == {c["id"]}
    outlets = client.get("/api/outlets").json()["items"]
    assert sum(o["articles"] for o in outlets) == len(articles)
    harbor = next(o for o in outlets if o["outlet"] == "Harbor Wire")
    assert harbor["articles"] == sum(1 for x in articles if x["outlet"] == "Harbor Wire")
    narratives = client.get("/api/narratives").json()["items"]
    a_id, b_id = story_with(stories, "a01_harbor_wire")["id"], story_with(stories, "b01_harbor_wire.txt")["id"]
    harbour = [n for n in narratives if a_id in n["stories"]]
    assert len(harbour) == 1 and b_id in harbour[0]["stories"] and c["id"] not in harbour[0]["stories"]
    n = client.get(f"/api/narratives/{harbour[0]['id']}").json()
    assert [s["id"] for s in n["stories"]] == [a_id, b_id]  # in time order


@pytest.mark.parametrize(("path", "name"), [("/api/stories/nope", "nope"), ("/api/narratives/nope", "nope"),
                                            ("/api/quotes/nope:g9", "nope:g9"), ("/api/entities/nobody", "nobody"),
                                            ("/api/articles/nope", "nope")])
def test_not_found_is_404_naming_the_id(client: TestClient, path: str, name: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert repr(name) in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/stories", "/api/quotes", "/api/entities", "/api/articles", "/api/outlets",
                                  "/api/narratives"])
def test_every_list_downloads_as_csv_and_json(client: TestClient, path: str) -> None:
    listed = client.get(path, params={"limit": 1000}).json()["items"]
    assert listed
    r = client.get(path, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(listed)
    j = client.get(path, params={"format": "json"})
    assert j.status_code == 200 and "attachment" in j.headers["content-disposition"]
    assert j.json() == listed


def test_search_finds_articles_and_quotes(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "largest investment"}).json()
    assert r["articles"] and r["quotes"]
    assert {h["outlet"] for h in r["quotes"]} >= {"Harbor Wire", "Meridian Post", "Baltic Ledger"}
    assert all("largest investment" in h["text"].lower() for h in r["quotes"])
    assert all(h["group_id"] for h in r["quotes"])
    assert all("\ue000largest\ue001" in h["snippet"].lower() for h in r["quotes"])
    assert all(h["story_id"] for h in r["articles"]) and "a01_harbor_wire" in {h["id"] for h in r["articles"]}
    russian = client.get("/api/search", params={"q": "Марш"}).json()
    assert "a06_vestnik_severa.txt" in {short(h["id"]) for h in russian["articles"]}
    csv_text = client.get("/api/search", params={"q": "Northern", "format": "csv"}).text
    assert csv_text.startswith("type,")
    assert client.get("/api/search", params={"q": "zzzzqqq"}).json() == {"query": "zzzzqqq", "articles": [],
                                                                          "quotes": []}


def test_search_finds_the_seeds_treaty_quotes(client: TestClient, seeds_dir: Path) -> None:
    """TASS's "New START agreement" and Sputnik's "START III": one statement, found by one word."""
    r = client.get("/api/search", params={"q": "START"}).json()
    tass = [h for h in r["quotes"] if h["outlet"] == "TASS" and "New START agreement" in h["text"]]
    sputnik = [h for h in r["quotes"] if h["outlet"] == "Sputnik" and "START III" in h["text"]]
    assert len(tass) == len(sputnik) == 1, r["quotes"]
    assert tass[0]["group_id"] and tass[0]["group_id"] == sputnik[0]["group_id"]


def test_openapi_and_local_docs(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for p in ("/api/stories", "/api/stories/{story_id}", "/api/narratives", "/api/narratives/{narrative_id}",
              "/api/quotes", "/api/quotes/{group_id}", "/api/entities", "/api/entities/{entity_id}",
              "/api/articles/{article_id}", "/api/search", "/api/health", "/api/articles"):
        assert p in spec["paths"], p
    assert "post" in spec["paths"]["/api/articles"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/api/stories" in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.text


LATE = {"id": "late-1", "title": "Lindhaven council schedules a second vote on the Northern Link",
        "published": "2025-04-10", "outlet": "Harbor Wire",
        "text": "LINDHAVEN, April 10. /Harbor Wire/. The Lindhaven city council will vote again on the Northern Link "
                "funding on 24 April, council speaker Daniel Roos said on Thursday. “We listened to both sides and "
                "the environmental review is now under way,” Roos told reporters."}


def test_new_articles_show_without_a_restart(news_store: NewsStore, tmp_path: Path) -> None:
    """Another process ingests through the real pipeline while the app serves: the next request sees it."""
    url = news_store.copy(tmp_path / "live.db")
    with TestClient(create_app(Settings(db_url=url))) as client:
        before = client.get("/api/health").json()
        assert client.get("/api/articles/late-1").status_code == 404
        # every story body and the search are read (and kept by the server) before the write
        shown = {s["id"]: client.get(f"/api/stories/{s['id']}").json()
                 for s in client.get("/api/stories", params={"limit": 1000}).json()["items"]}
        assert client.get("/api/search", params={"q": "second vote"}).json()["articles"] == []
        with Corpus(url) as writer:
            assert writer.ingest(LATE).summary().startswith("1 new")
        after = client.get("/api/health").json()
        assert after["articles"] == before["articles"] + 1
        art = client.get("/api/articles/late-1").json()
        assert art["story_id"] and art["quotes"]
        d = client.get(f"/api/stories/{art['story_id']}").json()  # its story's comparison is computed afresh
        assert "late-1" in d["story"]["articles"] and "late-1" in {a["id"] for a in d["articles"]}
        if art["story_id"] in shown:
            assert d != shown[art["story_id"]]
        hits = client.get("/api/search", params={"q": "second vote"}).json()["articles"]
        assert [h["id"] for h in hits] == ["late-1"]
        assert any(v["article_id"] == "late-1" for g in d["comparison"]["quote_groups"] for v in g["variants"])


def test_search_and_story_api_on_each_back_end(db_url: str) -> None:
    """SQLite FTS5 and PostgreSQL tsvector behind the same API, over event A's reports ingested by the pipeline."""
    with Corpus(db_url) as c:
        report = c.ingest([str(EXAMPLES / n) for n in ("wire.jsonl", "a03_meridian_post.txt", "a05_baltic_ledger.txt")])
        assert not report.rejected
    with TestClient(create_app(Settings(db_url=db_url))) as client:
        assert client.get("/api/health").json()["search_index"] is True
        r = client.get("/api/search", params={"q": "largest investment"}).json()
        assert {short(h["article_id"]) for h in r["quotes"]} >= {"a01_harbor_wire", "a03_meridian_post.txt",
                                                                 "a05_baltic_ledger.txt"}
        assert r["articles"] and "\ue000" in r["articles"][0]["snippet"]
        assert client.get("/api/search", params={"q": "lindhav*"}).json()["articles"]
        sid = client.get("/api/articles/a01_harbor_wire").json()["story_id"]
        d = client.get(f"/api/stories/{sid}").json()  # computed by the compare stage on this back end
        g = next(g for g in d["comparison"]["quote_groups"] if any(LARGEST in v["text"] for v in g["variants"]))
        assert g["first_article"] == "a01_harbor_wire" and len({v["article_id"] for v in g["variants"]}) >= 3
        assert all(h["group_id"] == g["id"] for h in client.get(
            "/api/search", params={"q": "largest investment"}).json()["quotes"])
        assert client.get("/search", params={"q": "Northern"}).status_code == 200
        assert client.get("/outlets").status_code == 200


def test_response_cache_keeps_bodies_only_for_their_stamp_and_within_its_bound() -> None:
    from storylens.api.cache import ResponseCache

    c = ResponseCache(max_bytes=400)
    c.put("a", 1, b"x" * 90)
    assert c.get("a", 1) == b"x" * 90 and c.get("a", 2) is None and c.get("b", 1) is None
    c.put("a", None, b"never")  # no stamp: nothing can be cached by it
    assert c.get("a", None) is None and c.get("a", 1) == b"x" * 90
    for k in "bcde":
        c.put(k, 1, b"y" * 90)
    assert c.get("a", 1) is None and len(c) == 4  # the least recently used went first
    c.put("big", 1, b"z" * 101)  # above a quarter of the bound: not kept
    assert c.get("big", 1) is None
