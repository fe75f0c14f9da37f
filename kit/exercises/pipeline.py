"""Checks for chapter 8 (the compression pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kit.exercises import NotYet, exercise

TIME_BUDGET = 0.35     # 08-keep-for-latency: at most this share of the dense model's time (1 thread, batch 64) ...
FLOOR_POINTS = 3.0     # ... within this many points of its validation accuracy after a short recovery
RECOVERY = {"epochs": 1, "lr": 3e-3, "warmup": 0.05, "seed": 0}   # labels only, as the grid's quickest run
REASONS = ("slower", "less accurate", "both")


@exercise("08-keep-for-latency")
def _keep_for_latency(answer: Any) -> str:
    from kit import measure
    from kit.channel_allocation import recalibrate_batchnorm
    from kit.channel_pruning import check_keep, slimmed
    from kit.train.classify import accuracy
    from kit.train.distill import fit_student

    keep, dense, calibration, fit_x, fit_y, valid_x, valid_y = answer
    try:
        keep = check_keep(dense, keep)
    except ValueError as error:
        raise NotYet(str(error)) from None
    mine = recalibrate_batchnorm(slimmed(dense, keep, "bn-scale"), calibration)
    batch = valid_x[:64]
    timing = measure.compare_latency({"dense": lambda: dense(batch), "yours": lambda: mine(batch)}, threads=1,
                                     warmup=3, repeats=21)
    ratio = timing.ratio("yours")
    if ratio > TIME_BUDGET:
        raise NotYet(f"your model takes {ratio:.2f}x the dense model's time (budget {TIME_BUDGET}x at batch 64, 1 "
                     "thread): MACs are not time — section 1 shows which blocks and layers take it.")
    fit_student(mine, fit_x, fit_y, None, alpha=0.0, epochs=RECOVERY["epochs"], lr=RECOVERY["lr"],
                seed=RECOVERY["seed"], warmup=RECOVERY["warmup"], desc=None)
    yours, reference = accuracy(mine, valid_x, valid_y), accuracy(dense, valid_x, valid_y)
    if yours < reference - FLOOR_POINTS / 100:
        raise NotYet(f"{ratio:.2f}x the time, but after one epoch of fine-tuning your model scores {yours:.1%} on "
                     f"validation, more than {FLOOR_POINTS:g} points below the dense {reference:.1%}: the scan of "
                     "section 2 shows which blocks can lose channels cheaply.")
    return (f"{keep}: {ratio:.2f}x the dense time; after one epoch of fine-tuning {yours:.1%} on validation "
            f"(dense {reference:.1%}).")


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
        raise NotYet(f"compare the two: {off_name} takes {off.time_ratio:.3f}x the dense time against "
                     f"{other.time_ratio:.3f}x, and scores {off.valid_accuracy:.2%} against "
                     f"{other.valid_accuracy:.2%}.")
    return (f"{name} dominates {off_name}, which is {truth} "
            + ("(same shape and precision, so the same time)." if truth == "less accurate" else "."))
