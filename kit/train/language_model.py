"""The seed's language-model loops: truncated backprop through time over batchified id streams."""

from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.nn import functional as F

from kit.data.corpus import batchify, get_batch
from kit.models.lstm_lm import repackage_hidden
from kit.progress import progress
from kit.train.loop import History


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
) -> History:
    """Train on a 1-D id stream with Adam, carrying the hidden state across batches (detached).

    `epochs` may be fractional; gradients are clipped with clip_grad_norm_ (the seed's 0.25).
    """
    data = batchify(train_ids, batch_size)
    starts = list(range(0, data.size(0) - 1, bptt))
    total = max(1, round(epochs * len(starts)))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = History()
    model.train()
    hidden = model.init_hidden(batch_size)
    begin = time.perf_counter()
    for step in progress(range(total), total=total, desc=desc):
        i = starts[step % len(starts)]
        if i == 0:
            hidden = model.init_hidden(batch_size)
        inputs, targets = get_batch(data, i, bptt)
        hidden = repackage_hidden(hidden)
        output, hidden = model(inputs, hidden)
        loss = F.cross_entropy(output.view(-1, output.size(-1)), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {step}: lower the learning rate (lr={lr})")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        history.grad_norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), clip)))
        optimizer.step()
        history.losses.append(loss.item())
    history.seconds = time.perf_counter() - begin
    model.eval()
    return history


@torch.inference_mode()
def evaluate_language_model(
    model: nn.Module, ids: torch.Tensor, *, batch_size: int = 10, bptt: int = 35, max_tokens: int | None = None
) -> float:
    """Mean cross-entropy (nats per token) over a 1-D id stream, the seed's `evaluate`.

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
