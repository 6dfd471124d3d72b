"""Safety of the API, each rule its own test: write tokens, the loopback rule, request size limits, input
validation, no SQL from strings, escaping of article text, SSRF refusal through the API."""

from __future__ import annotations

import ast
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from conftest import NewsStore
from storylens.api.app import create_app
from storylens.corpus import Corpus
from storylens.settings import Settings

SRC = Path(__file__).resolve().parents[1] / "src" / "storylens"
ARTICLE = {"id": "api-1", "title": "Council approves budget", "published": "2024-03-04",
           "text": "The city council approved the budget on Monday. “We kept every promise,” the mayor said."}


def make_client(tmp_path: Path, *, host: str = "127.0.0.1", token: str | None = None,
                max_bytes: int = 1_000_000) -> tuple[TestClient, Corpus]:
    """The app over a real store and the real pipeline: what a refused write must not do is store anything."""
    s = Settings(db_url=f"sqlite:///{tmp_path / 'safety.db'}")
    s.api.host, s.api.token, s.api.max_request_bytes = host, token, max_bytes
    corpus = Corpus(s.db_url, settings=s)
    return TestClient(create_app(s, corpus=corpus), base_url="http://127.0.0.1:8000"), corpus


def stored(corpus: Corpus) -> list[str]:
    return [a.id for a in corpus.articles()]


# ---- writes need a token ----------------------------------------------------------------------------------------
def test_writes_need_the_configured_token(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path, token="s3cret-token")
    r = client.post("/api/articles", json=ARTICLE)
    assert r.status_code == 401 and "Bearer" in r.json()["detail"]
    r = client.post("/api/articles", json=ARTICLE, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403
    r = client.post("/api/articles", json=ARTICLE, headers={"Authorization": "Basic s3cret-token"})
    assert r.status_code == 401
    assert stored(corpus) == []
    r = client.post("/api/articles", json=ARTICLE, headers={"Authorization": "Bearer s3cret-token"})
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["new"] == 1 and stored(corpus) == [ARTICLE["id"]]
    assert client.get("/api/stories").status_code == 200  # reads stay open


def test_without_a_token_writes_are_refused_unless_bound_to_loopback(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.20", "example.org", "::"):
        client, corpus = make_client(tmp_path, host=host)
        r = client.post("/api/articles", json=ARTICLE)
        assert r.status_code == 403 and "STORYLENS_TOKEN" in r.json()["detail"], host
        assert stored(corpus) == []
        assert client.get("/api/health").json()["writes"] == "refused"
    for host in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        client, corpus = make_client(tmp_path, host=host)
        assert client.post("/api/articles", json=ARTICLE).status_code == 200, host
    client, _ = make_client(tmp_path, host="0.0.0.0", token="t")
    assert client.post("/api/articles", json=ARTICLE, headers={"Authorization": "Bearer t"}).status_code == 200


def test_tokenless_loopback_writes_refuse_rebinding_and_cross_site_requests(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path)
    r = client.post("/api/articles", json=ARTICLE, headers={"Host": "attacker.example:8000"})
    assert r.status_code == 403 and "loopback Host" in r.json()["detail"]  # DNS rebinding
    r = client.post("/api/articles", json=ARTICLE, headers={"Origin": "https://attacker.example"})
    assert r.status_code == 403 and "cross-site" in r.json()["detail"]
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
        r = client.post("/api/articles", content=json.dumps(ARTICLE), headers={"Content-Type": ctype})
        assert r.status_code == 415, ctype  # what a page can send cross-site without a preflight
    assert stored(corpus) == []
    r = client.post("/api/articles", json=ARTICLE, headers={"Origin": "http://127.0.0.1:8000"})
    assert r.status_code == 200


# ---- request size limits ------------------------------------------------------------------------------------------
def test_request_size_limit(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path, max_bytes=2000)
    big = {**ARTICLE, "text": "x" * 5000}
    r = client.post("/api/articles", json=big)
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(10):
            yield b"x" * 500

    r = client.post("/api/articles", content=chunks(), headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 413
    assert stored(corpus) == []
    assert client.post("/api/articles", json=ARTICLE).status_code == 200


def test_too_many_items_in_one_request(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path)
    body = "\n".join(json.dumps({"text": f"t{i}"}) for i in range(1001))
    r = client.post("/api/articles", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 413 and "1000" in r.json()["detail"]
    assert stored(corpus) == []


# ---- input validation -------------------------------------------------------------------------------------------
def test_malformed_bodies_are_clear_400s(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path)
    for body, ctype, words in [(b"", "application/json", "empty"), (b"[{broken", "application/json", "JSON"),
                               (b"\xff\xfe\x00", "application/json", "UTF-8")]:
        r = client.post("/api/articles", content=body, headers={"Content-Type": ctype})
        assert r.status_code == 400 and words in r.json()["detail"], (body, r.text)
    assert stored(corpus) == []


def test_per_item_validation_names_the_item(tmp_path: Path) -> None:
    client, corpus = make_client(tmp_path)
    lines = [json.dumps(ARTICLE), "{not json", json.dumps({"title": "no body"}), json.dumps([1, 2]),
             json.dumps({"text": 42}), json.dumps({"url": "file:///etc/passwd"}),
             json.dumps({"id": "api-2", "title": "Parking plan protest",
                         "text": "Residents of the old town protested against the parking plan on Tuesday, "
                                 "police said. “We were never asked,” one shop owner said."})]
    r = client.post("/api/articles", content="\n".join(lines), headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200
    res = r.json()
    reasons = [x["reason"] for x in res["results"] if x["status"] == "rejected"]
    assert res["counts"] == {"new": 2, "updated": 0, "duplicate": 0, "unchanged": 0, "rejected": 5}
    assert any("line 2" in x and "JSON" in x for x in reasons)
    assert any("line 3" in x and "'text' or 'html'" in x for x in reasons)
    assert any("line 4" in x and "object" in x for x in reasons)
    assert any("line 5" in x and "'text' must be a string" in x for x in reasons)
    assert any("line 6" in x and "http" in x for x in reasons)
    assert sorted(stored(corpus)) == ["api-1", "api-2"]
    r = client.post("/api/articles", json=[{"title": "no body"}])
    assert r.status_code == 422 and r.json()["counts"]["rejected"] == 1


def test_query_validation_names_the_field(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    for path, field in [("/api/stories?since=yesterday", "since"), ("/api/stories?limit=0", "limit"),
                        ("/api/stories?limit=5000", "limit"), ("/api/quotes?offset=-1", "offset"),
                        ("/api/stories?format=xml", "format"), ("/api/search", "q"), ("/api/search?q=%20%2B%2B", "q"),
                        ("/api/search?q=" + "a" * 501, "q")]:
        r = client.get(path)
        assert r.status_code == 422, path
        assert field in r.json()["detail"], (path, r.json())


# ---- no SQL from strings ----------------------------------------------------------------------------------------
INJECTIONS = ["'; DROP TABLE articles; --", "\" OR 1=1 --", "%' OR '1'='1", "START\" OR \"x", "NEAR(a b)", "*",
              "a AND OR NOT", "\\x00", "');DELETE FROM quotes;--"]


def test_hostile_query_strings_are_plain_values(tmp_path: Path, news_store: NewsStore) -> None:
    news_store.copy(tmp_path / "safety.db")
    client, corpus = make_client(tmp_path)
    n = client.get("/api/health").json()["articles"]
    assert n == len(stored(corpus)) > 10
    for bad in INJECTIONS:
        for path, key in [("/api/search", "q"), ("/api/stories", "q"), ("/api/quotes", "q"), ("/api/quotes", "speaker"),
                          ("/api/stories", "outlet"), ("/api/stories", "entity"), ("/api/entities", "q")]:
            r = client.get(path, params={key: bad})
            assert r.status_code in (200, 422), (path, bad, r.text)
            if r.status_code == 200 and "items" in r.json():
                assert r.json()["items"] == [], (path, key, bad)
        assert client.get(f"/api/stories/{bad}").status_code == 404
    assert client.get("/api/health").json()["articles"] == n
    assert client.get("/api/search", params={"q": "Northern"}).json()["articles"]  # the tables are all there


def _sql_calls_with_interpolation(path: Path) -> list[str]:
    """text()/exec_driver_sql() calls whose SQL is an f-string, a %-format or .format(): SQL built from values."""
    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name not in ("text", "exec_driver_sql", "execute") or not node.args:
            continue
        for sub in ast.walk(node.args[0]):
            if isinstance(sub, ast.JoinedStr) or (isinstance(sub, ast.BinOp) and isinstance(sub.op, ast.Mod)) or (
                    isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "format"):
                bad.append(f"{path.name}:{node.lineno}")
            if isinstance(sub, ast.Name) and not sub.id.isupper() and isinstance(node.args[0], ast.BinOp):
                bad.append(f"{path.name}:{node.lineno} uses {sub.id}")
    return bad


def test_no_sql_is_built_from_strings_in_the_api_and_search() -> None:
    files = [*sorted((SRC / "api").glob("*.py")), SRC / "store" / "search.py"]
    found = [b for f in files for b in _sql_calls_with_interpolation(f)]
    assert found == []


# ---- article text is escaped in pages -----------------------------------------------------------------------------
EVIL_TITLE = "<script>alert('title')</script> Budget"
EVIL_TEXT = ("The council met. <script>document.title='pwned'</script> “<b>We</b> <img src=x onerror=alert(1)> "
             "kept every promise,” the mayor said. <a href=\"javascript:alert(2)\">link</a>")


EVIL = {"id": "evil-1", "title": EVIL_TITLE, "text": EVIL_TEXT, "outlet": "<i>Outlet</i>", "published": "2024-03-04",
        "url": "javascript:alert(3)"}


def _evil_store(tmp_path: Path) -> str:
    """The hostile article through the real pipeline: its quote, speaker, story and comparison included."""
    s = Settings(db_url=f"sqlite:///{tmp_path / 'safety.db'}")
    with Corpus(s.db_url, settings=s) as c:
        assert c.ingest(EVIL).summary().startswith("1 new")
        story = c.store.story_of(["evil-1"])["evil-1"]
        assert story is not None and c.compare(story) is not None
        return story


def test_article_text_is_escaped_in_every_page(tmp_path: Path) -> None:
    story = _evil_store(tmp_path)
    client, corpus = make_client(tmp_path)
    art = client.get("/api/articles/evil-1").json()
    q = next(x for x in art["quotes"] if "kept every promise" in x["text"])
    assert "<img src=x" in q["text"] and art["outlet"] == "<i>Outlet</i>" and art["url"] == "javascript:alert(3)"
    group = client.get("/api/quotes", params={"story": story}).json()["items"][0]["group_id"]
    assert group
    pages = ["/", f"/stories/{story}", "/articles/evil-1", "/quotes", f"/quotes/{quote(group)}", "/search?q=council",
             "/search?q=promise", "/outlets", "/outlets/%3Ci%3EOutlet%3C%2Fi%3E", "/entities"]
    for p in pages:
        r = client.get(p)
        assert r.status_code == 200, (p, r.text[:300])
        html = r.text
        assert "<script>alert" not in html and "<script>document" not in html and "<script>x" not in html, p
        assert "<img src=x" not in html and "<b>We</b>" not in html and "<i>Outlet</i>" not in html, p
        assert 'href="javascript:' not in html, p
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
    art = client.get("/articles/evil-1").text
    assert "&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in art
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Budget" in art
    assert "&lt;img src=x onerror=alert(1)&gt;" in client.get("/search?q=promise").text


def test_script_posted_through_the_api_is_shown_as_text(tmp_path: Path) -> None:
    """The real pipeline: POST an article whose text carries <script>, then read its page."""
    s = Settings(db_url=f"sqlite:///{tmp_path / 'real.db'}")
    with TestClient(create_app(s), base_url="http://127.0.0.1:8000") as client:
        body = {"id": "xss-1", "title": "<script>alert(1)</script>Harbour deal",
                "text": "The port signed the deal on Friday. <script>alert('x')</script> Officials said it matters."}
        r = client.post("/api/articles", json=body)
        assert r.status_code == 200 and r.json()["counts"]["new"] == 1, r.text
        html = client.get("/articles/xss-1").text
        assert "<script>alert" not in html
        assert "&lt;script&gt;" in html


# ---- SSRF ---------------------------------------------------------------------------------------------------------
@pytest.fixture()
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body><p>internal secret</p></body></html>")

        def log_message(self, *a: Any) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", hits
    srv.shutdown()


def test_url_fetching_refuses_private_addresses(tmp_path: Path, loopback_server: tuple[str, list[str]]) -> None:
    base, hits = loopback_server
    client, corpus = make_client(tmp_path)
    urls = [f"{base}/admin", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x",
            "http://localhost:1/x"]
    r = client.post("/api/articles", json=[{"url": u} for u in urls])
    assert r.status_code == 422, r.text
    res = r.json()["results"]
    assert len(res) == len(urls) and all(x["status"] == "rejected" for x in res)
    assert all("private/loopback" in x["reason"] or "refused" in x["reason"] for x in res), res
    assert hits == [] and stored(corpus) == []
