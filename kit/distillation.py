"""Knowledge distillation (Hinton et al., 2015): the checked loss, the teacher's outputs computed once.

Chapter 6 writes the loss in its own cells; this module is the checked copy its sweeps and exercises use,
and it refuses bad settings before any training: a temperature that is not positive, a weight outside
[0, 1], a teacher and a student that disagree on the number of classes, a teacher that is not a trained
classifier of the expected kind.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

IGNORE = -100   # the label of an image without one (the transfer set): only the teacher's soft targets apply


def check_settings(temperature: float, alpha: float) -> None:
    """Refuse a temperature T <= 0 (or not finite) and a weight alpha outside [0, 1]."""
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature T must be a positive number (T = 1 is the plain softmax; Hinton et al. "
                         f"used 2-20), got {temperature!r}")
    if not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
        raise ValueError(f"alpha weighs the soft term against the label term and must be in [0, 1] "
                         f"(0: labels only, 1: teacher only), got {alpha!r}")


def soften(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T): T > 1 spreads probability onto the classes the model finds similar."""
    check_settings(temperature, 0.0)
    return F.softmax(logits / temperature, dim=-1)


def check_class_counts(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> None:
    """Teacher and student must score the same classes, in the same batch."""
    if teacher_logits.shape[-1] != student_logits.shape[-1]:
        raise ValueError(f"the teacher scores {teacher_logits.shape[-1]} classes but the student "
                         f"{student_logits.shape[-1]}: build the student with "
                         f"classes={teacher_logits.shape[-1]}")
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"teacher logits {tuple(teacher_logits.shape)} and student logits "
                         f"{tuple(student_logits.shape)} must describe the same images: index the cached "
                         "teacher logits with the batch's indices")


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, *,
            temperature: float, alpha: float) -> torch.Tensor:
    """alpha * T^2 * KL(p_teacher || p_student) at temperature T + (1 - alpha) * cross-entropy with the labels.

    The T^2 keeps the soft term's gradient the same size whatever T (it shrinks as 1/T^2 otherwise).
    Labels equal to IGNORE (-100) have no label term; a batch without labels has only the soft term.
    """
    check_settings(temperature, alpha)
    check_class_counts(teacher_logits, student_logits)
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.softmax(teacher_logits.detach() / temperature, dim=-1), reduction="batchmean")
    labelled = labels != IGNORE
    hard = (F.cross_entropy(student_logits[labelled], labels[labelled]) if labelled.any()
            else student_logits.sum() * 0.0)
    return alpha * temperature**2 * soft + (1 - alpha) * hard


@torch.inference_mode()
def teacher_logits(teacher: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The teacher's logits for every image, computed once (eval mode) so training never runs the teacher."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    teacher.eval()
    return torch.cat([teacher(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def check_teacher(teacher: object, expected: type[nn.Module], classes: int) -> nn.Module:
    """The teacher must be a trained `expected` model scoring `classes` classes (e.g. chapter 5's SmallCNN)."""
    if not isinstance(teacher, expected):
        raise TypeError(f"the teacher is a {type(teacher).__name__}, not a {expected.__name__}: load chapter 5's "
                        "CNN with kit.checkpoints.ensure('cnn-fashion').model (python -m kit prepare cnn-fashion)")
    head = [m for m in teacher.modules() if isinstance(m, nn.Linear)][-1]
    if head.out_features != classes:
        raise ValueError(f"the teacher scores {head.out_features} classes, the data has {classes}: train (or "
                         "load) a teacher on the same dataset")
    return teacher
