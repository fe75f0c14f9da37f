import math

import pytest
import torch
from torch.nn.utils import parametrizations

from kit.data.sequences import remember_first_batch
from kit.models.rnn_classifier import RNNClassifier
from kit.train import History, progress, train_steps


def test_remember_first_batch_layout():
    inputs, targets = remember_first_batch(16, 10, 4, torch.Generator().manual_seed(0))
    assert inputs.shape == (16, 10, 5) and targets.shape == (16,)
    assert torch.equal(inputs[:, 0, :4].argmax(dim=1), targets)
    assert torch.all(inputs[:, 0, 4] == 0) and torch.all(inputs[:, 1:, 4] == 1)
    assert torch.all(inputs[:, 1:, :4] == 0)


def test_remember_first_batch_is_reproducible():
    a = remember_first_batch(8, 5, 3, torch.Generator().manual_seed(1))
    b = remember_first_batch(8, 5, 3, torch.Generator().manual_seed(1))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize(("args", "match"), [((4, 1, 4), "length"), ((4, 5, 1), "classes"), ((0, 5, 4), "batch")])
def test_remember_first_batch_validates(args, match):
    with pytest.raises(ValueError, match=match):
        remember_first_batch(*args, torch.Generator())


def test_train_steps_learns_a_short_task(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")
    torch.manual_seed(0)
    model = RNNClassifier(3, 16, 2)
    data = torch.Generator().manual_seed(0)
    seen = []
    history = train_steps(
        model,
        lambda: remember_first_batch(32, 3, 2, data),
        steps=120,
        lr=1e-2,
        on_step=lambda step, m: seen.append(step),
    )
    assert isinstance(history, History)
    assert len(history.losses) == len(history.grad_norms) == 120 == len(seen)
    assert history.final_loss() < 0.3 * math.log(2)
    assert history.seconds > 0
    assert not model.training


def test_train_steps_keeps_a_parametrized_kernel_orthogonal(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")
    torch.manual_seed(0)
    model = RNNClassifier(3, 8, 2)
    parametrizations.orthogonal(model.rnn, "weight_hh_l0")
    data = torch.Generator().manual_seed(0)
    train_steps(model, lambda: remember_first_batch(8, 6, 2, data), steps=20, lr=1e-2)
    W = model.rnn.weight_hh_l0.detach()
    assert torch.allclose(W.T @ W, torch.eye(8), atol=1e-5)


def test_train_steps_reports_divergence(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")
    model = RNNClassifier(3, 4, 2)

    def nan_batch():
        return torch.full((2, 3, 3), float("nan")), torch.zeros(2, dtype=torch.long)

    with pytest.raises(FloatingPointError, match="learning rate"):
        train_steps(model, nan_batch, steps=1)


def test_train_steps_rejects_zero_steps():
    with pytest.raises(ValueError, match="steps"):
        train_steps(RNNClassifier(3, 4, 2), lambda: None, steps=0)


@pytest.mark.parametrize("mode", ["off", "text", "auto"])
def test_progress_modes_yield_everything(monkeypatch, mode):
    monkeypatch.setenv("KIT_PROGRESS", mode)
    assert list(progress(range(5), total=5)) == [0, 1, 2, 3, 4]
