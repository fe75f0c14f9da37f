"""How many channels each block of the shared CNN keeps: a sensitivity scan, then a search under a budget.

The scan prunes one block at a time to each keep ratio (the other blocks left whole), re-estimates the
BatchNorm statistics the removal shifted, and measures validation accuracy. The search assumes the drops of
different blocks add up, and picks, among every combination of the scanned ratios whose multiply-accumulates
fit the budget, the one with the smallest summed drop. Latency is measured afterwards: MACs are what the
search can count for thousands of candidate shapes, and chapter 8 shows where time and MACs disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from kit.channel_pruning import CRITERIA, slimmed
from kit.models.cnn import SmallCNN

Drops = dict[tuple[int, float], float]


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Re-estimate every BatchNorm's running mean and variance on `batches` (no gradient step); returns `model`.

    Removing channels changes what the next layer sees, so the statistics copied from the dense model are
    stale. Each BatchNorm restarts from reset_running_stats() with momentum=None (a plain cumulative average
    over the batches), then gets its momentum back; the model ends in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    batches = list(batches)
    if not norms:
        raise ValueError("this model has no BatchNorm layer to recalibrate")
    if not batches:
        raise ValueError("recalibration needs at least one batch of training images")
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    try:
        for batch in batches:
            model(batch)
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.eval()
    return model


def cnn_macs(widths: Sequence[int], classes: int = 10, *, in_channels: int = 1, size: int = 32) -> int:
    """Multiply-accumulates of one SmallCNN forward pass on one image (3x3 convolutions and the classifier).

    BatchNorm, ReLU and pooling are left out, as FlopCounterMode does; FLOPs = 2 x MACs.
    """
    macs, channels, side = 0, in_channels, size
    for index, width in enumerate(widths):
        macs += 9 * channels * width * side * side
        channels = width
        if index < len(widths) - 1:
            side //= 2
    return macs + channels * classes


def keep_counts(widths: Sequence[int], ratios: Sequence[float]) -> list[int]:
    """Channels kept per block for one keep ratio per block: round(width * ratio), at least 1."""
    if len(ratios) != len(widths):
        raise ValueError(f"one keep ratio per block: {len(widths)} blocks, got {len(ratios)} ratios")
    for ratio in ratios:
        if not 0 < ratio <= 1:
            raise ValueError(f"keep ratios are fractions in (0, 1], got {ratio!r}")
    return [max(1, round(w * r)) for w, r in zip(widths, ratios, strict=True)]


def check_ratios(ratios: Sequence[float]) -> list[float]:
    """Scanned keep ratios: fractions in (0, 1), each once, largest first."""
    ratios = [float(r) for r in ratios]
    if not ratios or any(not 0 < r < 1 for r in ratios) or len(set(ratios)) != len(ratios):
        raise ValueError(f"give distinct keep ratios between 0 and 1 (1 = the whole block is always a choice), "
                         f"got {ratios!r}")
    return sorted(ratios, reverse=True)


def sensitivity_scan(model: SmallCNN, ratios: Sequence[float], images: torch.Tensor, labels: torch.Tensor,
                     calibration: Sequence[torch.Tensor], *, criterion: str = "bn-scale",
                     correct: dict[tuple[int, float], torch.Tensor] | None = None) -> Drops:
    """{(block, ratio): accuracy drop} on (images, labels) when only that block keeps `ratio` of its channels.

    Each slimmed copy has its BatchNorm statistics re-estimated on `calibration` before it is measured. When
    `correct` is a dict, it receives each copy's per-image correctness (bool), for paired comparisons.
    """
    from kit.train.classify import predict

    ratios = check_ratios(ratios)
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")
    model.eval()
    base = (predict(model, images) == labels).float().mean().item()
    drops: Drops = {}
    for block, width in enumerate(model.widths):
        for ratio in ratios:
            keep = list(model.widths)
            keep[block] = max(1, round(width * ratio))
            pruned = recalibrate_batchnorm(slimmed(model, keep, criterion), calibration)
            right = predict(pruned, images) == labels
            drops[block, ratio] = base - right.float().mean().item()
            if correct is not None:
                correct[block, ratio] = right
    return drops


def allocate(widths: Sequence[int], drops: Drops, budget: float, classes: int = 10) -> list[float]:
    """The keep ratio per block, among the scanned ones (and 1), with the smallest summed drop whose MACs are
    at most `budget` times the dense model's. Ties go to the larger model."""
    if not 0 < budget <= 1:
        raise ValueError(f"budget is a fraction of the dense model's MACs in (0, 1], got {budget!r}")
    blocks = range(len(widths))
    choices = [[1.0] + sorted({r for (b, r) in drops if b == block}, reverse=True) for block in blocks]
    if any(len(c) == 1 for c in choices):
        missing = [b for b in blocks if len(choices[b]) == 1]
        raise ValueError(f"the scan has no ratio for block(s) {missing}: scan every block first")
    dense = cnn_macs(widths, classes)
    best: tuple[float, int, tuple[float, ...]] | None = None
    for ratios in itertools.product(*choices):
        macs = cnn_macs(keep_counts(widths, ratios), classes)
        if macs > budget * dense:
            continue
        cost = sum(drops[b, r] for b, r in enumerate(ratios) if r < 1)
        if best is None or (cost, -macs) < (best[0], -best[1]):
            best = (cost, macs, ratios)
    if best is None:
        smallest = cnn_macs(keep_counts(widths, [c[-1] for c in choices]), classes) / dense
        raise ValueError(f"no scanned combination fits {budget:.0%} of the dense MACs; the smallest reaches "
                         f"{smallest:.1%}: raise the budget or scan smaller ratios")
    return list(best[2])
