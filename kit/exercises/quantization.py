"""Checks for chapter 3 (dynamic quantization of an LSTM)."""

from __future__ import annotations

import math
from typing import Any

import torch

from kit.exercises import NotYet, exercise


@exercise("03-quantize-by-hand")
def _quantize_by_hand(answer: Any) -> str:
    if not callable(answer):
        raise NotYet("answer with your function quantize(x, scale, zero_point).")
    generator = torch.Generator().manual_seed(3)
    for scale, zero_point in ((0.02, 128), (0.1, 0), (0.005, 37)):
        x = torch.randn(200, generator=generator) * 2
        expected = torch.quantize_per_tensor(x, scale, zero_point, torch.quint8).int_repr()
        got = answer(x, scale, zero_point)
        if not isinstance(got, torch.Tensor):
            raise NotYet("return a tensor of integer codes.")
        if got.dtype != torch.uint8:
            raise NotYet(f"return torch.uint8 codes (got {got.dtype}): .to(torch.uint8) after clamping.")
        if not torch.equal(got, expected):
            wrong = int((got != expected).sum())
            raise NotYet(f"{wrong} of 200 codes differ for scale {scale}, zero_point {zero_point}: round(x / scale), "
                         "add the zero-point, then clamp to [0, 255].")
    return "Your codes match torch.quantize_per_tensor for three scales and zero-points."


@exercise("03-scale-zero-point")
def _scale_zero_point(answer: Any) -> str:
    try:
        scale, zero_point = answer
        scale, zero_point = float(scale), zero_point
    except (TypeError, ValueError):
        raise NotYet("answer with a pair: (scale, zero_point).") from None
    expected_scale = 3.5 / 255
    if not math.isclose(scale, expected_scale, rel_tol=1e-3):
        raise NotYet("the range is x_max - x_min = 3.0 - (-0.5); spread it over 255 steps.")
    if zero_point != round(0.5 / expected_scale):
        raise NotYet("the zero-point is the code of 0.0: round(-x_min / scale), a whole number.")
    return f"scale {expected_scale:.6f}, zero_point {round(0.5 / expected_scale)}: 0.0 is represented exactly."


@exercise("03-largest-part")
def _largest_part(answer: Any) -> str:
    choice = str(answer).strip().lower()
    if choice == "encoder":
        return ("Right: the embedding stays float32 (10,000 x 512 numbers), while the LSTM and the decoder "
                "shrank four-fold; quantize it too with float_qparams_weight_only_qconfig.")
    if choice in ("rnn", "decoder"):
        raise NotYet(f"the {choice} was quantized to int8; which part did quantize_dynamic leave in float32?")
    raise NotYet('answer with "encoder", "rnn" or "decoder".')
