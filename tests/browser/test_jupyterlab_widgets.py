"""Layer 4: a real JupyterLab on 127.0.0.1, driven by Playwright in Debian's Chromium.

Opens the executed QUICK copies of the pruning chapter and of the distillation chapter (their parameters
cells already say QUICK = True), runs their cells, moves a slider with the keyboard and checks the status
line changes: global sparsity and accuracy in chapter 2; T, the loss terms and the loss in chapter 6 (whose
copy stops after its explorer, so the kernel is idle when the slider moves). Screenshots are kept in
build/screenshots/.
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

from kit.paths import build_dir

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHAPTER = "02_pruning"
STATUS = ".kit-pruning-status"
DISTILLATION = "06_knowledge_distillation"
DISTILL_STATUS = ".kit-distill-status"
PIPELINE = "08_compression_pipeline"
PIPELINE_STATUS = ".kit-pipeline-status"
PIPELINE_EXPLORER_CELL = "ch08-explorer"
EXPLORER_CELL = "ch06-explorer"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(executed_chapters, tmp_path_factory):
    """JupyterLab serving a folder with the executed chapter; yields its base URL."""
    root = tmp_path_factory.mktemp("lab")
    workspaces = tmp_path_factory.mktemp("workspaces")   # outside the served folder
    for name in (CHAPTER, DISTILLATION, PIPELINE):
        notebook = nbformat.read(executed_chapters[name], as_version=4)
        last = {DISTILLATION: EXPLORER_CELL, PIPELINE: PIPELINE_EXPLORER_CELL}.get(name)
        if last:   # up to the explorer: the rest would keep the kernel busy for a minute
            ids = [cell.get("id") for cell in notebook.cells]
            notebook.cells = notebook.cells[: ids.index(last) + 1]
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


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")
def test_sparsity_slider_updates_the_status(lab):
    # Ten steps of 0.01 from 0.50: per-layer L1 at 0.60 prunes 60.0 % of the weights.
    before, after, news_popups = move_slider(lab, CHAPTER, status_selector=STATUS, ready="global sparsity",
                                             slider_selector=".kit-amount-slider", presses=10, expected="60.0%")
    assert after != before and "global sparsity 60.0%" in after, (before, after)
    assert news_popups == 0, "JupyterLab asked about Jupyter news: is scripts/jupyterlab-overrides.json installed?"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")
def test_temperature_slider_updates_the_loss_terms(lab):
    # Four steps of 0.5 from T = 4: the status (recomputed by the kernel) says T = 6.
    before, after, news_popups = move_slider(lab, DISTILLATION, status_selector=DISTILL_STATUS, ready="soft term",
                                             slider_selector=".kit-temperature-slider", presses=4,
                                             expected="T = 6 ·")
    assert "T = 4 ·" in before and after != before and "loss" in after, (before, after)
    assert news_popups == 0


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (make setup installs it)")
def test_budget_slider_moves_the_highlighted_variant(lab):
    # One step right from the first pruned budget: the distilled int8 PTQ model of the next budget (QUICK grid).
    from kit.recipes import RECIPES

    first, second = RECIPES["cnn-grid"].config(True, "fashion-embedded")["budgets"][:2]
    before, after, news_popups = move_slider(lab, PIPELINE, status_selector=PIPELINE_STATUS, ready="int8 PTQ",
                                             slider_selector=".kit-budget-slider", presses=1,
                                             expected=f"{second:.0%} MACs distill int8 PTQ: validation")
    assert before.startswith(f"{first:.0%} MACs distill int8 PTQ") and "faster" in after, (before, after)
    assert news_popups == 0
