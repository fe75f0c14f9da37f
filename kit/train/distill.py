"""Training a student from the teacher's cached logits (chapter 6), with the same batches as any other run."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from kit.distillation import IGNORE, check_class_counts, check_settings, kd_loss
from kit.train.batches import epoch_batches
from kit.train.loop import History, train_steps
from kit.train.precision import FP32
from kit.train.resume import ResumeFile


def fit_student(
    student: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    teacher_logits: torch.Tensor | None,
    *,
    temperature: float = 4.0,
    alpha: float = 0.5,
    epochs: float = 1.0,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    desc: str | None = "training the student",
    warmup: float | None = None,
    on_step: Callable[[int, nn.Module], None] | None = None,
    steps: int | None = None,
) -> History:
    """Adam on seeded shuffles of (images, labels), the loss `kd_loss` against the cached teacher logits.

    `warmup` (a fraction of the steps) ramps the learning rate up, then lets it decay linearly to 0;
    `on_step(step, student)` runs after each update (e.g. to freeze observers late in QAT). `steps`, when
    given, is the number of updates (instead of `epochs` passes): students on sets of different sizes
    then get exactly the same budget.

    With `teacher_logits=None` it is plain cross-entropy (alpha must then be 0): the labels-only baseline
    sees the very same batches. Labels equal to IGNORE (-100) mark images the student learns from the
    teacher alone.
    """
    check_settings(temperature, alpha)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    if teacher_logits is None:
        if alpha != 0:
            raise ValueError("without teacher logits only the label term exists: pass alpha=0 (labels only)")
        if (labels == IGNORE).all():
            raise ValueError("no image has a label and there is no teacher: nothing to learn from")
    elif len(teacher_logits) != len(images):
        raise ValueError(f"{len(teacher_logits)} teacher logits for {len(images)} images: compute them with "
                         "kit.distillation.teacher_logits(teacher, images) on these very images")
    else:
        with torch.no_grad():
            check_class_counts(teacher_logits[:1], student.eval()(images[:1]))
    per_epoch, next_indices = epoch_batches(len(labels), batch_size, seed)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        idx = next_indices()
        return images[idx], idx

    def loss_fn(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        if teacher_logits is None:   # labels only: no soft term to compute
            return F.cross_entropy(logits, labels[idx], ignore_index=IGNORE)
        return kd_loss(logits, teacher_logits[idx], labels[idx], temperature=temperature, alpha=alpha)

    total = steps if steps is not None else max(1, round(epochs * per_epoch))
    return train_steps(student, next_batch, steps=total, lr=lr, loss_fn=loss_fn, desc=desc, sampler=next_indices,
                       warmup=warmup, on_step=on_step)


def distill_pairs(
    student: nn.Module,
    encoded: dict[str, torch.Tensor],
    teacher_logits: torch.Tensor,
    *,
    temperature: float = 2.0,
    alpha: float = 0.5,
    epochs: float = 3.0,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
    desc: str | None = "distilling",
    resume: ResumeFile | None = None,
    bucket: bool = False,
    precision: str = FP32,
) -> History:
    """A sentence-pair student trained on `kd_loss` against cached teacher logits; as `fine_tune_pairs`
    otherwise (AdamW, warm-up then linear decay, grad-norm clip 1.0), resumable with `resume`.

    alpha = 0 is the labels-only student (plain cross-entropy), trained on the very same batches.
    `bucket` batches pairs of similar length together (kit.train.pairs.pair_sampler): each batch is trimmed to
    its longest pair, so less of it is padding. `precision` 'bf16' runs the forward pass under bf16 autocast.
    """
    from kit.train.pairs import _logits, _rows, pair_sampler

    check_settings(temperature, alpha)
    labels = encoded["labels"]
    if len(teacher_logits) != len(labels):
        raise ValueError(f"{len(teacher_logits)} teacher logits for {len(labels)} pairs: compute them on these "
                         "very pairs (kit.train.pairs.pair_logits)")
    next_indices = pair_sampler(encoded, batch_size, seed, bucket)

    def next_batch() -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        idx = next_indices()
        return _rows(encoded, idx), idx

    def loss_fn(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return kd_loss(logits, teacher_logits[idx], labels[idx], temperature=temperature, alpha=alpha)

    return train_steps(student, next_batch, steps=max(1, round(epochs * next_indices.per_epoch)), lr=lr,
                       loss_fn=loss_fn, clip=1.0, forward=_logits, weight_decay=0.01, warmup=0.1, desc=desc,
                       resume=resume, sampler=next_indices, precision=precision)
