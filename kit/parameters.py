"""Checking a chapter's parameters before it spends any time: ranges, choices, and misspelled names.

Each chapter calls, in its first code cell after ``setup_notebook``::

    kit.check_parameters(globals(), QUICK=flag(), SEED=whole(0), TARGET_SPARSITY=number(0, 1, open=True))

A value outside its rule raises ParameterError naming the parameter and what it accepts. A name that
papermill injected (``papermill -p NAME VALUE``) but the chapter does not define is rejected too, with
the closest real name: papermill itself only logs it, and the chapter would run with its defaults.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kit.errors import KitError

PAPERMILL_HEADER = "# Parameters"  # first line of the cell papermill injects (its translators' comment)


class ParameterError(KitError, ValueError):
    """A chapter parameter is unknown or out of range; the message names it and what it accepts."""


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts: a test and its description in words."""

    accepts: Callable[[Any], bool]
    description: str


def flag() -> Rule:
    return Rule(lambda v: isinstance(v, bool), "True or False")


def whole(low: int, high: int | None = None) -> Rule:
    """A whole number in [low, high] (no upper bound when high is None)."""
    words = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
    return Rule(lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v
                and (high is None or v <= high), words)


def number(low: float, high: float, *, open: bool = False) -> Rule:
    """A real number in [low, high], or in (low, high) when open=True."""
    if open:
        return Rule(lambda v: _is_real(v) and low < v < high, f"a number strictly between {low} and {high}")
    return Rule(lambda v: _is_real(v) and low <= v <= high, f"a number from {low} to {high}")


def one_of(*choices: Any) -> Rule:
    return Rule(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices))


def text() -> Rule:
    return Rule(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string")


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def injected_names(history: list[str]) -> list[str]:
    """Names assigned in the cells papermill injected, read from the kernel's input history."""
    names: list[str] = []
    for source in history:
        if not isinstance(source, str) or source.splitlines()[:1] != [PAPERMILL_HEADER]:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


def unknown_name_message(name: str, known: list[str]) -> str:
    """The error for a parameter a chapter does not have, with the closest real name."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5) or [
        k for k in known if k.lower() == name.lower()
    ]
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"unknown parameter {name}: this chapter's parameters are {', '.join(known)}.{hint}"


def check_parameters(namespace: dict[str, Any], **rules: Rule) -> None:
    """Raise ParameterError for an injected name with no rule, or a value its rule does not accept."""
    history = namespace.get("_ih") or namespace.get("In") or []
    for name in injected_names(list(history)):
        if name not in rules:
            raise ParameterError(unknown_name_message(name, list(rules)))
    for name, rule in rules.items():
        if name not in namespace:
            raise ParameterError(f"parameter {name} is not defined: run the parameters cell first")
        value = namespace[name]
        if not rule.accepts(value):
            raise ParameterError(f"{name} = {value!r} is not allowed: {name} must be {rule.description}.")
