import copy
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


def amount_case(lenet):
    """The chapter's answer tuple, made without a checkpoint: LeNet and 200 images labelled by its own answers, a
    fifth of them relabelled so that the dense accuracy is 80 % and pruning has room to fall. The biases are
    zeroed: an untrained LeNet's biases give every image the same class, whatever the weights."""
    lenet = copy.deepcopy(lenet)
    with torch.no_grad():
        for module in lenet.modules():
            if getattr(module, "bias", None) is not None:
                module.bias.zero_()
    g = torch.Generator().manual_seed(1)
    images = torch.randn(200, 1, 32, 32, generator=g)
    with torch.no_grad():
        labels = lenet(images).argmax(dim=1)
    labels[::5] = (labels[::5] + 1) % 10
    return lenet, images, labels


def right_amount(model, images, labels, max_drop=0.01):
    from kit.train.classify import accuracy

    dense = accuracy(model, images, labels)
    ok = [a / 20 for a in range(1, 20)
          if accuracy(pruning.pruned_copy(model, "global-l1", a / 20), images, labels) >= dense - max_drop]
    return max(ok, default=0.0)


def test_amount_exercise_takes_the_chapters_model_and_validation_data(lenet):
    case = amount_case(lenet)
    verdict = evaluate("02-amount-for-accuracy", (right_amount, *case))
    assert verdict.passed, verdict
    assert evaluate("02-amount-for-accuracy", (..., *case)).status == "not attempted"

    def template(model, images, labels, max_drop=0.01):
        raise NotImplementedError

    assert evaluate("02-amount-for-accuracy", (template, *case)).status == "not attempted"


def test_amount_exercise_refuses_wrong_answers(lenet):
    from kit.exercises import pruning as checks

    case = amount_case(lenet)

    def in_place(model, images, labels, max_drop=0.01):  # right number, but prunes the caller's model
        answer = right_amount(model, images, labels, max_drop)
        prune.global_unstructured([(m, "weight") for _, m in pruning.prunable(model)],
                                  pruning_method=prune.L1Unstructured, amount=answer)
        return answer

    model = copy.deepcopy(case[0])
    assert "copy" in evaluate("02-amount-for-accuracy", (in_place, model, *case[1:])).message
    constant = evaluate("02-amount-for-accuracy", (lambda model, images, labels, max_drop: 0.99, *case))
    assert constant.status == "not yet" and "0.05, 0.10" in constant.message
    # A constant that is right on the chapter's case still fails the check's own case (another max_drop).
    first = right_amount(*case, 0.01)
    with torch.no_grad():
        second = right_amount(case[0], case[1], case[0](case[1]).argmax(dim=1), 0.05)
    assert first != second, "the two cases must differ for this test to mean anything"
    fixed = evaluate("02-amount-for-accuracy", (lambda model, images, labels, max_drop: first, *case))
    assert fixed.status == "not yet" and "own case" in fixed.message
    # The check's own answer cannot be handed in, nor called from the learner's function.
    assert "yourself" in evaluate("02-amount-for-accuracy", (checks._best_global_amount, *case)).message

    def borrowed(model, images, labels, max_drop=0.01):
        return checks._best_global_amount(model, images, labels, max_drop)

    assert "yourself" in evaluate("02-amount-for-accuracy", (borrowed, *case)).message
    assert checks._best_global_amount(*case, 0.01) == first          # restored after the check


@pytest.mark.parametrize("bad, words", [
    (lambda case: right_amount, "(pick_amount, lenet, valid_images, valid_labels)"),
    (lambda case: (right_amount, case[0]), "(pick_amount, lenet, valid_images, valid_labels)"),
    (lambda case: (right_amount, "lenet", case[1], case[2]), "dense model"),
    (lambda case: (right_amount, pruning.pruned_copy(case[0], "global-l1", 0.5), case[1], case[2]), "dense model"),
    (lambda case: (right_amount, case[0], case[1][:50], case[2][:50]), "at least 100"),
    (lambda case: (right_amount, case[0], case[1], case[2][:150]), "same length"),
])
def test_amount_exercise_explains_a_malformed_answer(lenet, bad, words):
    verdict = evaluate("02-amount-for-accuracy", bad(amount_case(lenet)))
    assert verdict.status == "not yet" and words in verdict.message, verdict
