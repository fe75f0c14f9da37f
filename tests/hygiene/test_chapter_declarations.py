"""A chapter is a declared unit: what its metadata declares (kit.needs, kit.exercises, kit.benchmark,
kit.explorer) exists and agrees with the notebook, and everything the suite lists is found from the chapters,
never from a list kept by hand (exercise modules, benchmarks, the docs' table of contents, the README's map)."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from kit.chapters import DECLARATION_KEYS, read_chapter
from kit.exercises import _REGISTRY, check_modules
from kit.paths import repo_root
from tests.conftest import CHAPTER_IDS, CHAPTERS

ROOT = repo_root()
EXPLORER_KEYS = {"cell", "slider", "status", "ready", "presses", "after"}


def exercise_names(module: str) -> set[str]:
    """The exercises a check module registers (importing it registers them)."""
    loaded = importlib.import_module(module)
    return {name for name, checker in _REGISTRY.items() if checker.__module__ == loaded.__name__}


def checked_in_notebook(source: Path) -> list[str]:
    cells = json.loads(source.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return re.findall(r"check\(\s*\"([^\"]+)\"", code)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_metadata_is_readable_and_names_existing_checkpoints(source):
    from kit.recipes import RECIPES

    chapter = read_chapter(source)
    assert set(chapter.declared) <= set(DECLARATION_KEYS)
    for need in chapter.declared.get("needs", []):
        assert need["checkpoint"] in RECIPES, f"kit.needs names {need['checkpoint']!r}, which no recipe makes"


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_the_exercises_the_notebook_checks_are_those_its_module_registers(source):
    chapter = read_chapter(source)
    assert chapter.exercises, f"{source.name}: declare its check module in metadata kit.exercises"
    registered = exercise_names(chapter.exercises)
    used = checked_in_notebook(source)
    assert used, f"{source.name} checks no exercise"
    assert set(used) == registered, (f"checked in the notebook but not in {chapter.exercises}: "
                                     f"{sorted(set(used) - registered)}; registered but never checked: "
                                     f"{sorted(registered - set(used))}")
    assert all(name.startswith(f"{chapter.number}-") for name in registered), sorted(registered)


def test_every_check_module_belongs_to_one_chapter():
    declared = [read_chapter(c).exercises for c in CHAPTERS]
    assert sorted(declared) == sorted(check_modules()), "a check module no chapter declares, or one declared twice"


def test_every_exercise_is_tested():
    """Right answers pass and known wrong ones fail: every exercise declares examples beside its check
    (kit.exercises.Examples, run by tests/unit/test_exercise_examples.py) or is named in a unit test."""
    from kit.exercises import examples_of

    tests = "\n".join(p.read_text() for p in (ROOT / "tests" / "unit").glob("test_*.py"))
    untested = sorted(name for c in CHAPTERS for name in exercise_names(read_chapter(c).exercises)
                      if examples_of(name) is None and f'"{name}"' not in tests)
    assert not untested, ("exercises with neither examples=Examples(right=..., wrong=...) beside their check nor a "
                          f"unit test naming them: {untested}")


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_a_declared_benchmark_exists_and_runs_this_chapter(source):
    chapter = read_chapter(source)
    if chapter.benchmark is None:
        pytest.skip(f"{source.name} declares no benchmark")
    script = ROOT / chapter.benchmark
    assert script.is_file(), f"kit.benchmark names {chapter.benchmark}, which does not exist"
    assert source.stem in script.read_text(), f"{chapter.benchmark} does not name {source.stem}"


def test_every_chapter_benchmark_is_declared_by_its_chapter():
    declared = {read_chapter(c).benchmark for c in CHAPTERS}
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        named = [c.stem for c in CHAPTERS if c.stem in script.read_text()]
        if len(named) == 1:   # a benchmark of one chapter (bench_capacity and the book's span every chapter)
            assert f"benchmarks/{script.name}" in declared, f"{script.name} runs {named[0]}, which does not declare it"


@pytest.mark.parametrize("source", [c for c in CHAPTERS if read_chapter(c).explorer],
                         ids=[c.stem for c in CHAPTERS if read_chapter(c).explorer])
def test_a_declared_explorer_names_a_cell_of_the_chapter(source):
    explorer = read_chapter(source).explorer
    assert EXPLORER_KEYS <= set(explorer), f"kit.explorer needs {sorted(EXPLORER_KEYS - set(explorer))}"
    ids = [c.get("id") for c in json.loads(source.read_text())["cells"]]
    assert explorer["cell"] in ids
    assert isinstance(explorer["presses"], int) and explorer["presses"] >= 1 and explorer["after"]


def test_the_chapters_with_an_explorer_stay_declared():
    """The explorers of chapters 2, 6 and 8 at least: a lost declaration would drop one from the browser test."""
    assert {"02", "06", "08"} <= {read_chapter(c).number for c in CHAPTERS if read_chapter(c).explorer}


def test_the_docs_find_the_chapters_themselves():
    index = (ROOT / "docs" / "index.md").read_text()
    assert ":glob:" in index and "chapters/*" in index, "the docs' toctree must glob the executed chapters"


def test_the_readme_chapter_map_has_one_row_per_chapter():
    readme = (ROOT / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| ") and "notebooks/" in line]
    for source in CHAPTERS:
        mine = [row for row in rows if f"notebooks/{source.name}" in row]
        assert len(mine) == 1, f"README.md: the chapter map needs one row for notebooks/{source.name}"
        assert mine[0].startswith(f"| {int(read_chapter(source).number)} |"), mine[0]
        assert len(mine[0]) <= 320, f"README.md: keep {source.name}'s row to one line ({len(mine[0])} characters)"
    table = readme[readme.index("| # |"):].split("\n\n")[0]
    assert all(f"notebooks/{s.name}" in table for s in CHAPTERS), "a blank line breaks the chapter map's table"


def checkpoints_loaded_by(module: str) -> list[tuple[str, object, int]]:
    """(checkpoint, the literal quick= or None, line) of every ensure(...) call in a check module's source."""
    import ast

    path = ROOT / (module.replace(".", "/") + ".py")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "ensure":
            name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            quick = next((k.value.value for k in node.keywords if k.arg == "quick"
                          and isinstance(k.value, ast.Constant)), None)
            found.append((name, quick, node.lineno))
    return found


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_exercise_checks_load_only_what_their_chapter_declares(source):
    """A check runs in the learner's chapter, where only the declared checkpoints are prepared: one it loads
    by itself must be declared, in the same mode in QUICK and full runs (kit.needs "mode": "full" and
    quick=False); a checkpoint that follows QUICK must come in with the answer, the check cannot know QUICK."""
    chapter = read_chapter(source)
    full_needs = {n["checkpoint"] for n in chapter.declared.get("needs", []) if n.get("mode") == "full"}
    for name, quick, line in checkpoints_loaded_by(chapter.exercises):
        assert name in full_needs and quick is False, (
            f"{chapter.exercises} line {line} loads the {name!r} checkpoint (quick={quick!r}), which "
            f"{source.name} does not declare in that mode: on the published page it is not prepared and the check "
            "crashes. Take the model in the answer instead, or declare it with \"mode\": \"full\" and quick=False.")
