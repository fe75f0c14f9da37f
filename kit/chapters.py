"""What a chapter is, read without running it: its parameters and the checkpoints it needs.

A chapter declares its checkpoints once, in its notebook metadata::

    "kit": {"needs": [{"checkpoint": "lenet-fashion", "data": "IMAGES"}]}

Each option names the chapter parameter that holds its value (here ``data=IMAGES``); ``quick`` follows
``QUICK``, unless the need says ``"mode": "full"`` (the chapter loads the full checkpoint in every mode).
The book prepares these before it executes the chapter, which then only loads them.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

from kit.parameters import ParameterError, unknown_name_message
from kit.prepare import Need
from kit.recipes import RECIPES


def parameter_defaults(chapter: Path) -> dict[str, Any]:
    """The names and default values of the chapter's `parameters` cell (as papermill reads them)."""
    import papermill

    found = papermill.inspect_notebook(str(chapter))
    defaults = {}
    for name, info in found.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = info["default"]
    return defaults


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
    """Give each chapter the parameters its parameters cell defines; reject a name no selected chapter has."""
    defaults = {chapter: parameter_defaults(chapter) for chapter in chapters}
    known = sorted({name for names in defaults.values() for name in names})
    for name in given:
        if not any(name in names for names in defaults.values()):
            raise ParameterError(unknown_name_message(name, known).replace("this chapter's", "these chapters'"))
    return {chapter: {k: v for k, v in given.items() if k in defaults[chapter]} for chapter in chapters}


def declared_needs(chapter: Path) -> list[dict[str, str]]:
    """The chapter's `kit.needs` metadata, checked against the recipes (raises ValueError when malformed)."""
    notebook = nbformat.read(chapter, as_version=4)
    needs = notebook.metadata.get("kit", {}).get("needs", [])
    for need in needs:
        if need.get("checkpoint") not in RECIPES:
            raise ValueError(
                f"{chapter.name}: metadata kit.needs names an unknown checkpoint {need.get('checkpoint')!r}"
            )
    return needs


def needs(chapter: Path, parameters: dict[str, Any] | None = None) -> list[Need]:
    """The checkpoints the chapter loads with these parameters (its defaults, overridden by `parameters`)."""
    values = {**parameter_defaults(chapter), **(parameters or {})}
    out = []
    for declared in declared_needs(chapter):
        options = []
        mode = declared.get("mode", "follows QUICK")
        if mode not in ("follows QUICK", "full"):
            raise ValueError(f"{chapter.name}: metadata kit.needs gives mode {mode!r}; use \"full\" or leave it out")
        for option, parameter in declared.items():
            if option in ("checkpoint", "mode"):
                continue
            if parameter not in values:
                raise ValueError(f"{chapter.name}: metadata kit.needs refers to {parameter}, which is not a parameter")
            options.append((option, values[parameter]))
        out.append(Need(declared["checkpoint"], tuple(options), full=mode == "full"))
    return out


def quick_value(parameters: dict[str, Any], quick: bool) -> bool:
    """QUICK as the chapter will see it: --param QUICK=... wins over --quick."""
    return bool(parameters.get("QUICK", quick))
