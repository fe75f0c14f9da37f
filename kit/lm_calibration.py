"""Boilerplate for quantizing chapter 9's decoder: its Linear layers by name, calibration windows from the
training split, the inputs each Linear sees on them, and copies of the model with some weights replaced.

The methods themselves (round-to-nearest, AWQ, GPTQ, SmoothQuant) are written in the chapter's own cells;
this module only moves tensors around them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import torch
from torch import nn

from kit.errors import KitError

LINEAR_ROLES = ("attn.qkv", "attn.proj", "fc1", "fc2")


class CalibrationError(KitError, ValueError):
    """Calibration cannot run: no text, too few tokens, or a name that is not one of the model's Linears."""


def block_linears(model: nn.Module) -> dict[str, nn.Linear]:
    """The Linear layers of the decoder's blocks, in order: 'blocks.0.attn.qkv', ..., 'blocks.3.fc2'.

    These are the weights weight-only quantization replaces (the tied embedding / output matrix is kept apart)."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise CalibrationError(f"{type(model).__name__} has no `blocks`: this is not chapter 9's DecoderLM "
                               "(load it with ensure('decoder-lm'))")
    return {f"blocks.{i}.{role}": block.get_submodule(role) for i, block in enumerate(blocks) for role in LINEAR_ROLES}


def calibration_windows(train_ids: torch.Tensor, *, context: int, count: int, seed: int = 0) -> torch.Tensor:
    """`count` random windows of `context` tokens from the training split: (count, context).

    Calibration never sees validation or test text: choices made on it are then tested on text it has not seen.
    """
    if count < 1:
        raise CalibrationError(f"calibration needs at least one window of text, got count={count}")
    if train_ids.dim() != 1 or train_ids.numel() <= context:
        raise CalibrationError(f"calibration text has {train_ids.numel()} tokens: it needs more than one window "
                               f"of {context} (pass the corpus' training split, e.g. corpus.train)")
    generator = torch.Generator().manual_seed(seed)
    starts = torch.randint(0, train_ids.numel() - context, (count,), generator=generator)
    return train_ids[starts[:, None] + torch.arange(context)[None, :]]


@torch.inference_mode()
def linear_inputs(model: nn.Module, windows: torch.Tensor, names: Iterable[str] | None = None,
                  batch_size: int = 16) -> dict[str, torch.Tensor]:
    """What each named Linear receives when the model reads `windows`: {name: (tokens, in_features)}."""
    if windows.numel() == 0:
        raise CalibrationError("no calibration text: pass at least one window of token ids")
    linears = block_linears(model)
    names = list(linears) if names is None else list(names)
    unknown = [n for n in names if n not in linears]
    if unknown:
        raise CalibrationError(f"not Linear layers of the decoder's blocks: {unknown}; they are {list(linears)}")
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    hooks = [linears[n].register_forward_pre_hook(
        lambda module, args, n=n: seen[n].append(args[0].reshape(-1, args[0].shape[-1]).clone())) for n in names]
    try:
        model.eval()
        for start in range(0, len(windows), batch_size):
            model(windows[start:start + batch_size])
    finally:
        for hook in hooks:
            hook.remove()
    return {n: torch.cat(chunks) for n, chunks in seen.items()}


def with_weights(model: nn.Module, change: Callable[[str, torch.Tensor], torch.Tensor | None]) -> nn.Module:
    """A copy of the model in which every block Linear's weight w is replaced by change(name, w) (None: kept)."""
    changed = copy.deepcopy(model).eval()
    with torch.no_grad():
        for name, linear in block_linears(changed).items():
            new = change(name, linear.weight.detach().clone())
            if new is not None:
                if new.shape != linear.weight.shape:
                    raise CalibrationError(f"{name}: the new weight has shape {tuple(new.shape)}, the layer "
                                           f"{tuple(linear.weight.shape)}")
                linear.weight.copy_(new)
    return changed


def linear_bytes(model: nn.Module) -> int:
    """FP32 bytes of the block Linears' weights (the part weight-only quantization shrinks)."""
    return sum(linear.weight.numel() * 4 for linear in block_linears(model).values())
