"""Resumable training: the whole state of a training loop in one file, written atomically every minute.

A loop given a ``ResumeFile`` restores the state it finds (model, optimizer, scheduler, batch order,
random-number generator, step, loss curve, elapsed time) and saves it again at least every
``$KIT_RESUME_EVERY_S`` seconds (default 60). Resuming therefore reaches exactly the weights an
uninterrupted run reaches. Ctrl-C is deferred to the end of the current step, where the state is saved
before the interrupt goes on (a second Ctrl-C stops at once). The file is loaded with
``weights_only=True`` and is only used when it was written for the same configuration.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import torch

from kit.files import atomic_path

EVERY_ENV_VAR = "KIT_RESUME_EVERY_S"
DEFAULT_EVERY_S = 60.0


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


class ResumeFile:
    """Where one training run keeps its resumable state, tied to the run's configuration."""

    def __init__(self, path: Path, config: dict[str, Any], every_s: float | None = None) -> None:
        self.path = Path(path)
        self.key = json.dumps(config, sort_keys=True)
        self.every_s = float(os.environ.get(EVERY_ENV_VAR, DEFAULT_EVERY_S)) if every_s is None else every_s
        self._last_save = time.monotonic()

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None (no file, another configuration, or an unreadable file: said, then ignored)."""
        if not self.path.is_file():
            return None
        try:
            state = torch.load(self.path, weights_only=True)
        except Exception as error:  # a damaged file costs the progress it held, never the run
            print(f"ignoring the unreadable training state {self.path} ({type(error).__name__}): starting over")
            return None
        if not isinstance(state, dict) or state.get("key") != self.key:
            print(f"ignoring {self.path}: it was saved for another configuration; starting over")
            return None
        return state

    def due(self) -> bool:
        return time.monotonic() - self._last_save >= self.every_s

    def save(self, state: dict[str, Any]) -> None:
        """Write atomically: a temporary file in the same folder, then a rename."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            torch.save({**state, "key": self.key}, tmp)
        self._last_save = time.monotonic()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class TrainingRun:
    """The resumable bookkeeping a training loop shares: restore once, then save when due or interrupted."""

    def __init__(
        self,
        resume: ResumeFile | None,
        parts: dict[str, Stateful | None],
        total: int,
    ) -> None:
        self.resume = resume
        self.parts = {name: part for name, part in parts.items() if part is not None}
        self.total = total
        self.step = 0
        self.losses: list[float] = []
        self.grad_norms: list[float] = []
        self.extra: dict[str, Any] = {}
        self._seconds_before = 0.0
        self._start = time.perf_counter()

    def restore(self) -> bool:
        """Load the saved state into the parts; True when a run was resumed."""
        state = self.resume.load() if self.resume is not None else None
        if state is None:
            return False
        for name, part in self.parts.items():
            part.load_state_dict(state["parts"][name])
        torch.set_rng_state(state["rng"])
        self.step, self.losses, self.grad_norms = state["step"], list(state["losses"]), list(state["grad_norms"])
        self.extra = state.get("extra", {})
        self._seconds_before = state["seconds"]
        print(f"resuming from step {self.step:,} of {self.total:,} (saved in {self.resume.path})", flush=True)
        return True

    @property
    def seconds(self) -> float:
        return self._seconds_before + time.perf_counter() - self._start

    def record(self, loss: float, grad_norm: float) -> None:
        self.losses.append(loss)
        self.grad_norms.append(grad_norm)
        self.step += 1

    def save_if_due(self, extra: dict[str, Any] | None = None, *, now: bool = False) -> None:
        if self.resume is None or not (now or self.resume.due()):
            return
        self.resume.save({
            "step": self.step,
            "parts": {name: part.state_dict() for name, part in self.parts.items()},
            "rng": torch.get_rng_state(),
            "losses": self.losses,
            "grad_norms": self.grad_norms,
            "extra": extra or {},
            "seconds": self.seconds,
        })


@contextmanager
def deferred_interrupt() -> Iterator[threading.Event]:
    """Turn the first Ctrl-C into a flag the loop checks between steps (a second one interrupts at once).

    Outside the main thread (where signals cannot be handled), or where Ctrl-C is ignored (a worker process whose
    parent handles it), the flag is never set.
    """
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield flag
        return
    if previous is None:  # installed outside Python: fall back to Python's own KeyboardInterrupt
        previous = signal.default_int_handler

    def handler(signum: int, frame: Any) -> None:
        flag.set()
        signal.signal(signal.SIGINT, previous)
        print("\ninterrupt: saving the training state at the end of this step (Ctrl-C again to stop now)",
              flush=True)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def stop_after_save(run: TrainingRun, extra: dict[str, Any] | None = None) -> None:
    """Save the state now and raise KeyboardInterrupt with where to pick up."""
    run.save_if_due(extra, now=True)
    where = f"; run the same command again to resume from step {run.step:,}" if run.resume else ""
    raise KeyboardInterrupt(f"training interrupted at step {run.step:,} of {run.total:,}{where}")
