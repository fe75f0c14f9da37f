"""Checks for chapter 2 (pruning)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from kit.exercises import NotYet, exercise


@exercise("02-prune-negative")
def _prune_negative(answer: Any) -> str:
    if not (isinstance(answer, type) and issubclass(answer, prune.BasePruningMethod)):
        raise NotYet("answer with your class itself: a subclass of prune.BasePruningMethod.")
    if getattr(answer, "PRUNING_TYPE", None) != "unstructured":
        raise NotYet('set PRUNING_TYPE = "unstructured": it acts entry by entry.')
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    prune.random_unstructured(layer, "weight", amount=0.5)  # an earlier mask your method must respect
    earlier = layer.weight_mask.clone()
    answer.apply(layer, "weight")
    expected = earlier * (layer.weight_orig >= 0)
    if not torch.equal(layer.weight_mask, expected):
        raise NotYet("the mask should be 0 where the weight is negative and 1 elsewhere: compare t with 0, "
                     "and start from default_mask.")
    return ("Negative weights are pruned, and the earlier random mask is kept: the PruningContainer gave your "
            "method only the entries still alive and combined the two masks.")


def _best_global_amount(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, max_drop: float) -> float:
    from kit.pruning import pruned_copy
    from kit.train.classify import accuracy

    dense = accuracy(model, images, labels)
    best = 0.0
    for step in range(1, 20):
        amount = step * 0.05
        if accuracy(pruned_copy(model, "global-l1", amount), images, labels) >= dense - max_drop:
            best = amount
    return round(best, 2)


@exercise("02-amount-for-accuracy")
def _amount_for_accuracy(answer: Any) -> str:
    if not callable(answer):
        raise NotYet("answer with your function pick_amount(model, images, labels, max_drop).")
    from kit.checkpoints import ensure
    from kit.data.images import load_images

    model = ensure("lenet-fashion", quick=True).model
    test = load_images("fashion-embedded")
    images, labels = test.test_images[:1000], test.test_labels[:1000]
    expected = _best_global_amount(model, images, labels, 0.01)
    got = answer(model, images, labels, 0.01)
    if not isinstance(got, (int, float)):
        raise NotYet(f"pick_amount should return a number (the amount), got {type(got).__name__}.")
    if abs(float(got) - expected) > 1e-6:
        raise NotYet(
            f"on the check's model the answer is {expected:.2f}, yours gave {float(got):.2f}. Try the amounts "
            "0.05, 0.10, ..., 0.95 with global L1 pruning on a copy, and keep the largest within max_drop."
        )
    return f"Global L1 pruning of up to {expected:.0%} of this model's weights costs at most one point."


_TIMING_HINTS = {
    "a": "zeros are still multiplied: a dense kernel does the same work whatever the values are.",
    "b": "masks are not applied lazily: the pre-hook recomputes weight = weight_orig * weight_mask on every call.",
    "c": "PyTorch does not switch kernels by sparsity; the dense convolution and matmul run as before.",
}


@exercise("02-explain-timing")
def _explain_timing(answer: Any) -> str:
    choice = str(answer).strip().lower()[:1]
    if choice == "d":
        return ("Right: a masked model runs the same dense kernels on the same shapes, plus a multiply per "
                "pruned tensor in the pre-hook; only fewer channels (smaller shapes) make it faster.")
    if choice in _TIMING_HINTS:
        raise NotYet(_TIMING_HINTS[choice])
    raise NotYet("answer with one letter: 'a', 'b', 'c' or 'd'.")
