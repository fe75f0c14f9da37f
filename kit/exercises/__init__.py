"""Self-checks for the chapters' exercises: ``check(name, answer)`` prints a verdict and a hint.

Each chapter registers its checks in its own module of this package (the chapter names it in its metadata,
``kit.exercises``); every module here is found and imported on first use, so no list is kept by hand. A check
raises ``NotYet(hint)`` when the answer is wrong, and returns normally (optionally with a message) when it is
right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from kit.errors import KitError

Checker = Callable[[Any], str | None]
_REGISTRY: dict[str, Checker] = {}
_EXAMPLES: dict[str, Examples] = {}


class NotYet(Exception):
    """Raised by a checker when the answer is not right yet; the message is the hint."""


@dataclass(frozen=True)
class Examples:
    """Answers the test suite runs through a check: each `right` one must pass, each `wrong` one (answer, words)
    must be "not yet" with `words` in its hint. Declared beside the check, so a new chapter's checks need no
    test file of their own (tests/unit/test_exercise_examples.py runs them); a check whose cases need more
    set-up is tested in tests/unit instead."""

    right: tuple[Any, ...] = ()
    wrong: tuple[tuple[Any, str], ...] = ()


def exercise(name: str, examples: Examples | None = None) -> Callable[[Checker], Checker]:
    """Register a checker under an exercise name (decorator), with the examples that test it, if any."""

    def register(checker: Checker) -> Checker:
        if name in _REGISTRY:
            raise ValueError(f"exercise {name!r} is registered twice")
        _REGISTRY[name] = checker
        if examples is not None:
            _EXAMPLES[name] = examples
        return checker

    return register


def examples_of(name: str) -> Examples | None:
    """The examples declared with an exercise's check, or None."""
    load_checks()
    return _EXAMPLES.get(name)


@contextmanager
def forbidden(*apis: tuple[object, str], reason: str, learner: Any = None) -> Iterator[None]:
    """While the learner's code runs, make each (owner, attribute) raise NotYet(reason) instead of working.

    An exercise that asks you to write what an API does cannot be passed by calling that API. `learner` (a
    function, or a tuple of them) also has the names it sees as globals patched, so `from torch.nn.utils
    import clip_grad_norm_` at the top of a notebook does not get around the block; handing in one of the
    blocked functions itself is refused at once.
    """
    # A class may inherit the attribute: then the patch is removed afterwards rather than copied onto it.
    saved = [(owner, name, getattr(owner, name), name in vars(owner)) for owner, name in apis]
    originals = [original for _, _, original, _ in saved]
    functions = learner if isinstance(learner, tuple) else (learner,) if learner is not None else ()
    if any(fn is original for fn in functions for original in originals):
        raise NotYet(reason)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise NotYet(reason)

    rebound = []   # (namespace, key, original) for the learner's own global names of a blocked API
    for namespace in {id(g): g for fn in functions if isinstance(g := getattr(fn, "__globals__", None), dict)}.values():
        for key, value in list(namespace.items()):
            if any(value is original for original in originals):
                rebound.append((namespace, key, value))
    try:
        for owner, name, _, _ in saved:
            setattr(owner, name, refuse)
        for namespace, key, _ in rebound:
            namespace[key] = refuse
        yield
    finally:
        for namespace, key, original in rebound:
            namespace[key] = original
        for owner, name, original, own in reversed(saved):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)


# Modules of this package that hold no checks of a chapter.
NOT_CHECKS = frozenset({"answers"})


def check_modules() -> list[str]:
    """The modules holding chapters' checks: every module of this package (a new chapter's is found here)."""
    import pkgutil

    return [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.name not in NOT_CHECKS]


def load_checks() -> None:
    """Import every chapter's check module; each registers its checks on import (once)."""
    import importlib

    for module in check_modules():
        importlib.import_module(module)


def available() -> list[str]:
    """Names of every registered exercise."""
    load_checks()
    return sorted(_REGISTRY)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one self-check: status is "correct", "not yet", "not attempted" or "not checked" (the check
    itself could not run, e.g. its data is missing: nothing is said about the answer)."""

    name: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __str__(self) -> str:
        mark = {"correct": "[ok]", "not yet": "[x]", "not attempted": "[ ]", "not checked": "[!]"}[self.status]
        return f"{mark} {self.name}: {self.status}. {self.message}".rstrip()


def evaluate(name: str, answer: Any) -> Verdict:
    """Run the check for one exercise and return its verdict (nothing printed)."""
    load_checks()
    if name not in _REGISTRY:
        raise KeyError(f"no exercise called {name!r}; the exercises are: {', '.join(available())}")
    # An answer may carry context after it, as a tuple (answer, model, data, ...): the first item decides.
    if answer is Ellipsis or answer is None or (isinstance(answer, tuple) and answer and answer[0] is Ellipsis):
        return Verdict(name, "not attempted", "Replace the ... with your answer and run the cell again.")
    try:
        message = _REGISTRY[name](answer)
    except NotImplementedError:
        return Verdict(name, "not attempted", "Replace `raise NotImplementedError` with your code.")
    except NotYet as hint:
        return Verdict(name, "not yet", f"Hint: {hint}")
    except KitError as error:   # the kit could not set the check up (missing data, a checkpoint): not the answer
        return Verdict(name, "not checked", f"The check itself could not run, so your answer was not judged: "
                                            f"{type(error).__name__}: {error}")
    except Exception as error:  # the learner's code failed inside the check
        return Verdict(name, "not yet", f"Your answer raised {type(error).__name__}: {error}")
    return Verdict(name, "correct", message or "")


def check(name: str, answer: Any) -> None:
    """Check an answer and print a clear verdict, with a hint when it is not right yet."""
    print(evaluate(name, answer))
