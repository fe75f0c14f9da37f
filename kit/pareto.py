"""Accuracy against time: which measured variants are on the Pareto front, and which to use for a budget."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Variant:
    """One measured way of compressing: how, how accurate, how fast (at one batch size) and how large.

    When the way was trained with several seeds, the accuracies are means over them and `valid_worst` is the
    validation accuracy of its worst seed (a single model: the same number). `valid_drop_se` is the standard error
    of its validation accuracy drop from the reference model, paired image by image (`paired_drop_se`).
    `time_ratio` is its 1-thread latency at `batch` images per call over the reference's (chapter 8: the dense
    model's fastest FP32 form), measured side by side; an FP32 variant is timed in its own fastest form.
    """

    name: str
    budget: str        # "dense" or the MAC budget it was pruned to, e.g. "50% MACs"
    recovery: str      # "none", "labels", "distill", "Scratch-E", "Scratch-B"
    precision: str     # "fp32", "int8 PTQ", "int8 QAT"
    valid_accuracy: float
    test_accuracy: float
    time_ratio: float  # 1-thread latency / the reference's at `batch`, measured side by side
    size_bytes: int
    macs: int
    valid_worst: float | None = None
    seeds: int = 1
    valid_drop_se: float = 0.0
    batch: int = 64

    @property
    def worst_valid_accuracy(self) -> float:
        return self.valid_accuracy if self.valid_worst is None else self.valid_worst


def dominates(a: Variant, b: Variant) -> bool:
    """a is at least as fast and as accurate (validation) as b, and strictly better in one of the two."""
    return (a.time_ratio <= b.time_ratio and a.valid_accuracy >= b.valid_accuracy
            and (a.time_ratio < b.time_ratio or a.valid_accuracy > b.valid_accuracy))


def pareto_front(variants: Sequence[Variant]) -> list[Variant]:
    """The variants no other variant dominates, fastest first."""
    front = [v for v in variants if not any(dominates(o, v) for o in variants if o is not v)]
    return sorted(front, key=lambda v: (v.time_ratio, -v.valid_accuracy))


def front_margin(variant: Variant, variants: Sequence[Variant]) -> float:
    """Validation accuracy above the best other variant that is at least as fast: positive on the front (what it
    could lose and stay there), negative off it (what it would have to gain), 0 when level with such a rival;
    inf when no other variant is as fast."""
    rivals = [o.valid_accuracy for o in variants if o is not variant and o.time_ratio <= variant.time_ratio]
    return variant.valid_accuracy - max(rivals) if rivals else float("inf")


def paired_drop_se(reference_correct: torch.Tensor, correct: Sequence[torch.Tensor]) -> float:
    """Standard error of (reference accuracy - accuracy) over the same images: the per-image differences
    between the reference's correctness (0/1, or averaged over its seeds) and the variant's (averaged over its
    seeds), std / sqrt(n). It covers the sampling of images only, not the spread between seeds."""
    mine = torch.stack([c.float() for c in correct]).mean(0)
    differences = reference_correct.float() - mine
    if len(differences) < 2:
        raise ValueError("a standard error needs at least two images")
    return float(differences.std(unbiased=True) / len(differences) ** 0.5)


def fastest_within(variants: Sequence[Variant], reference: Variant, points: float) -> Variant:
    """The fastest variant that stays within `points` of `reference`'s validation accuracy (ties: the more
    accurate, then the smaller): every seed within the budget, and the mean drop within it even with one
    standard error added.

    Both guard against a choice that rests on luck: one good seed, or a validation set too small to tell a
    0.8-point drop from a 1.5-point one. The reference itself always qualifies, so there is always an answer.
    """
    if points < 0:
        raise ValueError(f"an accuracy budget is a number of points >= 0, got {points!r}")
    budget = points / 100 + 1e-12
    allowed = [v for v in variants if v is reference or (
        reference.valid_accuracy - v.worst_valid_accuracy <= budget
        and reference.valid_accuracy - v.valid_accuracy + v.valid_drop_se <= budget)]
    return min(allowed, key=lambda v: (v.time_ratio, -v.valid_accuracy, v.size_bytes))
