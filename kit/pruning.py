"""Pruning boilerplate the chapter does not need to re-type: sparsity reports, applying a method to a
copy, the threshold method, and rebuilding a physically smaller LeNet from structured masks."""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.nn.utils import prune

from kit.models.lenet import LeNet

PRUNABLE = (nn.Conv2d, nn.Linear)
METHODS = ("l1-unstructured", "random-unstructured", "ln-structured", "global-l1")


class ThresholdPruning(prune.BasePruningMethod):
    """Prune every entry whose magnitude is at most `threshold` (|w| <= t)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, threshold: float) -> None:
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        self.threshold = threshold

    def compute_mask(self, t: torch.Tensor, default_mask: torch.Tensor) -> torch.Tensor:
        return default_mask * (t.abs() > self.threshold).to(default_mask.dtype)


def prunable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Conv2d and Linear layer, in order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, PRUNABLE)]


def sparsity(tensor: torch.Tensor) -> float:
    """Fraction of exact zeros."""
    return float((tensor == 0).sum()) / tensor.numel()


def layer_sparsity(model: nn.Module) -> dict[str, float]:
    """Fraction of zero weights in each prunable layer (reads `.weight`, masked or not)."""
    return {name: sparsity(m.weight) for name, m in prunable(model)}


def global_sparsity(model: nn.Module) -> float:
    """Fraction of zero weights over all prunable layers together."""
    zeros = sum(float((m.weight == 0).sum()) for _, m in prunable(model))
    total = sum(m.weight.numel() for _, m in prunable(model))
    return zeros / total


def check_amount(amount: float) -> float:
    """A pruning fraction must lie in [0, 1]; the message says so instead of torch's deeper error."""
    if not isinstance(amount, (int, float)) or not 0.0 <= float(amount) <= 1.0:
        raise ValueError(f"amount is a fraction of weights to prune, between 0 and 1; got {amount!r}")
    return float(amount)


def pruned_copy(model: nn.Module, method: str, amount: float, *, seed: int = 0) -> nn.Module:
    """A copy of `model` with every prunable weight pruned by `method` (see METHODS); the original is untouched."""
    amount = check_amount(amount)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    pruned = copy.deepcopy(model)
    layers = [m for _, m in prunable(pruned)]
    if method == "global-l1":
        prune.global_unstructured([(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=amount)
    else:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            for m in layers:
                if method == "l1-unstructured":
                    prune.l1_unstructured(m, "weight", amount=amount)
                elif method == "random-unstructured":
                    prune.random_unstructured(m, "weight", amount=amount)
                elif m is layers[-1]:
                    prune.l1_unstructured(m, "weight", amount=0.0)  # never remove an output class
                else:
                    prune.ln_structured(m, "weight", amount=amount, n=2, dim=0)
    return pruned


def thresholded_copy(model: nn.Module, threshold: float, method: type[prune.BasePruningMethod] = ThresholdPruning):
    """A copy with |w| <= threshold pruned in every prunable layer, through prune.global_unstructured."""
    if not isinstance(threshold, (int, float)) or threshold < 0:
        raise ValueError(f"threshold is a weight magnitude and must be >= 0, got {threshold!r}")
    pruned = copy.deepcopy(model)
    params = [(m, "weight") for _, m in prunable(pruned)]
    prune.global_unstructured(params, pruning_method=method, threshold=float(threshold))
    return pruned


def remove_all(model: nn.Module) -> nn.Module:
    """prune.remove on every pruned layer: the masks are folded into plain weights (in place)."""
    for _, m in prunable(model):
        for name in ("weight", "bias"):
            if prune.is_pruned(m) and hasattr(m, f"{name}_mask"):
                prune.remove(m, name)
    return model


def kept_rows(weight: torch.Tensor) -> torch.Tensor:
    """Indices of output channels / units that still have a non-zero weight."""
    return torch.nonzero(weight.flatten(1).abs().sum(dim=1) > 0).flatten()


def slim_lenet(model: LeNet) -> LeNet:
    """A physically smaller LeNet holding only the channels and units that structured pruning kept.

    Output channels whose weights are all zero are dropped together with the matching inputs of the
    next layer, and so are their biases. The result computes exactly what the masked model computes
    when those biases were pruned too (`prune_dead_biases`); otherwise a dead channel's ReLU(bias)
    constant is lost.
    """
    keep1, keep2 = kept_rows(model.conv1.weight), kept_rows(model.conv2.weight)
    keep3, keep4 = kept_rows(model.fc1.weight), kept_rows(model.fc2.weight)
    slim = LeNet(model.fc3.out_features, widths=(len(keep1), len(keep2), len(keep3), len(keep4)))
    flat2 = (keep2[:, None] * 25 + torch.arange(25)).flatten()  # fc1 inputs of the kept conv2 channels
    with torch.no_grad():
        slim.conv1.weight.copy_(model.conv1.weight[keep1])
        slim.conv1.bias.copy_(model.conv1.bias[keep1])
        slim.conv2.weight.copy_(model.conv2.weight[keep2][:, keep1])
        slim.conv2.bias.copy_(model.conv2.bias[keep2])
        slim.fc1.weight.copy_(model.fc1.weight[keep3][:, flat2])
        slim.fc1.bias.copy_(model.fc1.bias[keep3])
        slim.fc2.weight.copy_(model.fc2.weight[keep4][:, keep3])
        slim.fc2.bias.copy_(model.fc2.bias[keep4])
        slim.fc3.weight.copy_(model.fc3.weight[:, keep4])
        slim.fc3.bias.copy_(model.fc3.bias)
    return slim.eval()


def prune_dead_biases(model: nn.Module) -> nn.Module:
    """Mask the bias of every output channel / unit whose weights are all zero (in place)."""
    for _, m in prunable(model)[:-1]:  # the classifier keeps all its outputs
        mask = torch.zeros_like(m.bias)
        mask[kept_rows(m.weight)] = 1
        prune.custom_from_mask(m, "bias", mask)
    return model


def weights_of(model: nn.Module) -> Iterable[torch.Tensor]:
    """The (masked) weight tensor of every prunable layer."""
    return (m.weight.detach() for _, m in prunable(model))
