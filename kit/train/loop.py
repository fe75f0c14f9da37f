"""The generic training loop: a fixed number of Adam steps, one fresh batch per step."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kit.progress import step_bar
from kit.train.phases import PhaseClock
from kit.train.precision import FP32, as_fp32, autocast
from kit.train.resume import ResumeFile, Stateful, TrainingRun, deferred_interrupt, stop_after_save

Batch = tuple[torch.Tensor, torch.Tensor]


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


def warmup_then_decay(steps: int, warmup: float) -> Callable[[int], float]:
    """The learning-rate factor of step i: a linear ramp over the first `warmup` fraction of the steps,
    then a linear decay to 0 at the last step (for torch.optim.lr_scheduler.LambdaLR)."""
    if steps < 1 or not 0 <= warmup < 1:
        raise ValueError(f"need steps >= 1 and a warm-up fraction in [0, 1), got {steps} and {warmup}")
    ramp = max(1, int(warmup * steps))
    return lambda i: min((i + 1) / ramp, max(0.0, (steps - i) / max(1, steps - ramp)))


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
    forward: Callable[[nn.Module, Any], torch.Tensor] | None = None,
    weight_decay: float = 0.0,
    warmup: float | None = None,
    resume: ResumeFile | None = None,
    sampler: Stateful | None = None,
    precision: str = FP32,
) -> History:
    """Train with Adam for a fixed number of steps, one fresh batch per step.

    Records the loss and the total gradient norm (before clipping, computed by
    torch.nn.utils.clip_grad_norm_) of every step. `on_step(step, model)` runs after each update.
    `forward(model, inputs)` returns the logits (default: `model(inputs)`). weight_decay > 0 uses
    AdamW; `warmup` (a fraction of the steps) switches on a linear warm-up then linear decay of lr.
    With `resume`, the run continues from the state saved there (and saves it as it goes);
    `sampler` is whatever draws the batches, when it has a state to save (an EpochSampler).
    `precision` 'bf16' runs the forward pass under bf16 autocast (kit.train.precision); the loss is FP32.
    """
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    params = [p for p in model.parameters() if p.requires_grad]
    if weight_decay > 0:
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    else:
        optimizer = torch.optim.Adam(params, lr=lr)
    scheduler = None
    if warmup is not None:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_decay(steps, warmup))
    run_forward = forward if forward is not None else (lambda m, x: m(x))
    run = TrainingRun(resume, {"model": model, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler},
                      total=steps)
    run.restore()
    model.train()
    bar = step_bar(steps, initial=run.step, desc=desc)
    clock = PhaseClock()
    with deferred_interrupt() as interrupted:
        while run.step < steps:
            step = run.step
            inputs, targets = next_batch()
            clock.mark("data")
            with autocast(precision):
                outputs = run_forward(model, inputs)
            loss = loss_fn(as_fp32(outputs), targets)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss became {loss.item()} at step {step}: lower the learning rate (lr={lr}) or pass clip=1.0"
                )
            clock.mark("forward")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clock.mark("backward")
            max_norm = clip if clip is not None else math.inf
            norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            clock.mark("optimizer")
            run.record(loss.item(), float(norm))
            if on_step is not None:
                on_step(step, model)
                clock.mark("step hook")
            bar.update(1)
            bar.set_postfix_str(f"loss {run.losses[-1]:.3f}", refresh=False)
            if interrupted.is_set():
                bar.close()
                stop_after_save(run)
            clock.mark("bookkeeping")
            run.save_if_due()
            clock.mark("checkpoint")
    bar.close()
    model.eval()
    return History(run.losses, run.grad_norms, run.seconds)
