"""Layer 5: the documentation site builds from the executed chapters, one page each, no errors."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from kit.book import build_site
from kit.paths import build_dir

pytestmark = pytest.mark.docs


@pytest.fixture(scope="module")
def site(executed_chapters):
    out = build_dir() / "test-html"
    shutil.rmtree(out, ignore_errors=True)
    index = build_site(out_dir=out)
    return index, executed_chapters


def test_every_chapter_has_a_page(site):
    index, executed = site
    html_index = index.read_text()
    for chapter in executed:
        page = index.parent / "chapters" / f"{chapter}.html"
        assert page.exists(), f"no page for {chapter}"
        assert f"chapters/{chapter}.html" in html_index, f"{chapter} missing from the table of contents"


def test_pages_show_outputs_and_no_errors(site):
    index, executed = site
    for chapter in executed:
        html = (index.parent / "chapters" / f"{chapter}.html").read_text()
        assert "Traceback (most recent call last)" not in html
        assert "output traceback" not in html
        assert "<img" in html, f"{chapter}: no figure was rendered"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (make setup installs it)")
def test_chapter_page_renders_in_a_browser(site):
    """Headless Chromium renders the first chapter page; the screenshot is kept under build/."""
    index, executed = site
    first = sorted(executed)[0]
    shot = build_dir() / "screenshots" / f"{first}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    page = index.parent / "chapters" / f"{first}.html"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            "--window-size=1200,2400",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000, "the screenshot is missing or blank"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (make setup installs it)")
def test_formulas_render_with_the_network_off(site):
    """Every request that leaves 127.0.0.1 is refused; MathJax must still typeset the chapter's formulas."""
    import functools
    import http.server
    import threading
    from urllib.parse import urlparse

    from playwright.sync_api import sync_playwright

    index, executed = site
    chapter = next(c for c in sorted(executed) if "\\frac" in (index.parent / "chapters" / f"{c}.html").read_text())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(index.parent))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    refused = []

    def only_loopback(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    shot = build_dir() / "screenshots" / f"{chapter}-maths-offline.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            page.route("**/*", only_loopback)
            page.goto(f"http://127.0.0.1:{server.server_port}/chapters/{chapter}.html")
            page.wait_for_selector("mjx-container", timeout=60_000)
            typeset = page.locator("mjx-container").count()
            visible_text = page.inner_text("article")
            page.locator("mjx-container").first.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            browser.close()
    finally:
        server.shutdown()
    assert typeset >= 5, f"only {typeset} formulas were typeset on {chapter}"
    assert "\\frac" not in visible_text and "$$" not in visible_text, "raw LaTeX is showing"
    assert not [u for u in refused if "mathjax" in u.lower()], f"MathJax was requested from outside: {refused}"
