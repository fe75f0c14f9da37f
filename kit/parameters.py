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
    """What one parameter accepts: a test, its description in words, and values it must refuse.

    `refused` holds examples just outside the rule (a bound, the wrong type); the test suite checks that every
    chapter refuses each of them with this description, without starting a kernel.
    """

    accepts: Callable[[Any], bool]
    description: str
    refused: tuple[Any, ...] = ()


def flag() -> Rule:
    return Rule(lambda v: isinstance(v, bool), "True or False", refused=(1, "yes", None))


def whole(low: int, high: int | None = None) -> Rule:
    """A whole number in [low, high] (no upper bound when high is None)."""
    words = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"
    outside = (low - 1, low + 0.5, True) + (() if high is None else (high + 1,))
    return Rule(lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v
                and (high is None or v <= high), words, refused=outside)


def number(low: float, high: float, *, open: bool = False) -> Rule:
    """A real number in [low, high], or in (low, high) when open=True."""
    wrong_type = ("0.5", None, float("nan"))
    if open:
        return Rule(lambda v: _is_real(v) and low < v < high, f"a number strictly between {low} and {high}",
                    refused=(low, high, *wrong_type))
    return Rule(lambda v: _is_real(v) and low <= v <= high, f"a number from {low} to {high}",
                refused=(low - 1, high + 1, *wrong_type))


def one_of(*choices: Any) -> Rule:
    return Rule(lambda v: v in choices, "one of " + ", ".join(repr(c) for c in choices),
                refused=("none-of-these", None))


def text() -> Rule:
    return Rule(lambda v: isinstance(v, str) and v.strip() != "", "a non-empty string", refused=("", "  ", 3))


# The rule makers a chapter may use in its check_parameters call; kit.chapters reads them from the source.
RULE_MAKERS: dict[str, Callable[..., Rule]] = {"flag": flag, "whole": whole, "number": number, "one_of": one_of,
                                              "text": text}


def refusal(name: str, value: Any, rule: Rule) -> str:
    """The message for a value its rule does not accept: the parameter, the value and what it accepts."""
    return f"{name} = {value!r} is not allowed: {name} must be {rule.description}."


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
            raise ParameterError(refusal(name, value, rule))
