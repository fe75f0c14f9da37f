"""The precision a training loop computes in: FP32, or bfloat16 autocast where the CPU has bf16 instructions.

Under ``torch.autocast("cpu", dtype=torch.bfloat16)`` matrix multiplications and convolutions run in bfloat16
while the weights, the optimizer's state and the loss stay FP32 (mixed precision). It pays only where the CPU
computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slower, so a recipe asks for
``WHERE_NATIVE`` and the machine decides. The checkpoint store records the precision actually used.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

import torch

FP32, BF16 = "fp32", "bf16"
WHERE_NATIVE = "bf16 autocast where the CPU has native bf16, else fp32"
CHOICES = (FP32, BF16, WHERE_NATIVE)


def native_bf16() -> bool:
    """True when this CPU has bf16 dot-product instructions (AVX512-BF16 or AMX-BF16)."""
    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def resolve(requested: str) -> str:
    """The precision a loop uses for `requested` on this machine: 'fp32' or 'bf16'."""
    if requested not in CHOICES:
        raise ValueError(f"the training precision is one of {', '.join(map(repr, CHOICES))}, got {requested!r}")
    if requested == WHERE_NATIVE:
        return BF16 if native_bf16() else FP32
    return requested


def autocast(precision: str) -> AbstractContextManager:
    """The context a forward pass runs in: bf16 autocast for 'bf16', a no-op for 'fp32'."""
    if precision not in (FP32, BF16):
        raise ValueError(f"a loop runs in {FP32!r} or {BF16!r} (resolve() a recipe's request first), got {precision!r}")
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == BF16)


def as_fp32(outputs):
    """Floating tensors (alone or in a tuple) back in FP32, so losses are computed in full precision."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, tuple):
        return tuple(as_fp32(o) for o in outputs)
    return outputs
