"""Server-rendered pages over the real pipeline's store (``news_store``: the example corpus and the seeds): content
checked against the API's comparison and ``examples/truth.json``, local assets, links that resolve, accessibility
basics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from conftest import NewsStore
from storylens.api.app import create_app
from storylens.api.pages import segments
from storylens.model import Quote
from storylens.settings import Settings

LARGEST = "The Northern Link is the largest investment in this port for a generation"


@pytest.fixture(scope="module")
def client(news_store: NewsStore) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_url=news_store.url))) as c:
        yield c


@pytest.fixture(scope="module")
def ids(client: TestClient) -> dict[str, Any]:
    """The real ids the pages are reached by: event A's story and its comparison, Marsh's quote group, ..."""
    a01 = client.get("/api/articles/a01_harbor_wire").json()
    story = client.get(f"/api/stories/{a01['story_id']}").json()
    group = next(g for g in story["comparison"]["quote_groups"] if any(LARGEST in v["text"] for v in g["variants"]))
    marsh = next(e for e in client.get("/api/entities", params={"limit": 1000}).json()["items"]
                 if e["name"] == "Elena Marsh")
    narrative = next(n for n in client.get("/api/narratives").json()["items"] if a01["story_id"] in n["stories"])
    return {"story": a01["story_id"], "detail": story, "group": group, "entity": marsh["id"],
            "narrative": narrative["id"]}


PAGES = ["/", "/stories/{story}", "/narratives", "/narratives/{narrative}", "/quotes", "/quotes/{group}",
         "/entities", "/entities/{entity}", "/outlets", "/outlets/Harbor%20Wire", "/articles/a01_harbor_wire",
         "/search?q=Northern", "/search", "/docs"]


class Doc(HTMLParser):
    """Collects what the accessibility checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.labels_for: set[str] = set()
        self.ids: set[str] = set()
        self.h1 = 0
        self.lang: str | None = None
        self._in_label = 0
        self.wrapped_inputs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.add(str(a["id"]))
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "h1":
            self.h1 += 1
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.labels_for.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and self._in_label:
            self.wrapped_inputs += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label -= 1


def parse(html: str) -> Doc:
    d = Doc()
    d.feed(html)
    return d


@pytest.mark.parametrize("pattern", PAGES)
def test_page_renders_accessibly_with_local_assets(client: TestClient, ids: dict[str, Any], pattern: str) -> None:
    path = pattern.format(story=ids["story"], narrative=ids["narrative"], group=quote(ids["group"]["id"]),
                          entity=quote(ids["entity"]))
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 200, r.text[:500]
    d = parse(r.text)
    assert d.lang == "en" and d.h1 == 1
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in d.tags)  # phone-sized screens
    assert any(t == "a" and a.get("class") == "skip" for t, a in d.tags)
    for t, a in d.tags:
        if t in ("input", "select") and a.get("type") not in ("hidden", "submit"):
            assert a.get("id") in d.labels_for or a.get("aria-label"), (path, t, a)
        if t in ("script", "link", "img") and (a.get("src") or a.get("href")):
            ref = str(a.get("src") or a.get("href"))
            assert ref.startswith("/"), (path, ref)  # no CDN, nothing external
        if t == "svg":
            assert a.get("role") == "img" and a.get("aria-label"), path
        if t == "a" and str(a.get("href") or "").startswith("#") and len(str(a["href"])) > 1:
            assert str(a["href"])[1:] in d.ids, (path, a["href"])
    assert "style=" not in r.text  # the CSP forbids inline styles


def test_static_assets_are_served(client: TestClient) -> None:
    css = client.get("/static/style.css")
    assert css.status_code == 200 and "@media (max-width" in css.text
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "/api/health" in js.text
    assert not re.search(r"https?://", css.text + js.text)


def _changed(v: dict[str, Any]) -> bool:
    return set(v["mutations"]) != {"identical"}


def test_story_page_content(client: TestClient, ids: dict[str, Any]) -> None:
    """What the page shows is the comparison's: every summary sentence with its citations, one box per quote that
    several articles carry and someone changed (each changed report a line, the verbatim ones folded into one),
    the facts one outlet alone reports, the outlets."""
    comp = ids["detail"]["comparison"]
    html = client.get(f"/stories/{ids['story']}").text
    d = parse(html)
    assert html.count('class="summary-sentence"') == len(comp["summary"])
    for sent in comp["summary"]:
        assert escape(sent["text"]) in html
    assert html.count('class="cite"') >= sum(len(s["citations"]) for s in comp["summary"])
    shown = [g for g in comp["quote_groups"]
             if len({v["article_id"] for v in g["variants"]}) > 1 and any(_changed(v) for v in g["variants"])]
    assert len(shown) >= 3  # Marsh's announcement, her wetlands promise, Veld's dredging warning
    assert html.count('class="qgroup"') == len(shown)
    assert html.count('class="variant"') == sum(1 for g in shown for v in g["variants"] if _changed(v))
    assert html.count('class="verbatim-line"') == sum(
        1 for g in shown if any(not _changed(v) and v["article_id"] != g["first_article"] for v in g["variants"]))
    assert f'href="/quotes/{quote(ids["group"]["id"], safe="")}"' in html
    assert '<del class="d-del"' in html and '<ins class="d-ins"' in html  # coloured variant diffs
    assert 'class="heatmap"' in html and "cov-yes" in html  # facts several outlets report x outlets
    assert any(t == "th" and a.get("scope") == "row" for t, a in d.tags)
    cov = comp["coverage"]
    facts = {f["id"]: f for f in cov["facts"]}
    only_baltic = [facts[i]["text"] for i in cov["exclusive"]["Baltic Ledger"]]
    assert "Reported by one outlet only" in html and any("17 March" in t for t in only_baltic)
    assert all(escape(t) in html for t in only_baltic)
    # read from the top: the summary, the outlets and the changed quotes come before the coverage
    assert html.index('id="summary"') < html.index('id="outlets"') < html.index('id="quotes"') < \
        html.index('id="coverage"') < html.index('id="articles"')
    assert 'class="timeline-svg"' in html and "<circle" in html
    for outlet in {a["outlet"] for a in ids["detail"]["articles"] if a["outlet"]}:
        assert f'href="/outlets/{quote(outlet)}"' in html, outlet


def test_quote_page_shows_the_spread(client: TestClient, ids: dict[str, Any]) -> None:
    g = ids["group"]
    html = client.get(f"/quotes/{quote(g['id'])}").text
    assert html.count('class="variant') == len(g["variants"]) >= 6
    assert html.count("first-badge") == 1 and g["first_outlet"] == "Harbor Wire"
    assert "words inserted" in html and ">cut<" in html and ">translated<" in html
    assert LARGEST in html
    assert "Северное звено" in html  # the Russian report, as carried


def test_lists_link_to_downloads(client: TestClient) -> None:
    for path, api in [("/", "/api/stories"), ("/quotes", "/api/quotes"), ("/entities", "/api/entities"),
                      ("/outlets", "/api/outlets"), ("/narratives", "/api/narratives")]:
        html = client.get(path).text
        assert f'href="{api}?format=csv"' in html and f'href="{api}?format=json"' in html, path
    html = client.get("/quotes?speaker=Marsh").text
    assert 'href="/api/quotes?speaker=Marsh&amp;format=csv"' in html
    assert html.count("<q>") == len(client.get("/api/quotes", params={"speaker": "Marsh"}).json()["items"]) > 5


def test_filters_and_pagination_on_pages(client: TestClient) -> None:
    assert client.get("/?outlet=nobody").text.count('class="card"') == 0
    n_stories = client.get("/api/health").json()["stories"]
    assert client.get("/").text.count('class="card"') == n_stories
    baltic = client.get("/api/stories", params={"outlet": "Baltic Ledger"}).json()["items"]
    assert client.get("/?outlet=Baltic+Ledger").text.count('class="card"') == len(baltic) >= 2
    n_quotes = len(client.get("/api/quotes", params={"limit": 1000}).json()["items"])
    html = client.get("/quotes").text
    assert ('rel="next"' in html) == (n_quotes > 50) and 'rel="prev"' not in html
    assert 'rel="prev"' in client.get("/quotes?offset=10").text


def test_search_page_marks_matches(client: TestClient) -> None:
    html = client.get("/search?q=largest+investment").text
    assert "<mark>largest</mark>" in html and "<mark>investment</mark>" in html
    assert 'id="quote-results"' in html and "spread →" in html
    api = client.get("/api/search", params={"q": "largest investment"}).json()
    assert html.count('class="hit') >= len(api["quotes"]) + len(api["articles"]) > 0


def test_html_errors_for_browsers(client: TestClient) -> None:
    r = client.get("/stories/nope", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "<h1>404</h1>" in r.text and "nope" in r.text
    r = client.get("/?since=yesterday", headers={"Accept": "text/html"})
    assert r.status_code == 422 and "since" in r.text
    r = client.get("/api/stories/nope", headers={"Accept": "text/html"})
    assert r.headers["content-type"].startswith("application/json")


def test_segments_mark_quotes_and_keep_paragraphs() -> None:
    text = "First para said “a b c”.\n\nSecond para.\nThird “d e”."
    q1 = Quote(text="a b c", start=text.index("a b c"), end=text.index("a b c") + 5, kind="direct")
    q2 = Quote(text="d e", start=text.index("d e"), end=text.index("d e") + 3, kind="direct")
    overlapping = Quote(text="b c", start=q1.start + 2, end=q1.end, kind="partial")
    paras = segments(text, [q2, overlapping, q1])
    assert len(paras) == 3
    assert "".join(p for p, _ in paras[0]) == "First para said “a b c”."
    assert [q.text for p in paras for _, q in p if q] == ["a b c", "d e"]
