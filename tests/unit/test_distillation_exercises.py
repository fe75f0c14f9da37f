"""Chapter 6's exercise checks: right answers pass, known wrong ones fail, the API cannot do the work."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import kit.exercises.distillation as checks
from kit.distillation import IGNORE, kd_loss
from kit.exercises import evaluate


def right_loss(s, t, y, temperature, alpha):
    log_q = F.log_softmax(s / temperature, -1)
    p = F.softmax(t / temperature, -1)
    soft = (p * (p.log() - log_q)).sum(-1).mean()
    labelled = y != IGNORE
    hard = F.cross_entropy(s[labelled], y[labelled]) if labelled.any() else 0.0
    return alpha * temperature**2 * soft + (1 - alpha) * hard


def nan_without_labels(s, t, y, temperature, alpha):
    log_q = F.log_softmax(s / temperature, -1)
    p = F.softmax(t / temperature, -1)
    soft = (p * (p.log() - log_q)).sum(-1).mean()
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(s, y, ignore_index=IGNORE)


def calls_torch_kl_div(s, t, y, temperature, alpha):
    """Right, but through the aten op behind F.kl_div (reduction 0: none)."""
    soft = torch.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1), 0).sum(-1).mean()
    return alpha * temperature**2 * soft + (1 - alpha) * right_loss(s, t, y, temperature, 0.0)


def no_t_squared(s, t, y, temperature, alpha):
    return right_loss(s, t, y, temperature, alpha) - alpha * (temperature**2 - 1) * right_loss(s, t, y, temperature,
                                                                                              1.0) / temperature**2


def ignores_nothing(s, t, y, temperature, alpha):
    log_q = F.log_softmax(s / temperature, -1)
    p = F.softmax(t / temperature, -1)
    soft = (p * (p.log() - log_q)).sum(-1).mean()
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(s, y.clamp_min(0))


def reverse_kl(s, t, y, temperature, alpha):
    log_p = F.log_softmax(t / temperature, -1)
    q = F.softmax(s / temperature, -1)
    soft = (q * (q.log() - log_p)).sum(-1).mean()
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(s, y, ignore_index=IGNORE)


def calls_kd_loss(s, t, y, temperature, alpha):
    return kd_loss(s, t, y, temperature=temperature, alpha=alpha)


def calls_kl_div(s, t, y, temperature, alpha):
    soft = F.kl_div(F.log_softmax(s / temperature, -1), F.softmax(t / temperature, -1), reduction="batchmean")
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(s, y, ignore_index=IGNORE)


def detached(s, t, y, temperature, alpha):
    return right_loss(s.detach(), t, y, temperature, alpha)


def test_kd_loss_right_answer_passes():
    assert evaluate("06-kd-loss", right_loss).passed


@pytest.mark.parametrize("wrong,words", [(no_t_squared, "T²"), (ignores_nothing, "-100"), (reverse_kl, "KL(teacher"),
                                         (calls_kd_loss, "yourself"), (calls_kl_div, "yourself"),
                                         (detached, "no gradient"), (kd_loss, "yourself"),
                                         (nan_without_labels, "no label term"), (calls_torch_kl_div, "yourself")])
def test_kd_loss_wrong_answers_fail(wrong, words):
    verdict = evaluate("06-kd-loss", wrong)
    assert verdict.status == "not yet" and words in verdict.message, verdict.message


def test_kd_loss_not_attempted():
    def untouched(*_):
        raise NotImplementedError

    assert evaluate("06-kd-loss", untouched).status == "not attempted"


def beat_answer(temperature, alpha):
    images = torch.randn(16, 3)
    labels = torch.zeros(16, dtype=torch.long)
    labels[:12] = IGNORE
    return (temperature, alpha, lambda seed: nn.Linear(3, 2), images, labels, torch.zeros(16, 2), images,
            torch.zeros(16, dtype=torch.long), 10, 0.1, 1e-3, 0)


@pytest.fixture
def scored(monkeypatch):
    """Validation accuracy as a known function of (T, alpha): the logic of the check, without training."""
    def fake(*args):
        temperature, alpha = args[-2:]
        return 0.70 + 0.08 * alpha - 0.004 * abs(temperature - 4)

    monkeypatch.setattr(checks, "_validation_accuracy", fake)


def test_beat_student_passes_a_better_choice(scored):
    assert evaluate("06-beat-student", beat_answer(4.0, 0.9)).passed


@pytest.mark.parametrize("temperature,alpha,words", [(1.0, 0.1, "cannot beat itself"), (1.0, 0.15, "no label"),
                                                     (4.0, 0.0, "no label"), (0.0, 0.9, "temperature"),
                                                     (4.0, 1.5, "alpha")])
def test_beat_student_refuses_weaker_or_invalid_choices(scored, temperature, alpha, words):
    verdict = evaluate("06-beat-student", beat_answer(temperature, alpha))
    assert verdict.status == "not yet" and words in verdict.message, verdict.message


def test_beat_student_not_attempted():
    assert evaluate("06-beat-student", beat_answer(..., ...)).status == "not attempted"


def test_beat_student_trains_for_real_and_repeatably():
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(128, 4, generator=generator)
    labels = (images[:, 0] > 0).long()
    logits = torch.stack([-images[:, 0], images[:, 0]], 1) * 3

    def make(seed):
        torch.manual_seed(seed)
        return nn.Linear(4, 2)

    runs = [checks._validation_accuracy(make, images, labels, logits, images, labels, 400, 0.1, 1e-2, [0, 1], 2.0,
                                        0.5) for _ in range(2)]
    assert runs[0] == runs[1] and runs[0] > 0.8


class FixedStudent(nn.Module):
    """Sends images whose first pixel is 5 (the omitted class) to class 2 mostly, others to their own class."""

    def forward(self, x):
        labels = x[:, 0].long()
        out = F.one_hot(labels, 6).float()
        omitted = labels == 5
        out[omitted] = F.one_hot(torch.tensor([2, 2, 2, 4])[torch.arange(int(omitted.sum())) % 4], 6).float()
        return out


def confusion_answer(guess):
    labels = torch.tensor([0, 1, 2, 3, 4] * 2 + [5] * 8)
    return guess, FixedStudent(), labels.float()[:, None], labels, "f", list("abcdef")


def test_omitted_confusion_right_guess_passes():
    verdict = evaluate("06-omitted-confusion", confusion_answer("c"))
    assert verdict.passed and "75%" in verdict.message


@pytest.mark.parametrize("guess,words", [("e", "not e"), ("f", "almost never predicts"), ("z", "one of the class")])
def test_omitted_confusion_wrong_guesses_fail(guess, words):
    verdict = evaluate("06-omitted-confusion", confusion_answer(guess))
    assert verdict.status == "not yet" and words in verdict.message, verdict.message
