"""kit.train.distill.fit_student: same batches for every method, the teacher's logits used, bad input refused."""

import pytest
import torch

from kit.distillation import IGNORE, teacher_logits
from kit.models.cnn import SmallCNN
from kit.train.distill import fit_student


def tiny_data(n=64):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(n, 1, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (n,), generator=generator)
    return images, labels


def test_labels_only_equals_alpha_zero_with_a_teacher():
    images, labels = tiny_data()
    torch.manual_seed(1)
    a, b = SmallCNN(widths=(4, 8)), SmallCNN(widths=(4, 8))
    b.load_state_dict(a.state_dict())
    teacher = teacher_logits(SmallCNN(widths=(4, 8)), images)
    history_a = fit_student(a, images, labels, None, alpha=0.0, epochs=1, batch_size=16, desc=None)
    history_b = fit_student(b, images, labels, teacher, alpha=0.0, epochs=1, batch_size=16, desc=None)
    assert history_a.losses == pytest.approx(history_b.losses)        # same batches, same loss


def test_a_student_learns_the_teacher_without_labels():
    images, _ = tiny_data(128)
    torch.manual_seed(2)
    teacher_model = SmallCNN(widths=(4, 8))
    cached = teacher_logits(teacher_model, images)
    student = SmallCNN(widths=(4, 8))
    unlabelled = torch.full((128,), IGNORE)
    history = fit_student(student, images, unlabelled, cached, alpha=1.0, temperature=2, epochs=8, lr=3e-3,
                          batch_size=32, desc=None)
    assert history.losses[-1] < 0.5 * history.losses[0]


def test_steps_give_students_on_sets_of_any_size_the_same_budget():
    images, labels = tiny_data()
    for n in (64, 10):
        history = fit_student(SmallCNN(widths=(4, 8)), images[:n], labels[:n], None, alpha=0.0, steps=7,
                              batch_size=16, warmup=0.1, desc=None)
        assert len(history.losses) == 7
    with pytest.raises(ValueError, match="steps must be a whole number"):
        fit_student(SmallCNN(widths=(4, 8)), images, labels, None, alpha=0.0, steps=0)


def test_bad_input_is_refused_before_training():
    images, labels = tiny_data(8)
    student = SmallCNN(widths=(4, 8))
    with pytest.raises(ValueError, match="pass alpha=0"):
        fit_student(student, images, labels, None, alpha=0.5)
    with pytest.raises(ValueError, match="8 images but 7 labels"):
        fit_student(student, images, labels[:7], None, alpha=0.0)
    with pytest.raises(ValueError, match="nothing to learn from"):
        fit_student(student, images, torch.full((8,), IGNORE), None, alpha=0.0)
    with pytest.raises(ValueError, match="7 teacher logits for 8 images"):
        fit_student(student, images, labels, torch.zeros(7, 10))
    with pytest.raises(ValueError, match="build the student with classes=5"):
        fit_student(student, images, labels, torch.zeros(8, 5))
    with pytest.raises(ValueError, match="temperature T must be a positive"):
        fit_student(student, images, labels, torch.zeros(8, 10), temperature=0)
