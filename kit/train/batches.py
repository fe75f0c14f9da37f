"""Shuffled mini-batches drawn from in-memory tensors, reproducibly."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch


def epoch_batches(size: int, batch_size: int, seed: int) -> tuple[int, Callable[[], torch.Tensor]]:
    """(batches per epoch, next_indices): each call returns the next batch of a seeded reshuffle per epoch."""
    if size < 1 or batch_size < 1:
        raise ValueError(f"need at least one example and a positive batch size, got {size} and {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    per_epoch = math.ceil(size / batch_size)
    state = {"order": torch.randperm(size, generator=generator), "i": 0}

    def next_indices() -> torch.Tensor:
        if state["i"] == per_epoch:
            state["order"], state["i"] = torch.randperm(size, generator=generator), 0
        start = state["i"] * batch_size
        state["i"] += 1
        return state["order"][start : start + batch_size]

    return per_epoch, next_indices


def in_chunks(size: int, batch_size: int) -> Sequence[slice]:
    """Consecutive slices covering range(size), for evaluation."""
    return [slice(i, min(i + batch_size, size)) for i in range(0, size, batch_size)]
