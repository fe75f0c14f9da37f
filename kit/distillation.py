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


def labelled_subset(labels: torch.Tensor, fraction: float, seed: int = 0) -> torch.Tensor:
    """The sorted indices of the images that keep their label: `fraction` of each class (at least one),
    drawn with a seeded generator, so the chapter and the few-label teacher's recipe pick the same ones."""
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 < fraction < 1:
        raise ValueError(f"the labelled fraction must be a number strictly between 0 and 1, got {fraction!r}")
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique(sorted=True).tolist():
        members = (labels == c).nonzero().flatten()
        keep = max(1, round(fraction * len(members)))
        chosen.append(members[torch.randperm(len(members), generator=generator)[:keep]])
    return torch.cat(chosen).sort().values


@torch.inference_mode()
def teacher_logits(teacher: nn.Module, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The teacher's logits for every image, computed once (eval mode) so training never runs the teacher."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    teacher.eval()
    return torch.cat([teacher(chunk) for chunk in images.split(batch_size)])


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


def _block_end(model: nn.Module, block: int) -> int:
    """The index in model.features just after conv block `block` (0-based) of a SmallCNN."""
    blocks = [i for i, layer in enumerate(model.features) if isinstance(layer, nn.Sequential)]
    if not 0 <= block < len(blocks):
        raise ValueError(f"this CNN has conv blocks 0 to {len(blocks) - 1}, not {block}")
    return blocks[block] + 1


def cnn_hint(model: nn.Module, images: torch.Tensor, block: int) -> torch.Tensor:
    """The output of conv block `block` (0-based) of a SmallCNN, computing no layer after it (a teacher's hint)."""
    return model.features[:_block_end(model, block)](images)


def cnn_outputs(model: nn.Module, images: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, the output of conv block `block` (0-based), the pooled embedding) of a SmallCNN in one pass."""
    cut = _block_end(model, block)
    hint = model.features[:cut](images)
    embedding = model.flatten(model.features[cut:](hint))
    return model.classifier(embedding), hint, embedding


def hint_loss(student_hint: torch.Tensor, teacher_hint: torch.Tensor, regressor: nn.Module) -> torch.Tensor:
    """FitNets (Romero et al., 2015): mean squared error between regressor(student's map) and the teacher's map."""
    mapped = regressor(student_hint)
    if mapped.shape != teacher_hint.shape:
        raise ValueError(f"the regressor maps the student's {tuple(student_hint.shape[1:])} feature map to "
                         f"{tuple(mapped.shape[1:])}, the teacher's is {tuple(teacher_hint.shape[1:])}: use "
                         f"nn.Conv2d({student_hint.shape[1]}, {teacher_hint.shape[1]}, 1) at the same resolution")
    return F.mse_loss(mapped, teacher_hint.detach())


def relation_loss(student_embedding: torch.Tensor, teacher_embedding: torch.Tensor) -> torch.Tensor:
    """Relational KD, distance-wise (Park et al., 2019): the pairwise distances between the batch's samples,
    each set divided by its mean, compared with smooth L1 — the embeddings may have different sizes."""
    if len(student_embedding) != len(teacher_embedding) or len(student_embedding) < 2:
        raise ValueError("relation distillation compares pairs of the same images: pass embeddings of one batch "
                         f"of at least 2 images to both (got {len(student_embedding)} and {len(teacher_embedding)})")

    def normalised_distances(embedding: torch.Tensor) -> torch.Tensor:
        distances = torch.cdist(embedding.flatten(1), embedding.flatten(1))
        off_diagonal = distances[~torch.eye(len(embedding), dtype=torch.bool, device=embedding.device)]
        return off_diagonal / off_diagonal.mean().clamp_min(1e-12)

    return F.smooth_l1_loss(normalised_distances(student_embedding), normalised_distances(teacher_embedding).detach())
