import math

import pytest
import torch
from torch.nn.utils import prune

from kit import pruning, widgets
from kit.exercises import evaluate
from kit.models.lenet import LeNet


@pytest.fixture(scope="module")
def lenet():
    torch.manual_seed(0)
    return LeNet().eval()


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(64, 1, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)


@pytest.mark.parametrize("method", pruning.METHODS)
def test_pruned_copy_leaves_the_original_alone(lenet, method):
    before = {k: v.clone() for k, v in lenet.state_dict().items()}
    pruned = pruning.pruned_copy(lenet, method, 0.5)
    assert all(torch.equal(before[k], v) for k, v in lenet.state_dict().items())
    assert not prune.is_pruned(lenet) and prune.is_pruned(pruned)


def test_amounts_are_exact(lenet):
    per_layer = pruning.layer_sparsity(pruning.pruned_copy(lenet, "l1-unstructured", 0.3))
    for name, s in per_layer.items():
        n = getattr(lenet, name).weight.numel()
        assert s == round(0.3 * n) / n
    total = sum(m.weight.numel() for _, m in pruning.prunable(lenet))
    glob = pruning.global_sparsity(pruning.pruned_copy(lenet, "global-l1", 0.7))
    assert round(glob * total) == round(0.7 * total)
    structured = pruning.pruned_copy(lenet, "ln-structured", 0.5)
    assert pruning.layer_sparsity(structured)["fc3"] == 0.0, "the classifier keeps every class"
    assert (structured.conv2.weight.flatten(1).abs().sum(1) == 0).sum() == 8


@pytest.mark.parametrize("amount", [-0.1, 1.5, "half", math.nan])
def test_bad_amounts_are_explained(lenet, amount):
    with pytest.raises(ValueError, match="between 0 and 1"):
        pruning.pruned_copy(lenet, "l1-unstructured", amount)


def test_threshold_pruning_prunes_small_magnitudes(lenet):
    pruned = pruning.thresholded_copy(lenet, 0.05)
    for (_, a), (_, b) in zip(pruning.prunable(lenet), pruning.prunable(pruned), strict=True):
        small = a.weight.abs() <= 0.05
        assert torch.all(b.weight[small] == 0) and torch.all(b.weight[~small] != 0)
    with pytest.raises(ValueError, match=">= 0"):
        pruning.thresholded_copy(lenet, -1.0)


def test_slim_lenet_computes_the_same_function(lenet, batch):
    structured = pruning.pruned_copy(lenet, "ln-structured", 0.5)
    pruning.prune_dead_biases(structured)
    slim = pruning.slim_lenet(structured)
    assert slim.widths == (3, 8, 60, 42)
    assert torch.allclose(slim(batch[0]), structured(batch[0]), atol=1e-5)
    removed = pruning.remove_all(structured)
    assert not prune.is_pruned(removed)


def test_sliding_back_restores_accuracy_exactly(lenet, batch):
    base = widgets.sparsity_update(lenet, "global-l1", 0.0, *batch)
    widgets.sparsity_update(lenet, "global-l1", 0.95, *batch)
    again = widgets.sparsity_update(lenet, "global-l1", 0.0, *batch)
    assert again.accuracy == base.accuracy and again.global_sparsity == 0.0
    heavy = widgets.sparsity_update(lenet, "global-l1", 0.9, *batch)
    assert abs(heavy.global_sparsity - 0.9) < 1e-4 and heavy.cut is not None and "90.0%" in heavy.status


@pytest.mark.parametrize(("update", "fragment"), [
    (lambda m, x, y: widgets.sparsity_update(m, "l1-unstructured", 1.2, x, y), "between 0 and 1"),
    (lambda m, x, y: widgets.sparsity_update(m, "magic", 0.2, x, y), "unknown method"),
    (lambda m, x, y: widgets.threshold_update(m, -0.5, x, y), "must be >= 0"),
])
def test_bad_input_becomes_a_message_not_a_traceback(lenet, batch, update, fragment):
    view = update(lenet, *batch)
    assert view.message and fragment in view.status


def test_threshold_update_reports_the_cut(lenet, batch):
    view = widgets.threshold_update(lenet, 0.03, *batch)
    total = sum(m.weight.numel() for _, m in pruning.prunable(lenet))
    small = sum(int((m.weight.abs() <= 0.03).sum()) for _, m in pruning.prunable(lenet))
    assert view.cut == 0.03 and view.global_sparsity == small / total
    fig = widgets.draw_view(view)
    assert len(fig.axes) == 2


def test_explorers_update_their_status_when_the_slider_moves(lenet, batch):
    box = widgets.sparsity_explorer(lenet, *batch, amount=0.2)
    controls, status = box.children[0], box.children[1]
    first = status.value
    controls.children[1].value = 0.8
    assert status.value != first and "80.0%" in status.value
    box = widgets.threshold_explorer(lenet, *batch, threshold=0.0)
    slider, status = box.children[0].children[0], box.children[1]
    slider.value = 0.04
    assert "global sparsity 0.0%" not in status.value


def test_pruning_figure_is_updated_in_place(lenet, batch):
    import numpy as np

    figure = widgets.PruningFigure(lenet, "title")
    view = widgets.sparsity_update(lenet, "global-l1", 0.6, *batch)
    figure.update(view)
    assert [bar.get_width() for bar in figure.bars] == pytest.approx(list(view.layer_sparsity.values()))
    kept = view.weights[view.weights != 0].numpy()
    assert sum(rect.get_height() for rect in figure.hist) == len(kept)   # every kept weight in one bin
    assert np.histogram(kept, bins=figure.edges)[0].tolist() == [rect.get_height() for rect in figure.hist]
    assert all(line.get_visible() for line in figure.cuts) and figure.cuts[1].get_xdata()[0] == view.cut
    figure.update(widgets.sparsity_update(lenet, "random-unstructured", 0.3, *batch))
    assert not any(line.get_visible() for line in figure.cuts)          # random pruning has no cut
    figure.update(widgets.sparsity_update(lenet, "magic", 0.3, *batch))  # a message: nothing moves, no error
    assert figure.png()[:4] == b"\x89PNG"


def test_pruning_exercises_accept_right_answers_and_hint_wrong_ones():
    class Right(prune.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            return default_mask * (t >= 0)

    class Backwards(Right):
        def compute_mask(self, t, default_mask):
            return default_mask * (t < 0)

    class IgnoresDefaultMask(Right):  # passes through a PruningContainer, but not when called directly
        def compute_mask(self, t, default_mask):
            return (t >= 0).float()

    class PrunesEverything(Right):
        def compute_mask(self, t, default_mask):
            return torch.zeros_like(default_mask)

    assert evaluate("02-prune-negative", Right).passed
    assert "negative" in evaluate("02-prune-negative", Backwards).message
    assert "default_mask" in evaluate("02-prune-negative", IgnoresDefaultMask).message
    assert "non-negative" in evaluate("02-prune-negative", PrunesEverything).message
    assert evaluate("02-prune-negative", object()).status == "not yet"


def test_timing_prediction_is_judged_by_a_measurement(monkeypatch):
    from kit.exercises import pruning as checks

    verdicts = {letter: evaluate("02-predict-masked-timing", letter) for letter in "abcd"}
    assert sum(v.passed for v in verdicts.values()) == 1, verdicts       # exactly the measured bucket passes
    assert all("measured just now" in v.message.lower() for v in verdicts.values())
    monkeypatch.setattr(checks, "masked_to_dense_ratio", lambda: 0.3)    # a machine where masks paid off
    assert evaluate("02-predict-masked-timing", "a").passed and not evaluate("02-predict-masked-timing", "c").passed
    assert evaluate("02-predict-masked-timing", "z").status == "not yet"
    assert evaluate("02-predict-masked-timing", ...).status == "not attempted"


def test_amount_exercise_runs_the_learners_function(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_PROGRESS", "off")
    from kit.train.classify import accuracy

    def right(model, images, labels, max_drop=0.01):
        dense = accuracy(model, images, labels)
        ok = [a / 20 for a in range(1, 20)
              if accuracy(pruning.pruned_copy(model, "global-l1", a / 20), images, labels) >= dense - max_drop]
        return max(ok, default=0.0)

    assert evaluate("02-amount-for-accuracy", right).passed

    def in_place(model, images, labels, max_drop=0.01):  # right number, but prunes the caller's model
        answer = right(model, images, labels, max_drop)
        prune.global_unstructured([(m, "weight") for _, m in pruning.prunable(model)],
                                  pruning_method=prune.L1Unstructured, amount=answer)
        return answer

    assert "copy" in evaluate("02-amount-for-accuracy", in_place).message
    verdict = evaluate("02-amount-for-accuracy", lambda model, images, labels, max_drop: 0.99)
    assert verdict.status == "not yet" and "0.05, 0.10" in verdict.message
