"""Render the compare report of the seeds' 2021 story and of the example corpus's story A in headless Chromium
and save screenshots to docs/report-*.png.

Articles go through the real stages (read → prepare → analyze); when the nlp stage is absent, quoted spans are
found by a regex instead (no speakers).  Run: .venv/bin/python benchmarks/report_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storylens.compare import compare_story, render_report  # noqa: E402
from storylens.model import Article, Story  # noqa: E402
from storylens.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORYLENS_SHARED", ROOT.parent / "shared"))


def load(paths: list[str]) -> list[Article]:
    from storylens.clean import FurnitureModel, prepare
    from storylens.ingest import read_inputs

    s = Settings()
    fm = FurnitureModel()
    arts = [prepare(r, s, fm) for r in read_inputs(paths, s.ingest) if not hasattr(r, "reason")]  # type: ignore[arg-type]
    from storylens.nlp import analyze

    return list(analyze(arts, s.nlp))


def shoot(html: str, out: Path, full: bool) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, encoding="utf-8") as f:
        f.write(html)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = b.new_page(viewport={"width": 1200, "height": 1400})
        page.goto(Path(f.name).as_uri())
        page.screenshot(path=str(out), full_page=full)
        b.close()
    os.unlink(f.name)


def main() -> int:
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    seeds = sorted((SHARED / "seeds").glob("00[012]*.txt"))
    if seeds:
        arts = load([str(p) for p in seeds])
        c = compare_story(Story("seeds-2021", "Stoltenberg on Russia ahead of the Biden–Putin summit (June 2021)",
                                [a.id for a in arts]), arts, Settings().compare)
        shoot(render_report(c, arts, "html"), docs / "report-seeds.png", full=True)
    ex = [str(ROOT / "examples" / "corpus" / f) for f in ("wire.jsonl", "a03_meridian_post.txt",
                                                          "a04_northgate_daily.html", "a05_baltic_ledger.txt",
                                                          "a06_vestnik_severa.txt")]
    arts = [a for a in load(ex) if not a.id.endswith("#3")]
    c = compare_story(Story("example-A", "Lindhaven Port Authority announces the Northern Link expansion",
                            [a.id for a in arts]), arts, Settings().compare)
    html = render_report(c, arts, "html")
    shoot(html, docs / "report-example.png", full=True)
    print("wrote", *sorted(str(p.relative_to(ROOT)) for p in docs.glob("report-*.png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
