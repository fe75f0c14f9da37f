"""Sentence-pair classification with a Hugging Face model: encode, fine-tune, evaluate (F1, accuracy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from kit.data.mrpc import SentencePair
from kit.train.batches import EpochSampler, LengthBucketSampler, in_chunks
from kit.train.loop import History, train_steps
from kit.train.precision import FP32
from kit.train.resume import ResumeFile

Encoded = dict[str, torch.Tensor]


def encode_pairs(tokenizer: Any, pairs: Sequence[SentencePair], max_length: int = 128) -> Encoded:
    """[CLS] a [SEP] b [SEP] ids, token_type_ids and attention_mask (padded to the longest), plus labels."""
    encoded = tokenizer(
        [p.text1 for p in pairs],
        [p.text2 for p in pairs],
        padding="longest",
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    encoded = dict(encoded)
    encoded["labels"] = torch.tensor([p.label for p in pairs], dtype=torch.int64)
    return encoded


def _rows(encoded: Encoded, index: torch.Tensor | slice) -> Encoded:
    """A sub-batch, trimmed to its longest sequence (less padding, faster)."""
    batch = {k: v[index] for k, v in encoded.items()}
    length = int(batch["attention_mask"].sum(dim=1).max())
    return {k: (v[:, :length].contiguous() if v.dim() == 2 else v) for k, v in batch.items()}


def _logits(model: nn.Module, inputs: Encoded) -> torch.Tensor:
    return model(**{k: v for k, v in inputs.items() if k != "labels"}).logits


def pair_sampler(encoded: Encoded, batch_size: int, seed: int, bucket: bool) -> EpochSampler | LengthBucketSampler:
    """What draws a pair loop's batches: a seeded reshuffle per epoch, or with `bucket` batches of pairs of similar
    length (kit.train.batches.LengthBucketSampler), so that trimming each batch to its longest pair removes more
    padding. Either way every pair is seen once per epoch."""
    if bucket:
        return LengthBucketSampler(encoded["attention_mask"].sum(dim=1), batch_size, seed)
    return EpochSampler(len(encoded["labels"]), batch_size, seed)


def fine_tune_pairs(
    model: nn.Module,
    encoded: Encoded,
    *,
    epochs: float = 3.0,
    batch_size: int = 32,
    lr: float = 5e-5,
    seed: int = 0,
    desc: str | None = "fine-tuning",
    resume: ResumeFile | None = None,
    bucket: bool = False,
    precision: str = FP32,
) -> History:
    """AdamW (weight decay 0.01), linear warm-up over 10 % of the steps then linear decay, grad-norm clip 1.0.

    `bucket` batches pairs of similar length (`pair_sampler`); `precision` 'bf16' runs the forward pass under bf16
    autocast (kit.train.precision). With `resume`, an interrupted run continues where its last saved state left it.
    """
    next_indices = pair_sampler(encoded, batch_size, seed, bucket)
    per_epoch = next_indices.per_epoch

    def next_batch() -> tuple[Encoded, torch.Tensor]:
        batch = _rows(encoded, next_indices())
        return batch, batch["labels"]

    return train_steps(
        model,
        next_batch,
        steps=max(1, round(epochs * per_epoch)),
        lr=lr,
        clip=1.0,
        forward=_logits,
        weight_decay=0.01,
        warmup=0.1,
        desc=desc,
        resume=resume,
        sampler=next_indices,
        precision=precision,
    )


@torch.inference_mode()
def predict_pairs(model: nn.Module, encoded: Encoded, batch_size: int = 64) -> torch.Tensor:
    """Predicted label (0/1) of every pair."""
    return pair_logits(model, encoded, batch_size).argmax(dim=1)


@torch.inference_mode()
def pair_logits(model: nn.Module, encoded: Encoded, batch_size: int = 64, by_length: bool = False) -> torch.Tensor:
    """The model's logits for every pair (eval mode), e.g. a teacher's, computed once for distillation.

    `by_length` runs the pairs in order of length (each chunk trimmed to its longest pair, so less padding) and
    returns the logits in the original order.
    """
    model.eval()
    size = len(encoded["labels"])
    if not by_length:
        return torch.cat([_logits(model, _rows(encoded, chunk)) for chunk in in_chunks(size, batch_size)])
    order = encoded["attention_mask"].sum(dim=1).argsort(stable=True)
    logits = torch.cat([_logits(model, _rows(encoded, order[chunk])) for chunk in in_chunks(size, batch_size)])
    return logits[order.argsort()]


def evaluate_pairs(model: nn.Module, encoded: Encoded, batch_size: int = 64) -> dict[str, float]:
    """F1 (of the paraphrase class, as GLUE reports MRPC) and accuracy, from sklearn."""
    from sklearn.metrics import accuracy_score, f1_score

    predicted = predict_pairs(model, encoded, batch_size).numpy()
    truth = encoded["labels"].numpy()
    return {"f1": float(f1_score(truth, predicted)), "accuracy": float(accuracy_score(truth, predicted))}
