"""What a chapter is, read without running it: its parameters and their rules, and what it declares.

A chapter is one notebook, ``notebooks/NN_topic.ipynb``. Everything the book and the test suite need to
know about it is read from that file without a kernel (plain JSON and ``ast``, no torch, no papermill):

- its parameters and their defaults: the cell tagged ``parameters``;
- the rule each parameter must satisfy: the ``kit.check_parameters(globals(), NAME=rule(...), ...)`` call of
  its first code cells, whose rules (``flag()``, ``whole(0)``, ``number(0, 1, open=True)``, ``one_of(...)``,
  ``text()``) are read from the source, so a bad ``--param`` is refused before any checkpoint is prepared;
- its declarations, in the notebook metadata under ``kit``::

    "kit": {"needs": [{"checkpoint": "lenet-fashion", "data": "IMAGES"}],
            "exercises": "kit.exercises.pruning",
            "benchmark": "benchmarks/bench_pruning.py",
            "explorer": {"cell": "ch02-explorer", "slider": ".kit-amount-slider", ...}}

``needs``: the checkpoints it loads. Each option names the chapter parameter that holds its value (here
``data=IMAGES``); ``quick`` follows ``QUICK``, unless the need says ``"mode": "full"`` (the chapter loads the
full checkpoint in every mode). The book prepares these before it executes the chapter, which then only loads.
``exercises``: the module of its exercise checks. ``benchmark``: the script that measures its figures
(optional). ``explorer``: what the browser test moves (optional; see tests/browser).
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kit.errors import KitError
from kit.parameters import RULE_MAKERS, ParameterError, Rule, refusal, unknown_name_message

DECLARATION_KEYS = ("needs", "exercises", "benchmark", "explorer")


class ChapterDeclarationError(KitError, ValueError):
    """A chapter's metadata or parameter rules cannot be read; the message names the chapter and the fix."""


@dataclass(frozen=True)
class Need:
    """One checkpoint with the options it is made with (data=..., base=...); quick is chosen by the caller,
    unless `full` says the chapter always loads the full checkpoint (e.g. a teacher that must be good)."""

    checkpoint: str
    options: tuple[tuple[str, Any], ...] = ()
    full: bool = False

    def __post_init__(self) -> None:
        # The same checkpoint whatever order the metadata lists its options in.
        object.__setattr__(self, "options", tuple(sorted(self.options)))

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.options)

    def __str__(self) -> str:
        settings = ", ".join([f"{k}={v}" for k, v in self.options] + (["full in every mode"] if self.full else []))
        return f"{self.checkpoint} ({settings})" if settings else self.checkpoint


@dataclass(frozen=True)
class Chapter:
    """A chapter notebook as the book and the tests see it, read without executing it."""

    path: Path
    title: str
    defaults: dict[str, Any]
    rules: dict[str, Rule]
    declared: dict[str, Any]

    @property
    def number(self) -> str:
        """The two-digit prefix of its file name ("02")."""
        return self.path.name[:2]

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def exercises(self) -> str | None:
        """The module holding its exercise checks (e.g. "kit.exercises.pruning"), or None."""
        return self.declared.get("exercises")

    @property
    def benchmark(self) -> str | None:
        """The benchmark script that measures its figures, relative to the checkout, or None."""
        return self.declared.get("benchmark")

    @property
    def explorer(self) -> dict[str, Any] | None:
        """What the browser test opens and moves: the explorer's cell id, slider, status line and texts."""
        return self.declared.get("explorer")


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


@cache
def _read(path: Path, mtime_ns: int) -> Chapter:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ChapterDeclarationError(f"{path.name} is not a readable notebook: {error}") from None
    cells = notebook.get("cells", [])
    declared = notebook.get("metadata", {}).get("kit", {})
    unknown = sorted(set(declared) - set(DECLARATION_KEYS))
    if unknown:
        raise ChapterDeclarationError(f"{path.name}: metadata kit has unknown key(s) {', '.join(unknown)}; "
                                      f"the keys are {', '.join(DECLARATION_KEYS)}")
    title = next((line.lstrip("# ").strip() for c in cells if c.get("cell_type") == "markdown"
                  for line in _source(c).splitlines() if line.startswith("# ")), path.stem)
    code = [c for c in cells if c.get("cell_type") == "code"]
    parameters = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    defaults = _assignments(path, _source(parameters[0])) if parameters else {}
    rules = {}
    for cell in code:
        found = _rules_in(path, _source(cell))
        if found is not None:
            rules = found
            break
    return Chapter(path, title, defaults, rules, declared)


def read_chapter(path: Path) -> Chapter:
    """The chapter at `path`, read once per version of the file (raises ChapterDeclarationError)."""
    path = Path(path).resolve()
    return _read(path, path.stat().st_mtime_ns)


def _assignments(path: Path, source: str) -> dict[str, Any]:
    """NAME = literal lines of a parameters cell (a value that is not a literal is kept as its source text)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ChapterDeclarationError(f"{path.name}: its parameters cell does not parse ({error})") from None
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                values[node.targets[0].id] = ast.get_source_segment(source, node.value)
    return values


def _is_check_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return name == "check_parameters"


def _rules_in(path: Path, source: str) -> dict[str, Rule] | None:
    """The rules of the first `check_parameters(globals(), NAME=rule(...))` call in `source`, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    call = next((node for node in ast.walk(tree) if _is_check_call(node)), None)
    if call is None:
        return None
    rules = {}
    for keyword in call.keywords:
        value = keyword.value
        maker = value.func.id if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) else None
        if keyword.arg is None or maker not in RULE_MAKERS:
            raise ChapterDeclarationError(
                f"{path.name}: check_parameters takes NAME=rule(...) with a rule of kit.parameters "
                f"({', '.join(RULE_MAKERS)}); found {ast.get_source_segment(source, value) or ast.dump(value)}"
            )
        try:
            args = [ast.literal_eval(a) for a in value.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in value.keywords}
        except ValueError:
            raise ChapterDeclarationError(
                f"{path.name}: the rule of {keyword.arg} must be written with literal values (the book reads it "
                f"without running the chapter): {ast.get_source_segment(source, value)}"
            ) from None
        rules[keyword.arg] = RULE_MAKERS[maker](*args, **kwargs)
    return rules


def parameter_defaults(chapter: Path) -> dict[str, Any]:
    """The names and default values of the chapter's `parameters` cell."""
    return dict(read_chapter(chapter).defaults)


def parameter_rules(chapter: Path) -> dict[str, Rule]:
    """The rule of each parameter, as the chapter's `check_parameters` call states it."""
    return dict(read_chapter(chapter).rules)


def parse_assignment(text: str, *, flag: str = "--param", example: str = "SEED=7") -> tuple[str, Any]:
    """'NAME=VALUE' -> (NAME, value): a Python literal when VALUE is one (0.5, True, 'x'), else the string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ParameterError(f"{flag} takes NAME=VALUE (e.g. {example}), got {text!r}")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError):
        value = raw.strip()
    return name, value


def assign_parameters(chapters: list[Path], given: dict[str, Any]) -> dict[Path, dict[str, Any]]:
    """Give each chapter the parameters its parameters cell defines, each checked against the chapter's rule.

    Raises ParameterError for a name no selected chapter has, or a value a chapter's rule refuses: before any
    checkpoint is prepared or any chapter runs.
    """
    defaults = {chapter: parameter_defaults(chapter) for chapter in chapters}
    known = sorted({name for names in defaults.values() for name in names})
    for name in given:
        if not any(name in names for names in defaults.values()):
            raise ParameterError(unknown_name_message(name, known).replace("this chapter's", "these chapters'"))
    assigned = {chapter: {k: v for k, v in given.items() if k in defaults[chapter]} for chapter in chapters}
    for chapter, values in assigned.items():
        rules = parameter_rules(chapter)
        for name, value in values.items():
            if name in rules and not rules[name].accepts(value):
                raise ParameterError(f"{refusal(name, value, rules[name])} ({chapter.name})")
    return assigned


def declared_needs(chapter: Path) -> list[dict[str, str]]:
    """The chapter's `kit.needs` metadata (checked against the recipes when they are prepared)."""
    needs = read_chapter(chapter).declared.get("needs", [])
    for need in needs:
        if not isinstance(need, dict) or not isinstance(need.get("checkpoint"), str):
            raise ChapterDeclarationError(f"{chapter.name}: each entry of metadata kit.needs names a checkpoint, "
                                          f"got {need!r}")
    return needs


def needs(chapter: Path, parameters: dict[str, Any] | None = None) -> list[Need]:
    """The checkpoints the chapter loads with these parameters (its defaults, overridden by `parameters`)."""
    values = {**parameter_defaults(chapter), **(parameters or {})}
    out = []
    for declared in declared_needs(chapter):
        options = []
        mode = declared.get("mode", "follows QUICK")
        if mode not in ("follows QUICK", "full"):
            raise ChapterDeclarationError(
                f"{chapter.name}: metadata kit.needs gives mode {mode!r}; use \"full\" or leave it out")
        for option, parameter in declared.items():
            if option in ("checkpoint", "mode"):
                continue
            if parameter not in values:
                raise ChapterDeclarationError(
                    f"{chapter.name}: metadata kit.needs refers to {parameter}, which is not a parameter")
            options.append((option, values[parameter]))
        out.append(Need(declared["checkpoint"], tuple(options), full=mode == "full"))
    return out


def quick_value(parameters: dict[str, Any], quick: bool) -> bool:
    """QUICK as the chapter will see it: --param QUICK=... wins over --quick."""
    return bool(parameters.get("QUICK", quick))
