"""Checks for chapter 8 (the compression pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kit.exercises import NotYet, exercise
from kit.exercises.answers import unpack

TIME_BUDGET = 0.35     # 08-keep-for-latency: at most this share of the dense model's time, both in their fastest
FLOOR_POINTS = 3.0     # FP32 forms (1 thread, batch 64), and within this many points of its validation accuracy
RECOVERY = {"epochs": 1, "lr": 3e-3, "warmup": 0.05, "seed": 0}   # ... after labels-only fine-tuning like this
REASONS = ("slower", "less accurate", "both")


@exercise("08-keep-for-latency")
def _keep_for_latency(answer: Any) -> str:
    from kit import measure
    from kit.best_fp32 import fp32_forms
    from kit.channel_allocation import recalibrate_batchnorm
    from kit.channel_pruning import check_keep, slimmed
    from kit.checkpoints import ensure
    from kit.data.images import load_images
    from kit.static_quantization import calibration_batches
    from kit.train.classify import accuracy
    from kit.train.distill import fit_student

    keep, data = unpack(answer, 2, "answer with the pair (my_keep, IMAGES).")
    images = load_images(data)   # the chapter's images and dense model, loaded here: the answer cannot swap them
    dense = ensure("cnn-fashion", quick=False, data=data).model.eval()
    try:
        keep = check_keep(dense, keep)
    except ValueError as error:
        raise NotYet(str(error)) from None
    calibration = calibration_batches(images.fit_images, 20, seed=0)
    mine = recalibrate_batchnorm(slimmed(dense, keep, "bn-scale"), calibration)
    batch = images.valid_images[:64]
    dense_forms, my_forms = fp32_forms(dense, batch), fp32_forms(mine, batch)
    timing = measure.compare_latency({**dense_forms.candidates(batch, prefix="dense "),
                                      **my_forms.candidates(batch, prefix="yours ")}, threads=1, warmup=3, repeats=21)
    dense_best, my_best = dense_forms.fastest(timing, prefix="dense "), my_forms.fastest(timing, prefix="yours ")
    ratio = timing.relative(my_best, dense_best)
    low, high = timing.relative_range(my_best, dense_best)
    measured = (f"{ratio:.2f}x (middle half of the rounds {low:.2f}-{high:.2f}x) the time of the dense model, each in "
                f"its fastest FP32 form ({my_best.removeprefix('yours ')} and {dense_best.removeprefix('dense ')})")
    if ratio > TIME_BUDGET:
        advice = (": borderline on this machine — run the check again, or trim a little more." if low <= TIME_BUDGET
                  else ": MACs are not time — section 1 shows which blocks and layers take it.")
        raise NotYet(f"your model takes {measured}; the budget is {TIME_BUDGET}x at batch 64, 1 thread{advice}")
    fit_student(mine, images.fit_images, images.fit_labels, None, alpha=0.0, epochs=RECOVERY["epochs"],
                lr=RECOVERY["lr"], seed=RECOVERY["seed"], warmup=RECOVERY["warmup"], desc=None)
    yours = accuracy(mine, images.valid_images, images.valid_labels)
    reference = accuracy(dense, images.valid_images, images.valid_labels)
    if yours < reference - FLOOR_POINTS / 100:
        raise NotYet(f"{ratio:.2f}x the time, but after one epoch of fine-tuning your model scores {yours:.1%} on "
                     f"validation, more than {FLOOR_POINTS:g} points below the dense {reference:.1%}: the scan of "
                     "section 2 shows which blocks can lose channels cheaply.")
    return f"{keep}: {measured}; after one epoch of fine-tuning {yours:.1%} on validation (dense {reference:.1%})."


@exercise("08-off-front")
def _off_front(answer: Any) -> str:
    from kit.pareto import Variant, dominates

    name, reason, off_name, variants = answer
    variants: Sequence[Variant] = list(variants)
    by_name = {v.name: v for v in variants}
    off = by_name[off_name]
    if name not in by_name:
        raise NotYet(f"{name!r} is not a variant of this run; the names are printed under the Pareto figure "
                     f"(e.g. {variants[0].name!r}).")
    other = by_name[name]
    if not dominates(other, off):
        slower = other.time_ratio > off.time_ratio
        raise NotYet(f"{name} does not dominate {off_name}: it is "
                     + ("slower" if slower else "less accurate") + " than it. Look for a variant at least as "
                     "fast and at least as accurate.")
    if reason is Ellipsis or reason not in REASONS:
        raise NotYet(f"set my_reason to one of {', '.join(map(repr, REASONS))}.")
    slower = off.time_ratio > other.time_ratio
    less = off.valid_accuracy < other.valid_accuracy
    truth = "both" if slower and less else "slower" if slower else "less accurate"
    if reason != truth:
        raise NotYet(f"compare the two: {off_name} takes {off.time_ratio:.3f}x the reference time against "
                     f"{other.time_ratio:.3f}x, and scores {off.valid_accuracy:.2%} against "
                     f"{other.valid_accuracy:.2%}.")
    return (f"{name} dominates {off_name}, which is {truth} "
            + ("(same shape and precision, so the same time)." if truth == "less accurate" else "."))
