"""Shared fixtures: the quick checkpoints are prepared once, and each chapter is executed once per SEED per session.

Every layer that needs an executed chapter reuses the same copy: the snapshot comparison, the executed-copy
checks, the documentation site and the browser layer's starting point all read ``build/executed`` (SEED 0).
The other-SEED run (``build/executed-seed7``) is the second execution, and doubles as the reproducibility run:
the checked cells (tagged ``nbval-check-output``) must not depend on SEED, so they must equal the snapshot in
both runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kit.book import ChapterFailed, chapters, execute_chapter, executed_dir, prepare_for
from kit.chapters import read_chapter
from kit.paths import build_dir, data_dir

CHAPTERS = chapters()
CHAPTER_IDS = [c.stem for c in CHAPTERS]
# Wall-clock budget per chapter in QUICK mode (generous: CI machines are slow and shared).
QUICK_BUDGET_S = 300
OTHER_SEED = 7
# Any attempt to reach the network fails at once in the processes the suite starts.
OFFLINE_ENV = {"KIT_PROGRESS": "off", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "*",
               "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite tests/notebooks/snapshots from this run's checked outputs instead of comparing",
    )


def package_index_problem(timeout: float = 5.0) -> str | None:
    """Why the package index pip uses cannot be reached, or None when it answers."""
    import urllib.request

    index = os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"
    try:
        urllib.request.urlopen(f"{index.rstrip('/')}/pip/", timeout=timeout).close()
    except OSError as error:
        return f"needs the package index {index}, which cannot be reached here ({error})"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, what needs a browser or the network this machine does not have (never silently)."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        skip = pytest.mark.skip(reason="needs Debian's chromium (make setup installs it as root; "
                                       "sudo apt-get install chromium otherwise)")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)
    network = [item for item in items if "network" in item.keywords]
    if network and (problem := package_index_problem()):
        for item in network:
            item.add_marker(pytest.mark.skip(reason=problem))


_kernel_build: dict[str, Any] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile chapter 9's kernel in a background thread (g++ on one core, about 25 s) while the hygiene and unit
    layers run, when this session will execute chapters; its test and the chapter then only load it."""
    if "not notebook" in (session.config.option.markexpr or ""):
        return
    from kit.chapter_kernel import build_in_background

    _kernel_build["build"] = build_in_background()


@pytest.fixture(scope="session")
def chapter_kernel():
    """Chapter 9's built kernel (the background build's, or built now when none was started)."""
    from kit.chapter_kernel import build_chapter_kernel

    build = _kernel_build.get("build")
    return build_chapter_kernel() if build is None else build.result()


def run_kit(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    """`python -m kit ARGS` in a subprocess, with the network blocked; the data dir is this session's."""
    env = {**os.environ, **OFFLINE_ENV, "KIT_DATA_DIR": str(data_dir())}
    return subprocess.run([sys.executable, "-m", "kit", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@dataclass(frozen=True)
class Prepared:
    """The session's `python -m kit prepare --quick` and the quick checkpoints the data dir held before it."""

    run: subprocess.CompletedProcess
    stored_before: frozenset[str]


@pytest.fixture(scope="session")
def prepared_quick() -> Prepared:
    """`python -m kit prepare --quick`, run once per session into the data dir the chapters then load from."""
    from kit.checkpoints import folder_for
    from kit.recipes import RECIPES

    before = frozenset(name for name in RECIPES if (folder_for(name, quick=True) / "manifest.json").is_file())
    return Prepared(run_kit("prepare", "--quick"), before)


class ExecutionCache:
    """Prepares and runs each chapter at most once per (chapter, SEED) per session; remembers failures too."""

    def __init__(self) -> None:
        self._results: dict[tuple[str, int], tuple[Path | None, float, str | None]] = {}

    def get(self, source: Path, seed: int = 0, extra: dict[str, Any] | None = None
            ) -> tuple[Path | None, float, str | None]:
        """The executed copy, its seconds and the error (None when it ran); `extra` parameters go with SEED."""
        key = (source.stem, seed)
        if key not in self._results:
            parameters = ({} if seed == 0 else {"SEED": seed}) | (extra or {})
            out = executed_dir() if seed == 0 else build_dir() / f"executed-seed{seed}"
            start = time.perf_counter()
            try:
                # as the book does: train first (chapter 8's grid follows SEED), then the chapter only loads
                prepare_for(source, quick=True, parameters=parameters)
                result = execute_chapter(source, out, quick=True, timeout=QUICK_BUDGET_S, parameters=parameters)
                self._results[key] = (result.output, result.seconds, None)
            except ChapterFailed as error:
                self._results[key] = (None, time.perf_counter() - start, str(error))
        return self._results[key]


@pytest.fixture(scope="session")
def execution_cache(prepared_quick) -> ExecutionCache:
    return ExecutionCache()


@pytest.fixture(scope="session")
def executed_chapters(execution_cache: ExecutionCache) -> dict[str, Path]:
    """Every chapter executed (QUICK, SEED 0); fails dependent tests when a chapter failed (its own test says why)."""
    out = {}
    for source in CHAPTERS:
        path, _, error = execution_cache.get(source)
        if error:
            pytest.fail(f"cannot check the executed copy: {error}")
        out[source.stem] = path
    return out


def declared(source: Path):
    """The chapter's declarations (metadata kit: needs, exercises, benchmark, explorer), read without a kernel."""
    return read_chapter(source)
