"""Progress bars (tqdm) that respect $KIT_PROGRESS: auto (widgets in Jupyter), text, or off."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

PROGRESS_ENV_VAR = "KIT_PROGRESS"


def _tqdm_class() -> Any | None:
    mode = os.environ.get(PROGRESS_ENV_VAR, "auto")
    if mode == "off":
        return None
    if mode == "text":
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str | None = None) -> Iterator[T]:
    """Wrap an iterable in a tqdm progress bar, as $KIT_PROGRESS asks."""
    tqdm = _tqdm_class()
    if tqdm is None:
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc=desc, leave=False, mininterval=0.5))


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def byte_bar(total: int | None, *, initial: int = 0, desc: str | None = None) -> Any:
    """A manual progress bar counting bytes (update(n) after each chunk; close() at the end)."""
    tqdm = _tqdm_class()
    if tqdm is None:
        return _NoBar()
    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def step_bar(total: int, *, initial: int = 0, desc: str | None = None) -> Any:
    """A bar over training steps that stays on screen (steps, rate, elapsed, ETA; the loop adds the loss)."""
    tqdm = _tqdm_class()
    if tqdm is None:
        return _NoBar()
    in_notebook = "ipykernel" in sys.modules  # a finished bar would linger in the cell's output
    return tqdm(total=total, initial=initial, desc=desc, unit="step", mininterval=0.5, dynamic_ncols=True,
                leave=not in_notebook)
