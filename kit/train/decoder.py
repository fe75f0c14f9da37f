"""Training and evaluating the decoder-only language model (chapter 9) on a word-id stream.

The stream is cut into non-overlapping windows of `context` + 1 tokens; each step draws a batch of windows (a
seeded reshuffle per epoch, resumable) and predicts every next token. Evaluation runs the same windows in order
and averages the cross-entropy of every predicted token, so every model compared on a slice sees the same tokens.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from kit.train.batches import EpochSampler
from kit.train.loop import History, train_steps
from kit.train.precision import FP32
from kit.train.resume import ResumeFile


def windows(ids: torch.Tensor, context: int) -> torch.Tensor:
    """Non-overlapping (context + 1)-token windows of a 1-D id stream: (windows, context + 1)."""
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D stream, got shape {tuple(ids.shape)}")
    count = (ids.numel() - 1) // context
    if count < 1:
        raise ValueError(f"{ids.numel()} tokens are too few for one window of {context} + 1")
    starts = torch.arange(count) * context
    return ids[starts[:, None] + torch.arange(context + 1)[None, :]]


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of (batch, tokens, vocab) logits against (batch, tokens) targets."""
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def train_decoder(model: nn.Module, ids: torch.Tensor, *, context: int, epochs: float | None = None,
                  steps: int | None = None, batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 0.1,
                  warmup: float = 0.05, clip: float = 1.0, seed: int = 0, desc: str | None = "training decoder",
                  resume: ResumeFile | None = None, precision: str = FP32) -> History:
    """AdamW with a linear warm-up then linear decay, for `epochs` over the windows (or a fixed `steps`);
    `precision` 'bf16' runs the forward pass under bf16 autocast (kit.train.precision)."""
    data = windows(ids, context)
    sampler = EpochSampler(len(data), batch_size, seed)
    total = steps if steps is not None else max(1, round((epochs or 1.0) * sampler.per_epoch))

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        batch = data[sampler()]
        return batch[:, :-1], batch[:, 1:]

    return train_steps(model, next_batch, steps=total, lr=lr, loss_fn=next_token_loss, clip=clip, desc=desc,
                       weight_decay=weight_decay, warmup=warmup, resume=resume, sampler=sampler,
                       precision=precision)


@torch.inference_mode()
def evaluate_decoder(model: nn.Module, ids: torch.Tensor, *, context: int, batch_size: int = 16,
                     max_tokens: int | None = None) -> float:
    """Mean cross-entropy (nats per token) over the non-overlapping windows of `ids` (the first max_tokens)."""
    if max_tokens is not None:
        ids = ids[: max_tokens + 1]
    data = windows(ids, context)
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        logits = model(batch[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += batch[:, 1:].numel()
    return total / count


def perplexity(loss: float) -> float:
    """exp(mean cross-entropy in nats)."""
    return math.exp(loss)
