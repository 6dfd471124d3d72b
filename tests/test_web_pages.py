"""Server-rendered pages over a synthetic store: content, local assets, links that resolve, accessibility basics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from storylens.api import sample
from storylens.api.app import create_app
from storylens.api.pages import segments
from storylens.model import Quote
from storylens.settings import Settings
from storylens.store import Store

PAGES = ["/", "/stories/s00000", "/narratives", "/quotes", "/quotes/s00000:g0", "/entities",
         "/entities/ent-stoltenberg", "/outlets", "/outlets/TASS", "/articles/art-000001", "/search?q=START",
         "/search", "/docs"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    st = Store(url)
    sample.build(st, n_articles=20, per_story=10)
    st.close()
    with TestClient(create_app(Settings(db_url=url))) as c:
        yield c


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


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_accessibly_with_local_assets(client: TestClient, path: str) -> None:
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


def test_story_page_content(client: TestClient) -> None:
    html = client.get("/stories/s00000").text
    d = parse(html)
    assert "summary-sentence" in html and 'class="cite"' in html
    assert html.count('class="qgroup"') == 1 and 'href="/quotes/s00000%3Ag0"' in html
    assert '<del class="d-del"' in html and '<ins class="d-ins"' in html  # coloured variant diffs
    assert 'class="heatmap"' in html and "cov-yes" in html  # facts several outlets report x outlets
    assert any(t == "th" and a.get("scope") == "row" for t, a in d.tags)
    assert "Reported by one outlet only" in html and "The New START treaty was extended." in html
    # read from the top: the summary, the outlets and the changed quotes come before the coverage
    assert html.index('id="summary"') < html.index('id="outlets"') < html.index('id="quotes"') < \
        html.index('id="coverage"') < html.index('id="articles"')
    assert html.count('class="variant"') == 6 and html.count('class="verbatim-line"') == 1  # 3 verbatim folded
    assert 'class="timeline-svg"' in html and "<circle" in html
    for outlet in ("TASS", "RBC", "AP"):
        assert f'href="/outlets/{outlet}"' in html


def test_quote_page_shows_the_spread(client: TestClient) -> None:
    html = client.get("/quotes/s00000:g0").text
    assert html.count('class="variant') == 10
    assert "first-badge" in html and "words inserted" in html and ">cut<" in html
    assert sample.TREATY_QUOTE in html


def test_lists_link_to_downloads(client: TestClient) -> None:
    for path, api in [("/", "/api/stories"), ("/quotes", "/api/quotes"), ("/entities", "/api/entities"),
                      ("/outlets", "/api/outlets"), ("/narratives", "/api/narratives")]:
        html = client.get(path).text
        assert f'href="{api}?format=csv"' in html and f'href="{api}?format=json"' in html, path
    html = client.get("/quotes?speaker=Stoltenberg").text
    assert 'href="/api/quotes?speaker=Stoltenberg&amp;format=csv"' in html


def test_filters_and_pagination_on_pages(client: TestClient) -> None:
    assert client.get("/?outlet=nobody").text.count('class="card"') == 0
    assert client.get("/").text.count('class="card"') == 2
    html = client.get("/quotes").text
    assert 'rel="next"' not in html  # 20 quotes, 50 a page: no next
    html2 = client.get("/quotes?offset=10").text
    assert 'rel="prev"' in html2


def test_search_page_marks_matches(client: TestClient) -> None:
    html = client.get("/search?q=START").text
    assert "<mark>START</mark>" in html
    assert 'id="quote-results"' in html and "spread →" in html


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
