"""Shared fixtures: chapters are executed once per test session (QUICK=True) into build/executed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kit.book import ChapterFailed, chapters, execute_chapter, executed_dir, prepare_for

CHAPTERS = chapters()
CHAPTER_IDS = [c.stem for c in CHAPTERS]
# Wall-clock budget per chapter in QUICK mode (generous: CI machines are slow and shared).
QUICK_BUDGET_S = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite tests/notebooks/snapshots from this run's checked outputs instead of comparing",
    )


class ExecutionCache:
    """Prepares and runs each chapter at most once per session; remembers failures too."""

    def __init__(self) -> None:
        self._results: dict[str, tuple[Path | None, float, str | None]] = {}

    def get(self, source: Path) -> tuple[Path | None, float, str | None]:
        if source.stem not in self._results:
            start = time.perf_counter()
            try:
                prepare_for(source, quick=True)  # as the book does: train first, then the chapter only loads
                result = execute_chapter(source, executed_dir(), quick=True, timeout=QUICK_BUDGET_S)
                self._results[source.stem] = (result.output, result.seconds, None)
            except ChapterFailed as error:
                self._results[source.stem] = (None, time.perf_counter() - start, str(error))
        return self._results[source.stem]


@pytest.fixture(scope="session")
def execution_cache() -> ExecutionCache:
    return ExecutionCache()


@pytest.fixture(scope="session")
def executed_chapters(execution_cache: ExecutionCache) -> dict[str, Path]:
    """Every chapter executed; skips dependent layers when a chapter failed (its own test fails)."""
    out = {}
    for source in CHAPTERS:
        path, _, error = execution_cache.get(source)
        if error:
            pytest.fail(f"cannot check the executed copy: {error}")
        out[source.stem] = path
    return out
