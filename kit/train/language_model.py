"""Word language-model loops (as in PyTorch's word_language_model example): truncated BPTT over id streams."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kit.data.corpus import batchify, get_batch
from kit.models.lstm_lm import repackage_hidden
from kit.progress import step_bar
from kit.train.loop import History
from kit.train.phases import PhaseClock
from kit.train.precision import FP32, autocast
from kit.train.resume import ResumeFile, TrainingRun, deferred_interrupt, stop_after_save


def train_language_model(
    model: nn.Module,
    train_ids: torch.Tensor,
    *,
    epochs: float = 1.0,
    batch_size: int = 32,
    bptt: int = 35,
    lr: float = 2e-3,
    clip: float = 0.25,
    desc: str | None = "training LM",
    resume: ResumeFile | None = None,
    precision: str = FP32,
) -> History:
    """Train on a 1-D id stream with Adam, carrying the hidden state across batches (detached).

    `epochs` may be fractional; gradients are clipped with clip_grad_norm_ (0.25, as in the PyTorch
    word_language_model example); `precision` 'bf16' runs the forward pass under bf16 autocast (except what the
    model keeps in FP32: `LSTMModel` keeps its recurrence FP32). With `resume`, an interrupted run continues from
    its saved state (the carried hidden state included), so it ends with the weights an uninterrupted run reaches.
    """
    data = batchify(train_ids, batch_size)
    starts = list(range(0, data.size(0) - 1, bptt))
    total = max(1, round(epochs * len(starts)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    run = TrainingRun(resume, {"model": model, "optimizer": optimizer}, total=total)
    model.train()
    hidden = model.init_hidden(batch_size)
    if run.restore():
        hidden = tuple(run.extra["hidden"])
    bar = step_bar(total, initial=run.step, desc=desc)
    clock = PhaseClock()
    with deferred_interrupt() as interrupted:
        while run.step < total:
            step = run.step
            i = starts[step % len(starts)]
            if i == 0:
                hidden = model.init_hidden(batch_size)
            inputs, targets = get_batch(data, i, bptt)
            hidden = repackage_hidden(hidden)
            clock.mark("data")
            with autocast(precision):
                output, hidden = model(inputs, hidden)
            loss = F.cross_entropy(output.view(-1, output.size(-1)).float(), targets)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {step}: lower the learning rate (lr={lr})")
            clock.mark("forward")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            clock.mark("backward")
            norm = float(nn.utils.clip_grad_norm_(model.parameters(), clip))
            optimizer.step()
            clock.mark("optimizer")
            run.record(loss.item(), norm)
            bar.update(1)
            bar.set_postfix_str(f"loss {run.losses[-1]:.3f}", refresh=False)
            carried = {"hidden": repackage_hidden(hidden)}
            if interrupted.is_set():
                bar.close()
                stop_after_save(run, carried)
            clock.mark("bookkeeping")
            run.save_if_due(carried)
            clock.mark("checkpoint")
    bar.close()
    model.eval()
    return History(run.losses, run.grad_norms, run.seconds)


@torch.inference_mode()
def evaluate_language_model(
    model: nn.Module, ids: torch.Tensor, *, batch_size: int = 10, bptt: int = 35, max_tokens: int | None = None
) -> float:
    """Mean cross-entropy (nats per token) over a 1-D id stream, as `evaluate` in PyTorch's word_language_model example.

    max_tokens evaluates only the first tokens (a fixed slice: same for every model compared).
    """
    if max_tokens is not None:
        ids = ids[:max_tokens]
    data = batchify(ids, batch_size)
    model.eval()
    hidden = model.init_hidden(batch_size)
    total, count = 0.0, 0
    for i in range(0, data.size(0) - 1, bptt):
        inputs, targets = get_batch(data, i, bptt)
        output, hidden = model(inputs, hidden)
        total += F.cross_entropy(output.view(-1, output.size(-1)), targets, reduction="sum").item()
        count += targets.numel()
    return total / count


def perplexity(loss: float) -> float:
    """exp(mean cross-entropy in nats)."""
    return math.exp(loss)
