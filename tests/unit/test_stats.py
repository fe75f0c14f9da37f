"""kit.stats: paired comparisons over seeds, checked against cases worked by hand."""

from __future__ import annotations

import math

import pytest

from kit.errors import KitError
from kit.stats import StatsError, differences, mean_and_se, paired, sign_flip_p, signed, t_quantile


def test_mean_sd_se_and_interval_of_a_worked_case():
    # differences 0.4, 0.6, 0.5: mean 0.5, SD 0.1 (ddof 1), SE 0.1/sqrt(3), t(0.975, 2) = 4.3027
    comparison = paired([90.1, 90.6, 90.4], [89.7, 90.0, 89.9])
    assert comparison.n == 3 and math.isclose(comparison.mean, 0.5, abs_tol=1e-9)
    assert math.isclose(comparison.sd, 0.1, rel_tol=1e-6)
    assert math.isclose(comparison.se, 0.1 / math.sqrt(3), rel_tol=1e-6)
    low, high = comparison.interval
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert math.isclose(low, 0.5 - half, rel_tol=1e-6) and math.isclose(high, 0.5 + half, rel_tol=1e-6)
    assert comparison.shown and comparison.direction == 1
    assert comparison.verdict() == "consistent across 3 seeds"
    assert comparison.words("distilled vs labels", unit="points") == (
        "distilled vs labels: +0.50 ± 0.06 points (mean ± standard error, 3 seeds; 95% interval +0.25 to +0.75): "
        "higher, consistent across 3 seeds")


def test_a_mean_gain_smaller_than_its_noise_is_not_shown():
    comparison = differences([1.0, -0.5, 0.8])   # mean 0.43, SE 0.47: the interval holds 0
    assert not comparison.shown and comparison.direction == 0
    assert comparison.verdict() == "not shown with 3 seeds"
    assert comparison.words("x").endswith(": not shown with 3 seeds")


def test_every_seed_agreeing_is_not_enough_when_the_spread_is_large():
    """3 of 3 positive signs happen one time in four under no effect (two-sided): the old rule's loophole."""
    comparison = differences([0.1, 3.0, 0.2])
    assert all(d > 0 for d in comparison.differences)
    assert not comparison.shown and comparison.p_value == 0.25


def test_a_consistent_loss_is_shown_as_lower():
    comparison = paired([88.0, 88.2, 87.9, 88.1], [89.0, 89.1, 89.0, 89.2])
    assert comparison.shown and comparison.direction == -1
    assert comparison.words("pruned vs dense", higher="better", lower="worse").endswith(
        "worse, consistent across 4 seeds")


def test_one_seed_never_gives_a_verdict():
    comparison = paired([91.0], [85.0])
    assert comparison.n == 1 and not comparison.shown and comparison.direction == 0
    assert math.isnan(comparison.se) and all(math.isnan(v) for v in comparison.interval)
    assert comparison.verdict() == "one seed: no verdict"
    assert comparison.words("x", unit="points") == "x: +6.00 points (one seed): no verdict"


def test_two_equal_differences_give_no_verdict_three_do():
    """Identical differences: SD 0, so the interval collapses on the mean. Two seeds that moved a count metric by the
    same step (one dev pair each) show no spread at all, which is not evidence; three identical ones are shown."""
    two = differences([1.0, 1.0])
    assert not two.shown and two.direction == 0 and "too few to estimate the spread" in two.verdict()
    assert differences([0.5, 0.5, 0.5]).shown
    assert differences([0.5, 0.7]).n == 2 and not differences([0.5]).shown


def test_sign_flip_p_values_are_exact():
    assert sign_flip_p([1.0, 2.0, 3.0]) == 2 / 8          # only all + and all - reach |sum| 6
    assert sign_flip_p([1.0, 1.0, 1.0, 1.0, 1.0]) == 2 / 32
    assert sign_flip_p([1.0, -1.0]) == 1.0
    # 3 + 1 - 1 = 3; the 8 sign patterns give 3, 5, 1, 3, -3, -1, -5, -3: six reach |sum| >= 3
    assert sign_flip_p([3.0, 1.0, -1.0]) == 6 / 8


def test_t_quantile_matches_tables():
    assert math.isclose(t_quantile(0.975, 1), 12.7062, rel_tol=1e-4)
    assert math.isclose(t_quantile(0.975, 4), 2.7764, rel_tol=1e-4)


def test_mean_and_se():
    mean, se = mean_and_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and math.isclose(se, 1 / math.sqrt(3))
    assert math.isnan(mean_and_se([4.0])[1])


@pytest.mark.parametrize("call, words", [
    (lambda: paired([1.0, 2.0], [1.0]), "one baseline per seed"),
    (lambda: paired([], []), "at least one seed"),
    (lambda: differences([1.0, float("nan")]), "finite"),
    (lambda: differences([1.0, 2.0], confidence=1.5), "strictly between 0 and 1"),
    (lambda: mean_and_se([]), "no runs"),
])
def test_bad_input_is_a_clear_kit_error(call, words):
    with pytest.raises(StatsError, match=words) as error:
        call()
    assert isinstance(error.value, KitError)


def test_a_difference_that_rounds_to_zero_has_no_sign():
    assert [signed(v) for v in (0.4321, -1.2, -0.001, 0.0, 0.004)] == ["+0.43", "-1.20", "0.00", "0.00", "0.00"]
    assert paired([1.0, 2.0, 3.0], [1.001, 2.0, 3.0]).describe("points").startswith("0.00 ± 0.00 points")
    assert [signed(v, keep_sign=True) for v in (-0.0021, 0.0004, 0.0, -1e-9)] == ["-0.002", "+0.0004", "0.00",
                                                                                 "-0.00000"]
