"""Checks for chapter 6 (knowledge distillation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function, unpack

GIVEN_TEMPERATURE, GIVEN_ALPHA = 1.0, 0.1   # the student exercise 06-beat-student asks to beat
MARGIN = 0.01                               # ... by one point of validation accuracy, over two seeds


def _terms(s: torch.Tensor, t: torch.Tensor, y: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(KL(teacher || student) at T, averaged over the batch; cross-entropy over the labelled rows)."""
    log_q = F.log_softmax(s / temperature, dim=-1)
    p = F.softmax(t / temperature, dim=-1)
    soft = (p * (p.clamp_min(1e-30).log() - log_q)).sum(-1).mean()
    labelled = y != -100
    hard = F.cross_entropy(s[labelled], y[labelled]) if labelled.any() else s.sum() * 0
    return soft, hard


@exercise("06-kd-loss")
def _kd_loss(answer: Any) -> str:
    expect_function(answer, "my_kd_loss(student_logits, teacher_logits, labels, temperature, alpha)")
    import torch.distributions.kl

    import kit.distillation as distillation

    apis = [(distillation, "kd_loss"), (F, "kl_div"), (torch.nn.KLDivLoss, "forward"), (torch, "kl_div"),
            (torch.distributions, "kl_divergence"), (torch.distributions.kl, "kl_divergence")]
    generator = torch.Generator().manual_seed(60)
    # (T, alpha, how many of the 12 rows have no label): the last but one case is a batch without any label
    for temperature, alpha, unlabelled in ((1.0, 0.5, 0), (4.0, 0.5, 0), (4.0, 0.9, 5), (16.0, 0.3, 0),
                                           (2.0, 1.0, 0), (4.0, 0.7, 12), (8.0, 0.0, 3)):
        s = (torch.randn(12, 10, generator=generator) * 3).requires_grad_(True)
        t = torch.randn(12, 10, generator=generator) * 6
        y = torch.randint(0, 10, (12,), generator=generator)
        y[:unlabelled] = -100
        soft, hard = _terms(s, t, y, temperature)
        expected = alpha * temperature**2 * soft + (1 - alpha) * hard
        (expected_grad,) = torch.autograd.grad(expected, s)
        with forbidden(*apis, reason="write the KL divergence from log_softmax and softmax yourself: kd_loss and "
                       "F.kl_div (torch.kl_div, kl_divergence) are what this exercise rebuilds.", learner=answer):
            got = answer(s, t, y, temperature, alpha)
        if not isinstance(got, torch.Tensor) or got.numel() != 1:
            raise NotYet("return the loss as a single-element tensor (a mean over the batch), so it can backprop.")
        if not got.requires_grad:
            raise NotYet("the loss carries no gradient: compute it from student_logits without detaching them.")
        (grad,) = torch.autograd.grad(got.reshape(()), s)
        if not torch.allclose(got.detach(), expected.detach(), rtol=1e-4, atol=1e-5):
            no_t2 = alpha * soft + (1 - alpha) * hard
            hint = (f"at T = {temperature:g}, alpha = {alpha:g} your loss is {float(got.detach()):.5f}, expected "
                    f"{float(expected.detach()):.5f}")
            if torch.allclose(got.detach(), no_t2.detach(), rtol=1e-4, atol=1e-5):
                hint += ": the soft term needs the factor T² (its gradient shrinks as 1/T² otherwise)"
            elif unlabelled == len(y):
                hint += (": every label of this batch is -100, so it has no label term at all (cross-entropy with "
                         "ignore_index=-100 averages over zero rows there: 0/0 = nan)")
            elif unlabelled:
                hint += ": labels of -100 mark unlabelled images, which have no label term (ignore_index=-100)"
            else:
                hint += ": KL(teacher || student) = sum p_teacher * (log p_teacher - log q_student), both at T, " \
                        "averaged over the batch; the label term is the plain cross-entropy at T = 1"
            raise NotYet(hint + ".")
        if not torch.allclose(grad, expected_grad, rtol=1e-3, atol=1e-6):
            raise NotYet(f"the value is right but the gradient is not (T = {temperature:g}): is the teacher's side "
                         "detached and the student's not?")
    return "Your loss matches in value and gradient at every T and alpha, with and without labels."


def _validation_accuracy(make_student: Callable[[int], torch.nn.Module], images: torch.Tensor,
                         labels: torch.Tensor, teacher_logits: torch.Tensor, valid_x: torch.Tensor,
                         valid_y: torch.Tensor, steps: int, warmup: float, lr: float, seeds: list[int],
                         temperature: float, alpha: float) -> float:
    from kit.train.classify import accuracy
    from kit.train.distill import fit_student

    scores = []
    for seed in seeds:
        student = make_student(seed)
        fit_student(student, images, labels, teacher_logits, temperature=temperature, alpha=alpha, steps=steps,
                    warmup=warmup, lr=lr, seed=seed, desc=None)
        scores.append(accuracy(student, valid_x, valid_y))
    return sum(scores) / len(scores)


@exercise("06-beat-student")
def _beat_student(answer: Any) -> str:
    (temperature, alpha, make_student, images, labels, teacher_logits, valid_x, valid_y, steps, warmup, lr,
     seed) = unpack(answer, 12, "answer with (my_temperature, my_alpha, make_student, fit_x, beat_labels, "
                                "fit_teacher_logits, valid_x, valid_y, STEPS, WARMUP, STUDENT_LR, SEED), as the cell "
                                "gives it.")
    if temperature is Ellipsis or alpha is Ellipsis:
        raise NotYet("set both my_temperature and my_alpha.")
    from kit.distillation import check_settings

    try:
        check_settings(temperature, alpha)
    except ValueError as error:
        raise NotYet(str(error)) from None
    if (float(temperature), float(alpha)) == (GIVEN_TEMPERATURE, GIVEN_ALPHA):
        raise NotYet("those are the given student's own settings: it cannot beat itself.")
    seeds = [seed, seed + 1]
    settings = (steps, warmup, lr, seeds)
    given = _validation_accuracy(make_student, images, labels, teacher_logits, valid_x, valid_y, *settings,
                                 GIVEN_TEMPERATURE, GIVEN_ALPHA)
    yours = _validation_accuracy(make_student, images, labels, teacher_logits, valid_x, valid_y, *settings,
                                 float(temperature), float(alpha))
    if yours < given + MARGIN:
        unlabelled = float((labels == -100).float().mean())
        raise NotYet(f"your student reaches {yours:.2%} on the validation images, the given one {given:.2%}. "
                     f"{unlabelled:.0%} of these images have no label: which term is the only one they feed?")
    return (f"Your student (T = {float(temperature):g}, alpha = {float(alpha):g}) reaches {yours:.2%} on the "
            f"validation images against the given student's {given:.2%} (mean of seeds {seeds[0]} and {seeds[1]}).")


@exercise("06-omitted-confusion")
def _omitted_confusion(answer: Any) -> str:
    guess, student, test_x, test_y, omitted, classes = unpack(
        answer, 6, "answer with (my_confused_class, omitted_students[SEED], test_x, test_y, OMITTED, classes).")
    classes = list(classes)
    if guess not in classes:
        raise NotYet(f"answer with one of the class names: {', '.join(classes)}.")
    index = classes.index(omitted)
    if guess == omitted:
        raise NotYet(f"the uncorrected student almost never predicts {omitted}: which other class takes its images?")
    with torch.no_grad():
        predicted = student(test_x[test_y == index]).argmax(1)
    counts = predicted.bincount(minlength=len(classes))
    counts[index] = -1
    taken = int(counts.argmax())
    share = float(counts[taken]) / max(1, len(predicted))
    if classes[taken] != guess:
        raise NotYet(f"not {guess}: the teacher's similarity map is where to start (which class does the teacher find "
                     f"most like {omitted}?), but what counts is this student's own answers, which can differ from "
                     f"the teacher's view: count the classes it predicts for the {omitted} test images.")
    return f"Yes: the student calls {share:.0%} of the {omitted} test images {guess}."
