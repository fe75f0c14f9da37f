"""Shuffled mini-batches drawn from in-memory tensors, reproducibly."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


class EpochSampler:
    """Calls return the next batch of indices; each epoch is a fresh seeded shuffle. Its state can be saved."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size < 1 or batch_size < 1:
            raise ValueError(f"need at least one example and a positive batch size, got {size} and {batch_size}")
        self.size, self.batch_size = size, batch_size
        self.per_epoch = math.ceil(size / batch_size)
        self._generator = torch.Generator().manual_seed(seed)
        self._order = torch.randperm(size, generator=self._generator)
        self._i = 0

    def __call__(self) -> torch.Tensor:
        if self._i == self.per_epoch:
            self._order, self._i = torch.randperm(self.size, generator=self._generator), 0
        start = self._i * self.batch_size
        self._i += 1
        return self._order[start : start + self.batch_size]

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self._generator.get_state(), "order": self._order.clone(), "i": self._i}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._generator.set_state(state["generator"])
        self._order, self._i = state["order"].clone(), int(state["i"])


class LengthBucketSampler:
    """Like EpochSampler, but each batch holds examples of similar length, so little of it is padding.

    Each epoch is a seeded shuffle cut into pools of `pool` batches; each pool is sorted by length and cut
    into batches, and the epoch's batches are shuffled again (the usual bucketing of NLP batch samplers).
    Every example is still seen once per epoch. Its state can be saved.
    """

    def __init__(self, lengths: torch.Tensor, batch_size: int, seed: int, pool: int = 50) -> None:
        lengths = torch.as_tensor(lengths)
        if lengths.dim() != 1 or len(lengths) < 1 or batch_size < 1 or pool < 1:
            raise ValueError(f"need a 1-D tensor of lengths (one per example), a positive batch size and pool, "
                             f"got {tuple(lengths.shape)}, {batch_size} and {pool}")
        self.lengths, self.batch_size, self.pool = lengths, batch_size, pool
        self.per_epoch = math.ceil(len(lengths) / batch_size)
        self._generator = torch.Generator().manual_seed(seed)
        self._batches = self._epoch()
        self._i = 0

    def _epoch(self) -> list[torch.Tensor]:
        order = torch.randperm(len(self.lengths), generator=self._generator)
        batches: list[torch.Tensor] = []
        for pool in order.split(self.batch_size * self.pool):
            by_length = pool[self.lengths[pool].argsort(stable=True)]
            batches.extend(by_length.split(self.batch_size))
        shuffled = torch.randperm(len(batches), generator=self._generator)
        return [batches[int(i)] for i in shuffled]

    def __call__(self) -> torch.Tensor:
        if self._i == len(self._batches):
            self._batches, self._i = self._epoch(), 0
        self._i += 1
        return self._batches[self._i - 1]

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self._generator.get_state(), "batches": [b.clone() for b in self._batches],
                "i": self._i}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._generator.set_state(state["generator"])
        self._batches, self._i = [b.clone() for b in state["batches"]], int(state["i"])


def epoch_batches(size: int, batch_size: int, seed: int) -> tuple[int, EpochSampler]:
    """(batches per epoch, next_indices): each call returns the next batch of a seeded reshuffle per epoch."""
    sampler = EpochSampler(size, batch_size, seed)
    return sampler.per_epoch, sampler


def in_chunks(size: int, batch_size: int) -> Sequence[slice]:
    """Consecutive slices covering range(size), for evaluation."""
    return [slice(i, min(i + batch_size, size)) for i in range(0, size, batch_size)]
