"""Round-to-nearest group-wise weight quantization: the reference chapter 9 checks its own cells against.

A weight W (out, in) is cut along `in` into groups of `group` columns (or one group per row: per-channel);
each (row, group) gets its own grid of 2**bits levels:

- symmetric: q in [-2**(bits-1), 2**(bits-1) - 1], w ≈ s·q, s = max|w| / (2**(bits-1) - 1);
- asymmetric: q in [0, 2**bits - 1], w ≈ s·q + m, m = min(w), s = (max(w) - min(w)) / (2**bits - 1).

The true cost of a weight counts its grid: bits + (scale and offset bits) / group.
"""

from __future__ import annotations

import torch

from kit.errors import KitError

SCALE_BITS = 32   # scales and offsets are stored as float32 in this course's format


class QuantizationConfigError(KitError, ValueError):
    """Bits or group size that cannot quantize this weight; the message says what would."""


def check_config(bits: int, group: int | None, in_features: int | None = None) -> None:
    """Raise QuantizationConfigError unless 2 <= bits <= 8 and `group` divides `in_features`."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 8:
        raise QuantizationConfigError(f"bits = {bits!r} is not allowed: weight quantization here uses 2 to 8 bits "
                                      "(1 bit leaves no grid, above 8 use float16 or bfloat16)")
    if group is None:
        return
    if isinstance(group, bool) or not isinstance(group, int) or group < 1:
        raise QuantizationConfigError(f"group size {group!r} is not allowed: a whole number of columns >= 1, or "
                                      "None for one group per row (per-channel)")
    if in_features is not None and in_features % group:
        divisors = [g for g in (16, 32, 64, 128, 256) if in_features % g == 0]
        raise QuantizationConfigError(
            f"group size {group} does not divide the layer's {in_features} input features: each group must be "
            f"whole; choose one that divides it (e.g. {', '.join(map(str, divisors)) or 'None (per-channel)'})")


def fake_quantize(weight: torch.Tensor, bits: int, group: int | None, *, symmetric: bool = False) -> torch.Tensor:
    """Quantize then dequantize `weight` (out, in) round-to-nearest, group-wise (None: per output channel)."""
    if weight.dim() != 2:
        raise QuantizationConfigError(f"a Linear weight (out, in) is expected, got shape {tuple(weight.shape)}")
    out_features, in_features = weight.shape
    check_config(bits, group, in_features)
    size = in_features if group is None else group
    w = weight.reshape(out_features, in_features // size, size)
    if symmetric:
        top = 2 ** (bits - 1) - 1
        scale = (w.abs().amax(dim=-1, keepdim=True) / top).clamp_min(1e-12)
        return ((w / scale).round().clamp(-top - 1, top) * scale).reshape(out_features, in_features)
    top = 2**bits - 1
    low, high = w.amin(dim=-1, keepdim=True), w.amax(dim=-1, keepdim=True)
    scale = ((high - low) / top).clamp_min(1e-12)
    return (((w - low) / scale).round().clamp(0, top) * scale + low).reshape(out_features, in_features)


def bits_per_weight(bits: int, group: int | None, in_features: int, *, symmetric: bool = False,
                    scale_bits: int = SCALE_BITS) -> float:
    """Stored bits per weight: the code plus its share of the group's scale (and offset, when asymmetric)."""
    check_config(bits, group, in_features)
    size = in_features if group is None else group
    return bits + scale_bits * (1 if symmetric else 2) / size
