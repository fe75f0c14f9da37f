"""Structured pruning of the shared CNN with physical removal: whole output channels leave the model.

`torch.nn.utils.prune.ln_structured` only zeroes channels behind a mask, so the dense convolution costs
the same time. Here a conv-bn-relu block keeps `k` of its output channels: the convolution's filters,
the BatchNorm's parameters and running statistics for those channels, and the matching input channels of
what comes next (the following convolution, or the classifier's columns) are copied into a narrower
`SmallCNN`. Which channels to keep is decided by an importance score per channel: the L1 norm of its
filter (Li et al., 2017, "Pruning Filters for Efficient ConvNets") or the magnitude of its BatchNorm scale
γ (Liu et al., 2017, "Learning Efficient Convolutional Networks through Network Slimming").
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from kit.models.cnn import SmallCNN

CRITERIA = ("l1", "bn-scale")


def blocks(model: SmallCNN) -> list[nn.Sequential]:
    """The conv-bn-relu blocks of a SmallCNN, in order."""
    return [layer for layer in model.features if isinstance(layer, nn.Sequential)]


def channel_importance(model: SmallCNN, block: int, criterion: str = "l1") -> torch.Tensor:
    """One score per output channel of conv block `block`: larger means more important."""
    found = blocks(model)
    if not 0 <= block < len(found):
        raise ValueError(f"this CNN has conv blocks 0 to {len(found) - 1}, not {block}")
    conv, bn = found[block][0], found[block][1]
    if criterion == "l1":
        return conv.weight.detach().abs().sum(dim=(1, 2, 3))
    if criterion == "bn-scale":
        return bn.weight.detach().abs()
    raise ValueError(f"unknown criterion {criterion!r}; choose one of {', '.join(CRITERIA)}")


def check_keep(model: SmallCNN, keep: Sequence[int]) -> list[int]:
    """`keep` gives the channels each block keeps: one whole number per block, from 1 to its width."""
    widths = list(model.widths)
    if not isinstance(keep, Sequence) or isinstance(keep, str) or len(keep) != len(widths):
        raise ValueError(f"keep needs one channel count per conv block ({len(widths)} blocks, widths {widths}), "
                         f"got {keep!r}")
    for index, (count, width) in enumerate(zip(keep, widths, strict=True)):
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= width:
            raise ValueError(f"block {index} has {width} channels: keep from 1 to {width} of them, got {count!r}")
    return [int(k) for k in keep]


def kept_channels(model: SmallCNN, keep: Sequence[int], criterion: str = "l1") -> list[torch.Tensor]:
    """The indices (ascending) of the channels each block keeps: its `keep[i]` most important ones."""
    counts = check_keep(model, keep)
    chosen = []
    for index, count in enumerate(counts):
        scores = channel_importance(model, index, criterion)
        top = torch.topk(scores, count, sorted=False).indices
        chosen.append(top.sort().values)
    return chosen


@torch.no_grad()
def slimmed(model: SmallCNN, keep: Sequence[int], criterion: str = "l1") -> SmallCNN:
    """A new, narrower SmallCNN holding `keep[i]` channels of block i, copied from `model` (left unchanged)."""
    indices = kept_channels(model, keep, criterion)
    head = model.classifier
    small = SmallCNN(head.out_features, widths=tuple(len(i) for i in indices), in_channels=model.in_channels)
    small.train(model.training)
    previous = torch.arange(model.in_channels)
    for source, target, rows in zip(blocks(model), blocks(small), indices, strict=True):
        conv, bn = source[0], source[1]
        target[0].weight.copy_(conv.weight[rows][:, previous])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(target[1], name).copy_(getattr(bn, name)[rows])
        target[1].num_batches_tracked.copy_(bn.num_batches_tracked)
        target[1].eps, target[1].momentum = bn.eps, bn.momentum
        previous = rows
    small.classifier.weight.copy_(head.weight[:, previous])
    small.classifier.bias.copy_(head.bias)
    return small
