"""Image classification: fit with shuffled mini-batches, evaluate with sklearn metrics."""

from __future__ import annotations

import torch
from torch import nn

from kit.train.batches import epoch_batches, in_chunks
from kit.train.loop import History, train_steps
from kit.train.precision import FP32
from kit.train.resume import ResumeFile


def fit_classifier(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: float = 1.0,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    clip: float | None = None,
    desc: str | None = "training",
    resume: ResumeFile | None = None,
    warmup: float | None = None,
    weight_decay: float = 0.0,
    precision: str = FP32,
) -> History:
    """Train for `epochs` passes (fractions allowed) over seeded shuffles of (images, labels) with Adam.

    `warmup` (a fraction of the steps) adds a linear warm-up then linear decay of the learning rate;
    `weight_decay` > 0 uses AdamW; `precision` 'bf16' runs the forward pass under bf16 autocast. With `resume`,
    an interrupted run continues where its last saved state left it.
    """
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    per_epoch, next_indices = epoch_batches(len(labels), batch_size, seed)

    def next_batch() -> tuple[torch.Tensor, torch.Tensor]:
        idx = next_indices()
        return images[idx], labels[idx]

    return train_steps(model, next_batch, steps=max(1, round(epochs * per_epoch)), lr=lr, clip=clip, desc=desc,
                       resume=resume, sampler=next_indices, warmup=warmup, weight_decay=weight_decay,
                       precision=precision)


@torch.inference_mode()
def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Predicted class of every input (the model is put in eval mode)."""
    model.eval()
    return torch.cat([model(inputs[chunk]).argmax(dim=1) for chunk in in_chunks(len(inputs), batch_size)])


def accuracy(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of inputs whose predicted class is the label."""
    return float((predict(model, inputs) == labels).float().mean())


def classification_metrics(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Accuracy and macro-F1 (sklearn) of the model on a labelled set."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = predict(model, inputs).numpy()
    truth = labels.numpy()
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "f1_macro": float(f1_score(truth, predicted, average="macro")),
    }
