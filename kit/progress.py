"""Progress bars (tqdm) that respect $KIT_PROGRESS: auto (widgets in Jupyter), text, lines, or off.

In auto mode, when stderr is neither a terminal nor a notebook (a log file, a pipe, CI), a bar becomes a line of
text every ``LOG_INTERVAL`` seconds instead of carriage-return redraws a log would hold as one endless line;
``lines`` asks for that everywhere (worker processes that share a terminal use it: redraws would overwrite
each other).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

PROGRESS_ENV_VAR = "KIT_PROGRESS"
LOG_INTERVAL = 30.0   # seconds between the lines a bar writes to a log


class LogLines:
    """A stream for tqdm that turns each redraw into one line (and drops a redraw that repeats the last)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._last = ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").replace("\x1b[A", "").strip()
        if line and line != self._last:
            self.stream.write(line + "\n")
            self._last = line

    def flush(self) -> None:
        self.stream.flush()


def stderr_is_a_log() -> bool:
    """True when stderr is neither a terminal nor a notebook's (a log file, a pipe, CI)."""
    in_notebook = "ipykernel.zmqshell" in sys.modules   # what tqdm.auto checks too
    return not in_notebook and not getattr(sys.stderr, "isatty", lambda: False)()


def line_arguments() -> dict[str, Any]:
    """tqdm arguments for a bar written as lines of text: one line every LOG_INTERVAL seconds, never more often."""
    return {"file": LogLines(sys.stderr), "mininterval": LOG_INTERVAL, "maxinterval": LOG_INTERVAL, "ascii": True}


def log_arguments() -> dict[str, Any]:
    """Extra tqdm arguments when stderr is a log: its bars as lines (`line_arguments`)."""
    return line_arguments() if stderr_is_a_log() else {}


def _bar(**kwargs: Any) -> Any | None:
    """A tqdm bar made as $KIT_PROGRESS asks, or None when it is off."""
    mode = os.environ.get(PROGRESS_ENV_VAR, "auto")
    if mode == "off":
        return None
    if mode == "lines":
        from tqdm import tqdm

        return tqdm(**kwargs | line_arguments())
    if mode == "text":
        from tqdm import tqdm

        return tqdm(**kwargs)
    from tqdm.auto import tqdm

    return tqdm(**kwargs | log_arguments())


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str | None = None) -> Iterator[T]:
    """Wrap an iterable in a tqdm progress bar, as $KIT_PROGRESS asks."""
    bar = _bar(iterable=iterable, total=total, desc=desc, leave=False, mininterval=0.5)
    return iter(iterable) if bar is None else iter(bar)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def byte_bar(total: int | None, *, initial: int = 0, desc: str | None = None) -> Any:
    """A manual progress bar counting bytes (update(n) after each chunk; close() at the end)."""
    bar = _bar(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)
    return _NoBar() if bar is None else bar


def step_bar(total: int, *, initial: int = 0, desc: str | None = None) -> Any:
    """A bar over training steps that stays on screen (steps, rate, elapsed, ETA; the loop adds the loss)."""
    in_notebook = "ipykernel" in sys.modules  # a finished bar would linger in the cell's output
    bar = _bar(total=total, initial=initial, desc=desc, unit="step", mininterval=0.5, dynamic_ncols=True,
               leave=not in_notebook)
    return _NoBar() if bar is None else bar
