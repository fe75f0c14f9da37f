"""kit.pareto and the chapter 8 explorer's update: the front, the budget choice, the looked-up point."""

from dataclasses import replace

import pytest
import torch

from kit.pareto import Variant, dominates, fastest_within, front_margin, paired_drop_se, pareto_front
from kit.widgets import ParetoFigure, pipeline_explorer, pipeline_update
from kit.widgets.pipeline import pareto_panels, speed_words


def variant(name, valid, time, size=100, budget="50% MACs", recovery="distill", precision="fp32"):
    return Variant(name, budget, recovery, precision, valid, valid, time, size, 10)


def test_front_keeps_exactly_the_undominated_points():
    a, b, c = variant("a", 0.90, 1.0), variant("b", 0.88, 0.5), variant("c", 0.85, 0.6)   # c: slower and worse
    d = variant("d", 0.88, 0.5, size=50)                                                    # ties b: both stay
    front = pareto_front([a, b, c, d])
    assert [v.name for v in front] == ["b", "d", "a"] or [v.name for v in front] == ["d", "b", "a"]
    assert dominates(b, c) and not dominates(c, b) and not dominates(b, d)


def test_fastest_within_a_budget_chooses_on_validation_and_never_returns_nothing():
    dense = variant("dense", 0.90, 1.0, budget="dense", recovery="none")
    fast_bad = variant("fast", 0.85, 0.1)
    ok = variant("ok", 0.895, 0.3)
    assert fastest_within([dense, fast_bad, ok], dense, 1) is ok
    assert fastest_within([dense, fast_bad, ok], dense, 10) is fast_bad
    assert fastest_within([dense, fast_bad], dense, 0) is dense
    same_time_worse = variant("same time, worse", 0.84, 0.1, size=10)    # smaller, but dominated by fast_bad
    assert fastest_within([dense, same_time_worse, fast_bad], dense, 10) is fast_bad
    assert fastest_within([dense, same_time_worse, fast_bad], dense, 10) in pareto_front([dense, same_time_worse,
                                                                                          fast_bad])
    with pytest.raises(ValueError):
        fastest_within([dense], dense, -1)


def grid_of_four():
    dense = variant("dense FP32", 0.9, 1.0, budget="dense", recovery="none")
    dense8 = variant("dense int8 PTQ", 0.9, 0.2, budget="dense", recovery="none", precision="int8 PTQ")
    retrained = variant("dense labels FP32", 0.905, 1.0, budget="dense", recovery="labels")
    slim = variant("50% MACs distill FP32", 0.89, 0.5)
    return [dense, dense8, retrained, slim]


def test_pipeline_update_finds_the_variant_or_says_what_the_budget_has():
    dense, dense8, retrained, slim = variants = grid_of_four()
    assert pipeline_update(variants, "dense", "none", "int8 PTQ").variant is dense8
    assert pipeline_update(variants, "dense", "labels", "fp32").variant is retrained   # the same recovery steps
    assert pipeline_update(variants, "50% MACs", "distill", "fp32").variant is slim
    assert pipeline_update(variants, "dense", "labels", "int8 PTQ").variant is None
    missing = pipeline_update(variants, "50% MACs", "labels", "int8 QAT")
    assert missing.variant is None and "distill + fp32" in missing.status
    assert "2.00x faster than the dense model's fastest FP32 form at batch 64" in pipeline_update(
        variants, "50% MACs", "distill", "fp32").status
    assert speed_words(1.25) == "1.25x slower" and speed_words(0.5) == "2.00x faster"
    assert speed_words(1.0) == "no faster"   # the reference itself
    figure = ParetoFigure(variants, dense_accuracy=0.9)
    figure.update(pipeline_update(variants, "50% MACs", "distill", "fp32"))
    assert figure.png().startswith(b"\x89PNG")
    figure.update(missing)
    assert figure.png().startswith(b"\x89PNG")


def test_the_explorer_switches_between_the_fronts_of_two_batch_sizes():
    at_64 = grid_of_four()
    at_1 = [replace(v, batch=1, time_ratio=min(1.3, v.time_ratio * 3)) for v in at_64]   # int8 slower at batch 1
    box = pipeline_explorer({64: at_64, 1: at_1}, dense_accuracy=0.9)
    budget, recovery, precision, batch, status = box.children[:5]
    assert "50% MACs with distill and int8 PTQ was not trained" in status.value   # the default: not in this grid
    precision.value = "fp32"
    assert "50% MACs distill FP32" in status.value and "at batch 64" in status.value
    budget.value, precision.value = "dense", "int8 PTQ"
    recovery.value = "none"
    assert "dense int8 PTQ" in status.value and "5.00x faster" in status.value
    batch.value = 1
    assert "dense int8 PTQ" in status.value and "1.67x faster" in status.value and "at batch 1" in status.value
    figure = pareto_panels({64: at_64, 1: at_1}, dense_accuracy=0.9)
    assert len(figure.axes) == 2 and "batch 1" in figure.axes[1].get_title()


def test_front_margin_says_how_far_a_point_is_from_the_front():
    fast, slow_better, slow_worse = variant("fast", 0.88, 0.5), variant("slow", 0.90, 1.0), variant("x", 0.87, 0.8)
    variants = [fast, slow_better, slow_worse]
    assert front_margin(fast, variants) == float("inf")                    # nothing is as fast
    assert front_margin(slow_better, variants) == pytest.approx(0.02)       # could lose 2 points and stay
    assert front_margin(slow_worse, variants) == pytest.approx(-0.01)       # 1 point short of the front
    assert [v.name for v in pareto_front(variants)] == ["fast", "slow"]


def test_a_way_is_chosen_only_when_every_seed_stays_within_the_budget():
    dense = variant("dense", 0.90, 1.0, budget="dense", recovery="none")
    lucky = Variant("lucky", "15% MACs", "labels", "fp32", 0.895, 0.88, 0.2, 10, 10, valid_worst=0.885, seeds=3)
    steady = Variant("steady", "50% MACs", "labels", "fp32", 0.897, 0.90, 0.5, 10, 10, valid_worst=0.893, seeds=3)
    assert fastest_within([dense, lucky, steady], dense, 1) is steady   # lucky's worst seed is 1.5 points down
    assert fastest_within([dense, lucky, steady], dense, 2) is lucky


def test_a_drop_within_the_budget_only_by_less_than_its_standard_error_is_not_chosen():
    dense = variant("dense", 0.90, 1.0, budget="dense", recovery="none")
    unsure = Variant("unsure", "15% MACs", "labels", "fp32", 0.893, 0.88, 0.2, 10, 10, valid_drop_se=0.006)
    sure = Variant("sure", "15% MACs", "labels", "fp32", 0.893, 0.88, 0.3, 10, 10, valid_drop_se=0.002)
    assert fastest_within([dense, unsure, sure], dense, 1) is sure


def test_paired_standard_error_counts_only_the_images_on_which_the_models_differ():
    reference = torch.tensor([1, 1, 1, 1, 0, 0, 1, 1])
    same = paired_drop_se(reference, [reference])
    assert same == 0.0
    one_flip = reference.clone()
    one_flip[0] = 0
    d = torch.tensor([1.0, 0, 0, 0, 0, 0, 0, 0])
    assert paired_drop_se(reference, [one_flip]) == pytest.approx(float(d.std() / 8 ** 0.5))
    # two seeds, each wrong on a different image: the averaged correctness halves each difference
    other = reference.clone()
    other[1] = 0
    halves = torch.tensor([0.5, 0.5, 0, 0, 0, 0, 0, 0])
    assert paired_drop_se(reference, [one_flip, other]) == pytest.approx(float(halves.std() / 8 ** 0.5))
