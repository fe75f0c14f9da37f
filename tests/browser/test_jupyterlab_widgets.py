"""Layer 4: a real JupyterLab on 127.0.0.1, driven by Playwright in Debian's Chromium.

Every chapter that declares an explorer in its metadata (``kit.explorer``: its cell id, slider, status line,
how many ArrowRight presses, and the texts expected before and after) is opened from its executed QUICK copy
(whose parameters cell already says QUICK = True), cut after the explorer's cell so the kernel is idle when the
slider moves; its cells are run, the slider is moved with the keyboard and the status line must change to the
expected text. Screenshots are kept in build/screenshots/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from kit.chapters import read_chapter
from kit.paths import build_dir
from tests.conftest import CHAPTERS

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXPLORERS = {c.stem: read_chapter(c).explorer for c in CHAPTERS if read_chapter(c).explorer}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(executed_chapters, tmp_path_factory):
    """JupyterLab serving a folder with the executed chapter; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    workspaces = tmp_path_factory.mktemp("workspaces")   # outside the served folder
    for name, explorer in EXPLORERS.items():
        notebook = nbformat.read(executed_chapters[name], as_version=4)
        ids = [cell.get("id") for cell in notebook.cells]
        assert explorer["cell"] in ids, f"{name}: metadata kit.explorer names a cell id it does not have"
        notebook.cells = notebook.cells[: ids.index(explorer["cell"]) + 1]   # the rest would keep the kernel busy
        for cell in notebook.cells:  # start clean: stale widget views would only say "model not found"
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("widgets", None)
        nbformat.write(notebook, root / f"{name}.ipynb")
    port = free_port()
    env = {**os.environ, "KIT_PROGRESS": "off", "JUPYTER_PLATFORM_DIRS": "1"}
    log = open(root / "jupyterlab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         f"--LabApp.workspaces_dir={workspaces}"],   # no tabs restored from an earlier run
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail("JupyterLab did not start: " + (root / "jupyterlab.log").read_text()[-3000:])
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def wait_for_text(page, selector: str, text: str, timeout_ms: int) -> None:
    page.wait_for_function(
        "([sel, text]) => { const el = document.querySelector(sel); return el && el.textContent.includes(text); }",
        arg=[selector, text], timeout=timeout_ms,
    )


def move_slider(lab: str, chapter: str, *, status_selector: str, ready: str, slider_selector: str, presses: int,
                expected: str) -> tuple[str, str, int]:
    """Open `chapter` in its own workspace, run all its cells, press ArrowRight `presses` times on the slider and
    wait for the status to contain `expected`; returns (status before, status after, news pop-ups seen)."""
    from playwright.sync_api import sync_playwright

    shot = build_dir() / "screenshots" / f"{chapter}-jupyterlab.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            # A workspace of its own: the default one would reopen the other chapter's tab beside this one.
            page.goto(f"{lab}/lab/workspaces/{chapter}/tree/{chapter}.ipynb?reset", timeout=60_000)
            notebook = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
            page.wait_for_selector(f"{notebook} .jp-Cell", timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            # Run every cell (the executed copy carries QUICK = True).
            page.locator(f"{notebook} .jp-CodeCell .cm-content").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            wait_for_text(page, status_selector, ready, 240_000)
            status = page.locator(status_selector).first
            before = status.text_content()
            slider = page.locator(slider_selector).first
            slider.scroll_into_view_if_needed()
            handle = slider.locator(".noUi-handle").first
            handle.focus()
            for _ in range(presses):
                handle.press("ArrowRight")
            wait_for_text(page, status_selector, expected, 180_000)  # the kernel may still be running later cells
            after = status.text_content()
            # The course's overrides.json (installed by make setup) switches the news consent pop-up off.
            news_popups = page.get_by_text("official Jupyter news").count()
            slider.scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=False)
        except Exception:
            page.screenshot(path=str(shot.with_name(f"{chapter}-jupyterlab-failure.png")), full_page=False)
            raise
        finally:
            browser.close()
    assert shot.exists() and shot.stat().st_size > 20_000
    return before, after, news_popups


@pytest.mark.parametrize("chapter", sorted(EXPLORERS))
def test_moving_the_slider_updates_the_status(lab, chapter):
    explorer = EXPLORERS[chapter]
    after_texts = explorer["after"]
    before, after, news_popups = move_slider(lab, chapter, status_selector=explorer["status"],
                                             ready=explorer["ready"], slider_selector=explorer["slider"],
                                             presses=explorer["presses"], expected=after_texts[0])
    assert after != before, (before, after)
    assert all(text in before for text in explorer.get("before", [])), (before, explorer.get("before"))
    assert all(text in after for text in after_texts), (after, after_texts)
    assert news_popups == 0, "JupyterLab asked about Jupyter news: is scripts/jupyterlab-overrides.json installed?"


def test_the_chapters_with_an_explorer_are_tested():
    """The three explorers of chapters 2, 6 and 8 at least: a lost declaration would silently drop one."""
    assert {"02_pruning", "06_knowledge_distillation", "08_compression_pipeline"} <= set(EXPLORERS)
