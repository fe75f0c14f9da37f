"""The shape of a learner's answer, checked the same way by every exercise: a function, or a tuple of items.

A wrong shape raises NotYet with the hint the check passes, so the learner reads what to hand in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kit.exercises import NotYet


def expect_function(answer: Any, signature: str) -> None:
    """NotYet("answer with your function <signature>.") unless `answer` is callable."""
    if not callable(answer):
        raise NotYet(f"answer with your function {signature}.")


def unpack(answer: Any, count: int, hint: str, *, each: Callable[[Any], Any] | None = None) -> tuple[Any, ...]:
    """The `count` items of `answer` (each passed through `each` when given); NotYet(hint) for any other shape."""
    try:
        items = tuple(answer) if each is None else tuple(each(item) for item in answer)
    except (TypeError, ValueError):
        raise NotYet(hint) from None
    if len(items) != count:
        raise NotYet(hint)
    return items
