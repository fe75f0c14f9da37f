"""Chapter 8's exercise checks: right answers pass, known wrong ones fail with a hint."""

import pytest
import torch

from kit.exercises import evaluate
from kit.models.cnn import SmallCNN
from kit.pareto import Variant


@pytest.fixture(scope="module")
def trained():
    """A SmallCNN trained briefly on the shipped Fashion-MNIST subset: the dense model the check loads."""
    from kit.data.images import load_images
    from kit.train.classify import fit_classifier

    images = load_images("fashion-embedded")
    torch.manual_seed(0)
    dense = SmallCNN(10)
    fit_classifier(dense, images.fit_images[:2000], images.fit_labels[:2000], epochs=1, batch_size=64, lr=2e-3,
                   seed=0, desc=None)
    return dense.eval()


def test_keep_for_latency_passes_a_good_choice_and_refuses_slow_or_inaccurate_ones(trained, monkeypatch):
    import kit.checkpoints
    import kit.exercises.pipeline as checks

    loaded = []

    def fake_ensure(name, quick=None, data=None, **options):   # the check loads the chapter's dense model itself
        loaded.append((name, quick, data))
        return type("Trained", (), {"model": trained})()

    monkeypatch.setattr(kit.checkpoints, "ensure", fake_ensure)
    monkeypatch.setattr(checks, "TIME_BUDGET", 0.5)     # a loaded test machine gets a little slack
    monkeypatch.setattr(checks, "FLOOR_POINTS", 10.0)   # a briefly trained model
    monkeypatch.setitem(checks.RECOVERY, "epochs", 0.25)
    good = evaluate("08-keep-for-latency", ([16, 32, 64, 128], "fashion-embedded"))
    assert good.passed, good
    assert loaded[0] == ("cnn-fashion", False, "fashion-embedded") and "fastest FP32 form" in good.message
    slow = evaluate("08-keep-for-latency", ([32, 64, 128, 256], "fashion-embedded"))
    assert not slow.passed and "time" in slow.message
    crippled = evaluate("08-keep-for-latency", ([1, 1, 1, 1], "fashion-embedded"))
    assert not crippled.passed and "points below the dense" in crippled.message
    malformed = evaluate("08-keep-for-latency", ([16, 32], "fashion-embedded"))
    assert not malformed.passed and "one channel count per conv block" in malformed.message
    unpaired = evaluate("08-keep-for-latency", [16, 32, 64, 128])
    assert not unpaired.passed and "(my_keep, IMAGES)" in unpaired.message
    assert evaluate("08-keep-for-latency", (..., "fashion-embedded")).status == "not attempted"


def test_off_front_needs_a_dominating_variant_and_the_right_reason():
    def v(name, valid, time):
        return Variant(name, "50% MACs", "distill", "fp32", valid, valid, time, 100, 10)

    variants = [v("fast good", 0.9, 0.3), v("same time worse", 0.8, 0.3), v("slow good", 0.95, 2.0),
                v("slow worse", 0.7, 0.5)]
    assert evaluate("08-off-front", ("fast good", "less accurate", "same time worse", variants)).passed
    assert evaluate("08-off-front", ("fast good", "both", "slow worse", variants)).passed
    wrong_reason = evaluate("08-off-front", ("fast good", "slower", "same time worse", variants))
    assert not wrong_reason.passed and "compare the two" in wrong_reason.message
    not_dominating = evaluate("08-off-front", ("slow good", "slower", "slow worse", variants))
    assert not not_dominating.passed and "does not dominate" in not_dominating.message
    unknown = evaluate("08-off-front", ("nobody", "both", "slow worse", variants))
    assert not unknown.passed and "not a variant" in unknown.message
    unset = evaluate("08-off-front", ("fast good", ..., "slow worse", variants))
    assert not unset.passed and "my_reason" in unset.message
