"""The web app in real headless Chromium (Debian's ``chromium`` driven by Playwright's Python package; no browser download).

uvicorn serves the app from a thread on a free loopback port.  Screenshots go to ``test-artifacts/`` (gitignored);
a few are copied under ``docs/`` by hand.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import NewsStore, missing
from storylens.api.app import create_app
from storylens.corpus import Corpus
from storylens.settings import Settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("STORYLENS_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, db_url: str) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        s = Settings(db_url=db_url)
        s.api.port = self.port
        self.server = uvicorn.Server(uvicorn.Config(create_app(s), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    from playwright import sync_api

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, phone: bool = False) -> Any:
    if phone:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)
    else:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.errors, page.dialogs = errors, dialogs
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# ---- the real pipeline's store (the example corpus and the seeds), with a hostile article added -------------------
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)> The end."
EVIL_TITLE = "<script>alert('title')</script> Harbour"
LARGEST = "largest investment in this port"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, news_store: NewsStore) -> Iterator[tuple[Served, Corpus]]:
    url = news_store.copy(tmp_path_factory.mktemp("browser") / "b.db")
    c = Corpus(url)
    evil = {"id": "evil-1", "title": EVIL_TITLE, "outlet": "Evil Daily", "published": "2025-03-05",
            "text": f"The harbour board met on Wednesday. {EVIL}"}
    assert c.ingest(evil).summary().startswith("1 new")
    with Served(url) as s:
        yield s, c
    c.close()


def test_story_page_quote_and_search_in_chromium(browser: Any, served: tuple[Served, Corpus]) -> None:
    server, corpus = served
    story = corpus.story(corpus.store.story_of(["a01_harbor_wire"])["a01_harbor_wire"] or "")
    assert story is not None
    comparison = corpus.compare(story.id)
    assert comparison is not None
    group = next(g for g in comparison.quote_groups if any(LARGEST in v.text for v in g.variants))
    page = _page(browser)
    page.goto(server.url + "/")
    page.locator(f'a[href="/stories/{story.id}"]').first.click()
    page.wait_for_selector("#summary")
    assert page.locator(".summary-sentence").count() == len(comparison.summary)
    assert page.locator(".summary-sentence .cite").count() >= 1
    box = page.locator(".qgroup", has=page.locator(f'a[href="/quotes/{quote(group.id, safe="")}"]'))
    assert box.count() == 1
    changed = [v for v in group.variants if v.mutations != ["identical"]]
    assert box.locator(".variant").count() == len(changed) >= 4
    assert box.locator(".verbatim-line").count() == 1  # the aggregator's verbatim copy
    assert page.locator("del.d-del").count() >= 1 and page.locator("ins.d-ins").count() >= 1
    # the diff colours really apply (the stylesheet is served locally and allowed by the CSP)
    assert page.eval_on_selector("ins.d-ins", "e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.locator("table.heatmap td.cov-yes").count() >= 1
    assert page.locator("svg.timeline-svg circle").count() >= 1
    _shot(page, "web-story")
    box.locator(".qcanon a").click()
    page.wait_for_selector("table.spread")
    assert "/quotes/" in page.url
    assert page.locator("table.spread tr.variant").count() == len(group.variants)
    assert page.locator(".first-badge").count() == 1
    _shot(page, "web-quote")
    page.fill("#top-q", "largest investment")
    page.press("#top-q", "Enter")
    page.wait_for_selector("#quote-results")
    hits = page.locator("#quote-results .hit")
    assert hits.count() >= 3 and "largest investment" in hits.first.inner_text()
    assert page.locator("#quote-results mark").first.inner_text() == "largest"
    _shot(page, "web-search")
    assert page.errors == [] and page.dialogs == []


def test_script_in_an_article_is_shown_as_text(browser: Any, served: tuple[Served, Corpus]) -> None:
    page = _page(browser)
    page.goto(served[0].url + "/articles/evil-1")
    body = page.locator(".body").inner_text()
    assert "<script>alert('x')</script>" in body and "<img src=x onerror=alert(1)>" in body
    assert page.locator("h1").inner_text() == EVIL_TITLE
    assert page.locator(".body script, .body img").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []


def test_keyboard_and_phone_layout(browser: Any, served: tuple[Served, Corpus]) -> None:
    server, corpus = served
    page = _page(browser, phone=True)
    page.goto(f"{server.url}/stories/{corpus.store.story_of(['a01_harbor_wire'])['a01_harbor_wire']}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert "#main" in page.url
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "top-q"
    _shot(page, "web-story-phone")
    assert page.errors == []


# ---- the seeds through the whole pipeline ---------------------------------------------------------------------------

def test_seeds_in_chromium(browser: Any, served: tuple[Served, Corpus], seeds_dir: Path) -> None:
    server, corpus = served
    # the 2021 story: the one that holds the TASS report of 8 June 2021
    tass = next(a for a in corpus.articles() if a.outlet == "TASS")
    sputnik = next(a for a in corpus.articles() if a.outlet == "Sputnik")
    story_id = corpus.store.story_of([tass.id])[tass.id]
    assert story_id and corpus.store.story_of([sputnik.id])[sputnik.id] == story_id
    page = _page(browser)
    page.goto(f"{server.url}/")
    assert page.locator(".card").count() == len(corpus.stories())
    _shot(page, "web-seeds-stories")
    page.goto(f"{server.url}/stories/{story_id}")
    page.wait_for_selector("#summary")
    assert page.locator(".summary-sentence").count() >= 1
    assert page.locator(".summary-sentence .cite").count() >= 1
    assert page.locator(".variant").count() >= 2
    assert page.locator("table.heatmap td").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # wide tables scroll in their box
    _shot(page, "web-seeds-story")
    page.screenshot(path=str(ARTIFACTS / "web-seeds-story-top.png"))
    for section in ("summary", "coverage", "timeline"):
        page.locator(f"#{section}").screenshot(path=str(ARTIFACTS / f"web-seeds-{section}.png"))
    page.locator(".qgroup").first.screenshot(path=str(ARTIFACTS / "web-seeds-quote-group.png"))
    page.locator("#coverage .scroll").screenshot(path=str(ARTIFACTS / "web-seeds-heatmap.png"))
    phone = _page(browser, phone=True)
    phone.goto(f"{server.url}/stories/{story_id}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 391
    phone.screenshot(path=str(ARTIFACTS / "web-seeds-story-phone.png"))
    page.locator(".qcanon a").first.click()
    page.wait_for_selector("table.spread")
    assert page.locator("table.spread tr.variant").count() >= 1
    _shot(page, "web-seeds-quote")
    page.screenshot(path=str(ARTIFACTS / "web-seeds-quote-top.png"))
    page.goto(f"{server.url}/search?q=START")
    page.wait_for_selector("#quote-results")
    texts = page.locator("#quote-results .hit").all_inner_texts()
    assert any("New START agreement" in t for t in texts) and any("START III" in t for t in texts), texts
    _shot(page, "web-seeds-search")
    assert page.errors == [] and page.dialogs == []


def test_example_story_reads_from_the_top(browser: Any, served: tuple[Served, Corpus]) -> None:
    """The example corpus's main story: summary, outlets and the changed quotes lead; verbatim carriers fold into a
    line; the coverage matrix fits 1280 px and scrolls inside its box on a phone (the page never sideways)."""
    server, corpus = served
    story = max(corpus.stories(), key=lambda s: len(s.articles))
    page = _page(browser)
    page.goto(f"{server.url}/stories/{story.id}")
    page.wait_for_selector("#quotes")
    tops = [page.evaluate(f"document.getElementById('{i}').getBoundingClientRect().top")
            for i in ("summary", "outlets", "quotes", "coverage")]
    assert tops == sorted(tops)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 6000, f"story page {height}px tall"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    table = page.locator("#coverage table.heatmap").bounding_box()
    box = page.locator("#coverage .scroll").bounding_box()
    assert table and box and table["x"] + table["width"] <= box["x"] + box["width"] + 1  # fits, no inner scroll
    assert page.locator(".verbatim-line").count() >= 1 and page.locator(".qgroup").count() >= 1
    # the first changed group is the one with the biggest change, shown as carried with its punctuation
    assert "," in page.locator(".qgroup .v-text").first.inner_text()
    _shot(page, "web-example-story")
    phone = _page(browser, phone=True)
    phone.goto(f"{server.url}/stories/{story.id}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 391
    _shot(phone, "web-example-story-phone")
    assert page.errors == [] and phone.errors == []


def teardown_module() -> None:
    # keep the artefacts; drop an empty directory
    if ARTIFACTS.exists() and not any(ARTIFACTS.iterdir()):
        shutil.rmtree(ARTIFACTS)
