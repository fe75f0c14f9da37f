"""Checks for chapter 2 (pruning)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils import prune

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function, unpack


@exercise("02-prune-negative")
def _prune_negative(answer: Any) -> str:
    if not (isinstance(answer, type) and issubclass(answer, prune.BasePruningMethod)):
        raise NotYet("answer with your class itself: a subclass of prune.BasePruningMethod.")
    if getattr(answer, "PRUNING_TYPE", None) != "unstructured":
        raise NotYet('set PRUNING_TYPE = "unstructured": it acts entry by entry.')
    # 1. Called directly, as compute_mask's documentation describes it: the earlier zeros of default_mask
    #    must be respected. (Inside a PruningContainer they would be hidden from the method.)
    generator = torch.Generator().manual_seed(0)
    t = torch.randn(5, 8, generator=generator)
    default_mask = (torch.rand(5, 8, generator=generator) > 0.4).float()
    mask = answer().compute_mask(t, default_mask)
    if not isinstance(mask, torch.Tensor) or mask.shape != t.shape:
        raise NotYet("compute_mask must return a mask tensor of the same shape as t.")
    if torch.any((mask != 0) & (t < 0)):
        raise NotYet("the mask should be 0 wherever t is negative.")
    if torch.any((mask != 0) & (default_mask == 0)):
        raise NotYet("an entry that default_mask already pruned came back: start from default_mask "
                     "(multiply your condition into it), so earlier pruning is respected.")
    if not torch.equal(mask.bool(), (default_mask != 0) & (t >= 0)):
        raise NotYet("keep every non-negative entry that default_mask keeps: prune only the negative ones.")
    # 2. Through the real API, on top of an earlier random mask.
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    prune.random_unstructured(layer, "weight", amount=0.5)
    earlier = layer.weight_mask.clone()
    answer.apply(layer, "weight")
    if not torch.equal(layer.weight_mask, earlier * (layer.weight_orig >= 0)):
        raise NotYet("applied with PruneNegative.apply(layer, 'weight') after a random mask, the combined mask "
                     "should keep exactly the non-negative weights the random mask kept.")
    return ("Negative weights are pruned and earlier zeros are respected, both when compute_mask is called "
            "directly and when the PruningContainer combines your mask with the earlier random one.")


def _best_global_amount(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, max_drop: float) -> float:
    """The check's own answer: the largest of 0.05, ..., 0.95 whose global L1 pruned copy stays within max_drop."""
    from kit.pruning import pruned_copy
    from kit.train.classify import accuracy

    dense = accuracy(model, images, labels)
    best = 0.0
    for step in range(1, 20):
        amount = step * 0.05
        if accuracy(pruned_copy(model, "global-l1", amount), images, labels) >= dense - max_drop:
            best = amount
    return round(best, 2)


AMOUNT_ANSWER = ("answer with (pick_amount, lenet, valid_images, valid_labels): your function, then the chapter's "
                 "dense model and its validation images and labels (choose on validation, never on test).")


def _amount_cases(model: nn.Module, images: torch.Tensor,
                  labels: torch.Tensor) -> list[tuple[str, torch.Tensor, float]]:
    """The two cases the learner's function is run on: the chapter's validation labels at max_drop 0.01, and the
    check's own: the same images labelled by the model itself (dense accuracy 100 %) at max_drop 0.05."""
    with torch.no_grad():
        own = model(images).argmax(dim=1)
    return [("your validation images, max_drop 0.01", labels, 0.01),
            ("the check's own case (your images labelled by the dense model's answers, max_drop 0.05)", own, 0.05)]


@exercise("02-amount-for-accuracy")
def _amount_for_accuracy(answer: Any) -> str:
    import sys

    from kit.pruning import prunable

    pick_amount, model, images, labels = unpack(answer, 4, AMOUNT_ANSWER)
    expect_function(pick_amount, "pick_amount(model, images, labels, max_drop)")
    if not isinstance(model, nn.Module) or not prunable(model) or prune.is_pruned(model):
        raise NotYet("the second item is the chapter's dense model (lenet): an nn.Module with Conv2d / Linear "
                     "layers and no pruning on it.")
    if not (isinstance(images, torch.Tensor) and isinstance(labels, torch.Tensor)) or len(images) != len(labels) \
            or len(labels) < 100:
        raise NotYet("the third and fourth items are the validation images and their labels: tensors of the same "
                     "length, at least 100 of them.")
    model.eval()
    blocked = (sys.modules[__name__], "_best_global_amount")
    reason = ("write the search yourself (prune copies at 0.05, 0.10, ..., 0.95 and measure each): the check's own "
              "answer is blocked while your function runs.")
    found = []
    for what, case_labels, max_drop in _amount_cases(model, images, labels):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        with forbidden(blocked, reason=reason, learner=pick_amount):
            got = pick_amount(model, images, case_labels, max_drop)
        after = model.state_dict()
        if prune.is_pruned(model) or after.keys() != before.keys() or any(
                not torch.equal(before[k], after[k]) for k in before):
            raise NotYet("pick_amount changed the model it was given: prune a copy (copy.deepcopy, or "
                         "pruning.pruned_copy) so the caller's model stays dense.")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise NotYet(f"pick_amount should return a number (the amount), got {type(got).__name__}.")
        expected = _best_global_amount(model, images, case_labels, max_drop)
        if abs(float(got) - expected) > 1e-6:
            raise NotYet(f"on {what} the answer is {expected:.2f}, yours gave {float(got):.2f}. Try the amounts "
                         "0.05, 0.10, ..., 0.95 with global L1 pruning on a copy, and keep the largest within "
                         "max_drop.")
        found.append(expected)
    return (f"On the chapter's validation images, global L1 pruning of up to {found[0]:.0%} of this model's weights "
            f"costs at most one point; your function also found the check's own case ({found[1]:.0%} within "
            "5 points of the model's own answers).")


TIMING_BUCKETS = {
    "a": (0.0, 0.5, "under 0.5x the dense time"),
    "b": (0.5, 0.8, "between 0.5x and 0.8x"),
    "c": (0.8, 1.25, "between 0.8x and 1.25x (about the same)"),
    "d": (1.25, float("inf"), "over 1.25x (slower)"),
}


def masked_to_dense_ratio(sparsity: float = 0.99, repeats: int = 15) -> float:
    """Median time of a LeNet with `sparsity` of its weights masked to zero, over the dense one (1 thread)."""
    from kit.measure import compare_latency
    from kit.models.lenet import LeNet
    from kit.pruning import pruned_copy

    torch.manual_seed(0)
    dense = LeNet().eval()
    masked = pruned_copy(dense, "global-l1", sparsity)
    batch = torch.randn(256, 1, 32, 32)
    timing = compare_latency({"dense": lambda: dense(batch), "masked": lambda: masked(batch)}, threads=1,
                             warmup=3, repeats=repeats)
    return timing.ratio("masked")


@exercise("02-predict-masked-timing")
def _predict_masked_timing(answer: Any) -> str:
    choice = str(answer).strip().lower()[:1]
    if choice not in TIMING_BUCKETS:
        raise NotYet("answer with one letter: 'a', 'b', 'c' or 'd' (your prediction, before the check measures).")
    ratio = masked_to_dense_ratio()
    measured = next(k for k, (low, high, _) in TIMING_BUCKETS.items() if low <= ratio < high)
    if choice != measured:
        raise NotYet(f"measured just now: the 99 %-masked LeNet took {ratio:.2f}x the dense time, "
                     f"{TIMING_BUCKETS[measured][2]}, not {TIMING_BUCKETS[choice][2]}. Think about which tensors "
                     "the convolution and matmul kernels receive: their shapes, not their values, set the work.")
    return (f"Measured just now: {ratio:.2f}x the dense time, as you predicted. The pre-hook hands the dense "
            "kernels tensors of the same shapes; zeros cost as much as any other value.")
