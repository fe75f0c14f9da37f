"""Where training time goes: seconds per phase of a step (data, forward, backward, optimizer, step hook,
checkpoint writes, bookkeeping), summed over every training loop of this process since the last `reset()`,
and over the loops of worker processes that hand their sums in (`add`), so a recipe that trains many models
(chapter 8's grid) is covered whole. Both loops mark their phases; the checkpoint store resets the sums before a
recipe trains and writes them into its manifest."""

from __future__ import annotations

import time

PHASES = ("data", "forward", "backward", "optimizer", "step hook", "checkpoint", "bookkeeping")
_totals: dict[str, float] = {}
_processes = [1]   # how many processes' loops the sums cover (worker processes add theirs with `add`)


def _check(phase: str) -> None:
    if phase not in PHASES:
        raise ValueError(f"unknown training phase {phase!r}; the phases are {', '.join(PHASES)}")


class PhaseClock:
    """`mark(phase)` adds the time since the previous mark (or since the clock was made) to that phase."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        _check(phase)
        now = time.perf_counter()
        _totals[phase] = _totals.get(phase, 0.0) + now - self._last
        self._last = now


def reset() -> None:
    """Start the sums again (the checkpoint store calls this before a recipe trains)."""
    _totals.clear()
    _processes[0] = 1


def add(seconds: dict[str, float], processes: int) -> None:
    """Add the phase sums another process measured (a worker training part of a recipe); `processes` is how many
    processes trained at once, so the sums are worker-seconds and may exceed the wall time that many times."""
    for phase, value in seconds.items():
        _check(phase)
        _totals[phase] = _totals.get(phase, 0.0) + float(value)
    _processes[0] = max(_processes[0], int(processes))


def processes() -> int:
    """How many processes trained at once since the last reset (1 unless workers added their sums)."""
    return _processes[0]


def totals() -> dict[str, float]:
    """Seconds per phase since the last reset, in PHASES order, rounded to 0.01 s (phases never marked left out)."""
    return {phase: round(_totals[phase], 2) for phase in PHASES if phase in _totals}
