"""Training loops with progress bars; chapters call these instead of re-typing the boilerplate."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import torch
from torch import nn
from torch.nn import functional as F

T = TypeVar("T")
Batch = tuple[torch.Tensor, torch.Tensor]

# KIT_PROGRESS=auto (widgets in Jupyter, text elsewhere) | text (always text) | off
PROGRESS_ENV_VAR = "KIT_PROGRESS"


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str | None = None) -> Iterator[T]:
    """Wrap an iterable in a tqdm progress bar, as $KIT_PROGRESS asks."""
    mode = os.environ.get(PROGRESS_ENV_VAR, "auto")
    if mode == "off":
        return iter(iterable)
    if mode == "text":
        from tqdm import tqdm
    else:
        from tqdm.auto import tqdm
    return iter(tqdm(iterable, total=total, desc=desc, leave=False, mininterval=0.5))


@dataclass
class History:
    """What happened during training, one entry per step."""

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def final_loss(self, last: int = 20) -> float:
        """Mean loss over the last `last` steps (less noisy than the very last one)."""
        tail = self.losses[-last:]
        return sum(tail) / len(tail)


def train_steps(
    model: nn.Module,
    next_batch: Callable[[], Batch],
    *,
    steps: int,
    lr: float = 1e-3,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = F.cross_entropy,
    clip: float | None = None,
    on_step: Callable[[int, nn.Module], None] | None = None,
    desc: str | None = None,
) -> History:
    """Train with Adam for a fixed number of steps, one fresh batch per step.

    Records the loss and the total gradient norm (before clipping, computed by
    torch.nn.utils.clip_grad_norm_) of every step. `on_step(step, model)` runs after each update.
    """
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    model.train()
    start = time.perf_counter()
    for step in progress(range(steps), total=steps, desc=desc):
        inputs, targets = next_batch()
        loss = loss_fn(model(inputs), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss.item()} at step {step}: lower the learning rate (lr={lr}) or pass clip=1.0"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        max_norm = clip if clip is not None else math.inf
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        optimizer.step()
        history.losses.append(loss.item())
        history.grad_norms.append(float(norm))
        if on_step is not None:
            on_step(step, model)
    history.seconds = time.perf_counter() - start
    model.eval()
    return history
