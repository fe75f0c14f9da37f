"""kit.channel_allocation: BatchNorm re-estimation, MACs, the sensitivity scan and the search under a budget."""

import itertools

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from kit.channel_allocation import (
    allocate,
    check_ratios,
    cnn_macs,
    keep_counts,
    recalibrate_batchnorm,
    sensitivity_scan,
)
from kit.channel_pruning import slimmed
from kit.models.cnn import SmallCNN


def test_macs_match_flop_counter_mode_for_several_shapes():
    for widths in [(32, 64, 128, 256), (8, 12, 16, 20), (3, 1, 7, 2), (5,)]:
        model = SmallCNN(10, widths=widths).eval()
        with FlopCounterMode(display=False) as counter:
            model(torch.randn(1, 1, 32, 32))
        assert counter.get_total_flops() == 2 * cnn_macs(widths, 10)


def test_recalibration_equals_the_statistics_of_the_batches_and_restores_momentum():
    torch.manual_seed(0)
    model = SmallCNN(10, widths=(4, 6, 8, 10))
    model.features[0][1].momentum = 0.3
    batches = [torch.randn(16, 1, 32, 32) for _ in range(3)]
    recalibrate_batchnorm(model, batches)
    assert not model.training and model.features[0][1].momentum == 0.3
    first = model.features[0]
    with torch.no_grad():
        out = torch.cat([first[0](b) for b in batches])          # what the first BatchNorm saw
    assert torch.allclose(first[1].running_mean, out.mean(dim=(0, 2, 3)), atol=1e-5)
    # momentum=None averages the per-batch (unbiased) variances; equal batch sizes make that their mean
    per_batch = torch.stack([first[0](b).detach().var(dim=(0, 2, 3), unbiased=True) for b in batches]).mean(0)
    assert torch.allclose(first[1].running_var, per_batch, atol=1e-4)


def test_recalibration_refuses_models_without_batchnorm_and_empty_batches():
    with pytest.raises(ValueError, match="no BatchNorm"):
        recalibrate_batchnorm(torch.nn.Linear(2, 2), [torch.randn(1, 2)])
    with pytest.raises(ValueError, match="at least one batch"):
        recalibrate_batchnorm(SmallCNN(), [])


def test_keep_counts_and_ratio_checks():
    assert keep_counts((32, 64, 128, 256), (1.0, 0.5, 0.25, 0.001)) == [32, 32, 32, 1]
    with pytest.raises(ValueError, match="one keep ratio per block"):
        keep_counts((32, 64), (0.5,))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        keep_counts((32, 64), (0.5, 1.5))
    assert check_ratios([0.25, 0.5]) == [0.5, 0.25]
    for bad in ([], [1.0], [0.5, 0.5], [0.0]):
        with pytest.raises(ValueError, match="distinct keep ratios"):
            check_ratios(bad)


def brute_force(widths, drops, budget):
    ratios = sorted({r for _, r in drops}, reverse=True)
    best = None
    for choice in itertools.product([1.0, *ratios], repeat=len(widths)):
        macs = cnn_macs(keep_counts(widths, choice))
        if macs <= budget * cnn_macs(widths):
            cost = sum(drops[b, r] for b, r in enumerate(choice) if r < 1)
            if best is None or cost < best[0] - 1e-12 or (abs(cost - best[0]) <= 1e-12 and macs > best[1]):
                best = (cost, macs, list(choice))
    return best


def test_allocate_finds_the_cheapest_combination_within_the_budget():
    widths = (32, 64, 128, 256)
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        drops = {(b, r): float(torch.rand(1, generator=generator)) * (1 - r) for b in range(4)
                 for r in (0.75, 0.5, 0.25)}
        for budget in (0.8, 0.5, 0.3):
            chosen = allocate(widths, drops, budget)
            cost, macs, _ = brute_force(widths, drops, budget)
            assert cnn_macs(keep_counts(widths, chosen)) <= budget * cnn_macs(widths)
            assert sum(drops[b, r] for b, r in enumerate(chosen) if r < 1) == pytest.approx(cost)
            assert cnn_macs(keep_counts(widths, chosen)) == macs


def test_allocate_prefers_the_block_that_loses_least_and_reports_impossible_budgets():
    widths = (32, 64, 128, 256)
    drops = {(b, r): (0.0 if b == 3 else 0.5) for b in range(4) for r in (0.5, 0.25)}
    assert allocate(widths, drops, 0.9) == [1.0, 1.0, 1.0, 0.5]   # only the free block is cut
    with pytest.raises(ValueError, match="no scanned combination fits"):
        allocate(widths, drops, 0.01)
    with pytest.raises(ValueError, match="budget"):
        allocate(widths, drops, 1.5)
    with pytest.raises(ValueError, match="scan every block"):
        allocate(widths, {(0, 0.5): 0.1}, 0.5)


def test_the_scan_measures_one_block_at_a_time_on_the_given_images():
    torch.manual_seed(0)
    model = SmallCNN(10, widths=(4, 6, 8, 10)).eval()
    images, labels = torch.randn(40, 1, 32, 32), torch.randint(0, 10, (40,))
    calibration = [torch.randn(8, 1, 32, 32)]
    drops = sensitivity_scan(model, [0.5], images, labels, calibration)
    assert set(drops) == {(b, 0.5) for b in range(4)}
    from kit.train.classify import accuracy

    base = accuracy(model, images, labels)
    pruned = recalibrate_batchnorm(slimmed(model, [4, 6, 8, 5], "bn-scale"), calibration)
    assert drops[3, 0.5] == pytest.approx(base - accuracy(pruned, images, labels))
    correct = {}
    assert sensitivity_scan(model, [0.5], images, labels, calibration, correct=correct) == drops
    assert set(correct) == set(drops) and correct[3, 0.5].dtype == torch.bool and len(correct[3, 0.5]) == 40
    assert base - correct[3, 0.5].float().mean().item() == pytest.approx(drops[3, 0.5])
    with pytest.raises(ValueError, match="unknown criterion"):
        sensitivity_scan(model, [0.5], images, labels, calibration, criterion="random")
