"""The REST API over a synthetic store: shapes (the CLI's), filters, pagination, exports, errors, search."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storylens.api import sample
from storylens.api.app import create_app
from storylens.model import Story, clusters_contract
from storylens.settings import Settings
from storylens.store import Store


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    st = Store(url)
    sample.build(st, n_articles=30, per_story=10)
    st.close()
    return url


@pytest.fixture(scope="module")
def client(store_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(db_url=store_url))
    with TestClient(app) as c:
        yield c


def test_health(client: TestClient) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["articles"] == 30 and h["stories"] == 3
    assert h["search_index"] is True and h["writes"] == "loopback"


def test_stories_list_has_the_cluster_contract_shape(client: TestClient) -> None:
    body = client.get("/api/stories").json()
    assert set(body) == {"items", "limit", "offset", "next_offset"}
    items = body["items"]
    assert len(items) == 3
    contract_keys = set(clusters_contract([Story(id="x", title="t", articles=[])], [])["stories"][0])
    for s in items:
        assert contract_keys <= set(s)
        assert s["n_articles"] == len(s["articles"]) == 10
    assert [s["last_seen"] for s in items] == sorted((s["last_seen"] for s in items), reverse=True)


def test_stories_filters_and_pagination(client: TestClient) -> None:
    page1 = client.get("/api/stories", params={"limit": 2}).json()
    assert len(page1["items"]) == 2 and page1["next_offset"] == 2
    page2 = client.get("/api/stories", params={"limit": 2, "offset": 2}).json()
    assert len(page2["items"]) == 1 and page2["next_offset"] is None
    assert {s["id"] for s in page1["items"] + page2["items"]} == {"s00000", "s00001", "s00002"}
    assert [s["id"] for s in client.get("/api/stories", params={"until": "2021-06-01"}).json()["items"]] == ["s00000"]
    assert [s["id"] for s in client.get("/api/stories", params={"since": "2021-06-06"}).json()["items"]] == ["s00002"]
    assert client.get("/api/stories", params={"outlet": "nobody"}).json()["items"] == []
    assert len(client.get("/api/stories", params={"outlet": "tass"}).json()["items"]) == 3
    assert len(client.get("/api/stories", params={"entity": "Stoltenberg"}).json()["items"]) == 3
    assert client.get("/api/stories", params={"entity": "nobody at all"}).json()["items"] == []
    assert len(client.get("/api/stories", params={"q": "story s0000"}).json()["items"]) == 3


def test_story_detail_carries_the_comparison(client: TestClient) -> None:
    d = client.get("/api/stories/s00000").json()
    assert set(d) == {"story", "articles", "comparison"}
    assert len(d["articles"]) == 10 and all("text" not in a for a in d["articles"])
    comp = d["comparison"]
    for key in ("quote_groups", "coverage", "framing", "summary", "timeline"):
        assert key in comp
    assert all(s["citations"] for s in comp["summary"])
    g = comp["quote_groups"][0]
    assert {m for v in g["variants"] for m in v["mutations"]} >= {"cut", "words_inserted"}
    assert comp["coverage"]["matrix"] and len(comp["coverage"]["matrix"]) == len(comp["coverage"]["outlets"])


def test_quotes_and_groups(client: TestClient) -> None:
    body = client.get("/api/quotes", params={"speaker": "stoltenberg", "limit": 5}).json()
    assert len(body["items"]) == 5 and body["next_offset"] == 5
    q = body["items"][0]
    for key in ("id", "article_id", "text", "kind", "speaker", "outlet", "published", "story_id", "group_id"):
        assert key in q
    assert q["group_id"] == f"{q['story_id']}:g0"
    g = client.get(f"/api/quotes/{q['group_id']}").json()
    assert g["id"] == q["group_id"] and any(v["quote_id"] == q["id"] for v in g["variants"])
    assert client.get("/api/quotes", params={"outlet": "RBC"}).json()["items"]
    assert all(x["outlet"] == "RBC" for x in client.get("/api/quotes", params={"outlet": "rbc"}).json()["items"])
    assert client.get("/api/quotes", params={"q": "START agreement"}).json()["items"]
    assert client.get("/api/quotes", params={"since": "2030-01-01"}).json()["items"] == []


def test_entities_articles_outlets_narratives(client: TestClient) -> None:
    ents = client.get("/api/entities").json()["items"]
    assert ents == [{"id": "ent-stoltenberg", "name": "Jens Stoltenberg", "type": "PERSON",
                     "aliases": ["Stoltenberg", "the NATO chief", "the alliance secretary general"], "articles": 30}]
    e = client.get("/api/entities/ent-stoltenberg").json()
    assert e["entity"]["name"] == "Jens Stoltenberg" and len(e["articles"]) == 30 and len(e["quotes"]) == 30
    assert client.get("/api/entities/Jens Stoltenberg").json()["entity"]["id"] == "ent-stoltenberg"
    a = client.get("/api/articles/art-000003").json()
    for key in ("id", "source", "title", "outlet", "published", "language", "text", "duplicate_of", "entities",
                "quotes", "removed", "story_id"):
        assert key in a
    assert a["text"][a["quotes"][0]["start"]:a["quotes"][0]["end"]] == a["quotes"][0]["text"]
    arts = client.get("/api/articles", params={"story": "s00001", "limit": 100}).json()["items"]
    assert len(arts) == 10 and {x["story_id"] for x in arts} == {"s00001"}
    outlets = client.get("/api/outlets").json()["items"]
    assert sum(o["articles"] for o in outlets) == 30
    assert client.get("/api/narratives").json()["items"] == []


def test_not_found_is_404_with_a_message(client: TestClient) -> None:
    for path in ("/api/stories/nope", "/api/narratives/nope", "/api/quotes/nope:g9", "/api/entities/nobody",
                 "/api/articles/nope"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "nope" in r.json()["detail"] or "nobody" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/api/stories", "/api/quotes", "/api/entities", "/api/articles", "/api/outlets",
                                  "/api/narratives"])
def test_every_list_downloads_as_csv_and_json(client: TestClient, path: str) -> None:
    listed = client.get(path, params={"limit": 1000}).json()["items"]
    r = client.get(path, params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == len(listed)
    j = client.get(path, params={"format": "json"})
    assert j.status_code == 200 and "attachment" in j.headers["content-disposition"]
    assert j.json() == listed


def test_search_finds_articles_and_quotes(client: TestClient) -> None:
    r = client.get("/api/search", params={"q": "START"}).json()
    assert r["articles"] and r["quotes"]
    assert all("START" in h["text"] for h in r["quotes"])
    assert all(h["group_id"] for h in r["quotes"])
    assert "\ue000START\ue001" in r["quotes"][0]["snippet"]
    assert client.get("/api/search", params={"q": "START", "format": "csv"}).text.startswith("type,")
    assert client.get("/api/search", params={"q": "zzzzqqq"}).json() == {"query": "zzzzqqq", "articles": [],
                                                                          "quotes": []}


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


def test_new_articles_show_without_a_restart(client: TestClient, store_url: str, tmp_path: Path) -> None:
    before = client.get("/api/health").json()["articles"]
    st = Store(store_url)
    sample.build(st, n_articles=5, per_story=5, first_index=100, seed=7)
    st.close()
    assert client.get("/api/health").json()["articles"] == before + 5
    assert client.get("/api/stories/s00020").status_code == 200


def test_search_and_story_api_on_each_back_end(db_url: str) -> None:
    """SQLite FTS5 and PostgreSQL tsvector behind the same API."""
    st = Store(db_url)
    sample.build(st, n_articles=10, per_story=5)
    st.close()
    with TestClient(create_app(Settings(db_url=db_url))) as c:
        assert c.get("/api/health").json()["search_index"] is True
        r = c.get("/api/search", params={"q": "START agreement"}).json()
        assert len(r["quotes"]) == 5 and all(h["group_id"] == "s00000:g0" for h in r["quotes"])
        assert r["articles"] and "\ue000" in r["articles"][0]["snippet"]
        assert c.get("/api/search", params={"q": "stolten*"}).json()["articles"]
        d = c.get("/api/stories/s00001").json()
        assert len(d["articles"]) == 5 and d["comparison"]["quote_groups"]
        assert c.get("/search", params={"q": "START"}).status_code == 200
        assert c.get("/outlets").status_code == 200
