"""kit.distillation: the KD loss (its T^2 factor, unlabelled images), cached teacher outputs, clear errors."""

import pytest
import torch
from torch import nn

from kit import distillation as kd
from kit.models.cnn import SmallCNN
from kit.models.lenet import LeNet


def soft_gradient_norm(temperature, scaled):
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(32, 10, generator=generator, requires_grad=True)
    teacher = torch.randn(32, 10, generator=generator) * 3
    loss = kd.kd_loss(student, teacher, torch.zeros(32, dtype=torch.long), temperature=temperature, alpha=1.0)
    if not scaled:
        loss = loss / temperature**2
    (grad,) = torch.autograd.grad(loss, student)
    return grad.norm().item()


def test_labelled_subset_keeps_a_share_of_every_class_the_same_way_each_time():
    labels = torch.arange(10).repeat_interleave(torch.tensor([50, 40, 30, 20, 10, 9, 8, 7, 6, 5]))
    chosen = kd.labelled_subset(labels, 0.1)
    assert labels[chosen].bincount(minlength=10).tolist() == [5, 4, 3, 2, 1, 1, 1, 1, 1, 1]   # at least one
    assert torch.equal(chosen, chosen.sort().values) and len(chosen.unique()) == len(chosen)
    assert torch.equal(chosen, kd.labelled_subset(labels, 0.1, seed=0))
    assert not torch.equal(chosen, kd.labelled_subset(labels, 0.1, seed=1))
    for bad in (0, 1, 1.5, True, "0.1"):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            kd.labelled_subset(labels, bad)


def test_the_t_squared_factor_keeps_the_soft_gradient_size():
    scaled = [soft_gradient_norm(t, True) for t in (4, 8, 16)]
    unscaled = [soft_gradient_norm(t, False) for t in (4, 8, 16)]
    assert max(scaled) / min(scaled) < 1.3                                  # about constant with T^2 ...
    assert unscaled[0] / unscaled[1] == pytest.approx(4, rel=0.15)          # ... shrinking as 1/T^2 without
    assert unscaled[1] / unscaled[2] == pytest.approx(4, rel=0.15)


def test_alpha_zero_is_cross_entropy_and_unlabelled_images_have_only_the_soft_term():
    student, teacher = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.isclose(kd.kd_loss(student, teacher, labels, temperature=3, alpha=0.0),
                         nn.functional.cross_entropy(student, labels))
    unlabelled = torch.full((6,), kd.IGNORE)
    only_soft = kd.kd_loss(student, teacher, unlabelled, temperature=3, alpha=0.5)
    assert torch.isclose(only_soft, 0.5 * kd.kd_loss(student, teacher, labels, temperature=3, alpha=1.0))
    assert kd.kd_loss(teacher, teacher, unlabelled, temperature=2, alpha=1.0).abs() < 1e-6   # same outputs: 0


@pytest.mark.parametrize(("temperature", "alpha", "message"), [
    (0, 0.5, "T must be a positive number"), (-1, 0.5, "T must be a positive number"),
    (float("nan"), 0.5, "T must be a positive number"), (2, 1.5, r"must be in \[0, 1\]"),
    (2, -0.1, r"must be in \[0, 1\]")])
def test_bad_settings_are_refused_with_the_allowed_range(temperature, alpha, message):
    with pytest.raises(ValueError, match=message):
        kd.kd_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, dtype=torch.long),
                   temperature=temperature, alpha=alpha)


def test_teacher_and_student_must_agree_on_the_classes():
    with pytest.raises(ValueError, match="teacher scores 10 classes but the student 5: build the student with "
                                         "classes=10"):
        kd.kd_loss(torch.zeros(2, 5), torch.zeros(2, 10), torch.zeros(2, dtype=torch.long), temperature=2, alpha=0.5)
    with pytest.raises(ValueError, match="same images"):
        kd.kd_loss(torch.zeros(2, 10), torch.zeros(3, 10), torch.zeros(2, dtype=torch.long), temperature=2, alpha=0.5)


def test_teacher_of_the_wrong_kind_or_class_count_is_refused():
    with pytest.raises(TypeError, match=r"LeNet, not a SmallCNN.*kit prepare cnn-fashion"):
        kd.check_teacher(LeNet(), SmallCNN, 10)
    with pytest.raises(ValueError, match="scores 5 classes, the data has 10"):
        kd.check_teacher(SmallCNN(classes=5), SmallCNN, 10)
    model = SmallCNN(widths=(4, 8))
    assert kd.check_teacher(model, SmallCNN, 10) is model


def test_teacher_logits_are_computed_once_in_eval_mode():
    torch.manual_seed(0)
    teacher = SmallCNN(widths=(4, 8)).train()
    images = torch.randn(10, 1, 32, 32)
    cached = kd.teacher_logits(teacher, images, batch_size=3)
    assert not teacher.training and cached.shape == (10, 10)
    with torch.no_grad():
        assert torch.allclose(cached, teacher(images), atol=1e-6)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        kd.teacher_logits(teacher, images, batch_size=0)
    assert torch.allclose(kd.soften(torch.tensor([[1.0, 2.0]]), 1e9), torch.tensor([[0.5, 0.5]]))


def test_cnn_outputs_split_the_forward_pass():
    torch.manual_seed(0)
    model = SmallCNN(widths=(4, 8, 8, 16)).eval()
    x = torch.randn(3, 1, 32, 32)
    logits, hint, embedding = kd.cnn_outputs(model, x, block=2)
    with torch.no_grad():
        assert torch.allclose(logits, model(x), atol=1e-6)
    assert hint.shape == (3, 8, 8, 8) and embedding.shape == (3, 16)
    with pytest.raises(ValueError, match="conv blocks 0 to 3, not 4"):
        kd.cnn_outputs(model, x, block=4)


def test_hint_loss_is_zero_for_a_perfect_regressor_and_names_the_right_one():
    student_map = torch.randn(2, 4, 8, 8)
    regressor = nn.Conv2d(4, 6, 1)
    with torch.no_grad():
        assert kd.hint_loss(student_map, regressor(student_map), regressor) < 1e-12
    with pytest.raises(ValueError, match=r"use nn.Conv2d\(4, 12, 1\)"):
        kd.hint_loss(student_map, torch.randn(2, 12, 8, 8), regressor)


def test_relation_loss_ignores_scale_and_size_but_not_structure():
    teacher = torch.randn(16, 32)
    rotation, _ = torch.linalg.qr(torch.randn(32, 32))
    assert kd.relation_loss(3 * teacher @ rotation, teacher) < 1e-6          # same geometry, other scale/basis
    assert kd.relation_loss(torch.randn(16, 8), teacher) > 1e-3              # other geometry
    with pytest.raises(ValueError, match="at least 2 images"):
        kd.relation_loss(torch.randn(1, 8), torch.randn(1, 32))
