"""Synthetic sequence tasks that need long memory (chapter 1's orthogonal-RNN experiment)."""

from __future__ import annotations

import torch


def remember_first_batch(
    batch_size: int, length: int, classes: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the 'remember the first symbol' task.

    Each sequence starts with a one-hot symbol out of `classes`, followed by length-1 blank
    steps (a separate blank channel). The target is the first symbol, read at the last step,
    so the gradient must travel back through every step. Chance level is ln(classes) nats.

    Returns inputs of shape (batch, length, classes + 1) and targets of shape (batch,).
    """
    if length < 2:
        raise ValueError(f"length must be at least 2 (one symbol, one blank), got {length}")
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    targets = torch.randint(0, classes, (batch_size,), generator=generator)
    inputs = torch.zeros(batch_size, length, classes + 1)
    inputs[torch.arange(batch_size), 0, targets] = 1.0
    inputs[:, 1:, classes] = 1.0
    return inputs, targets
