"""Checks for chapter 3 (dynamic quantization of an LSTM)."""

from __future__ import annotations

import math
from typing import Any

import torch

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function

# What quantize(x, scale, zero_point) must not call: PyTorch's own quantizers.
QUANTIZING_APIS = [(torch, name) for name in ("quantize_per_tensor", "quantize_per_tensor_dynamic",
                                              "quantize_per_channel", "fake_quantize_per_tensor_affine",
                                              "fake_quantize_per_channel_affine")]


@exercise("03-quantize-by-hand")
def _quantize_by_hand(answer: Any) -> str:
    expect_function(answer, "quantize(x, scale, zero_point)")
    generator = torch.Generator().manual_seed(3)
    for scale, zero_point in ((0.02, 128), (0.1, 0), (0.005, 37)):
        x = torch.randn(200, generator=generator) * 2
        expected = torch.quantize_per_tensor(x, scale, zero_point, torch.quint8).int_repr()
        with forbidden(*QUANTIZING_APIS, reason="compute the codes with the formula (round, add, clamp), "
                       "not with PyTorch's quantization functions: they are what this exercise rebuilds."):
            got = answer(x.clone(), scale, zero_point)
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


# The PyTorch word_language_model example's "medium" model on WikiText-2 (see its README): vocabulary
# 33,278, 650-dimensional embedding, 650 hidden units, 2 LSTM layers.
MEDIUM_LM = {"ntoken": 33278, "ninp": 650, "nhid": 650, "nlayers": 2}


def part_sizes_after_quantize_dynamic(config: dict[str, int] = MEDIUM_LM) -> dict[str, int]:
    """Bytes of encoder / rnn / decoder in the state dict of an LSTM LM after quantize_dynamic({LSTM, Linear})."""
    import warnings

    from torch import nn
    from torch.ao.quantization import quantize_dynamic

    from kit.measure import size_by_child
    from kit.models.lstm_lm import LSTMModel

    torch.manual_seed(0)
    model = LSTMModel(config["ntoken"], config["ninp"], config["nhid"], config["nlayers"]).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        quantized = quantize_dynamic(model, {nn.LSTM, nn.Linear}, dtype=torch.qint8)
    sizes = size_by_child(quantized)
    return {part: sizes[part] for part in ("encoder", "rnn", "decoder")}


@exercise("03-predict-largest-part")
def _predict_largest_part(answer: Any) -> str:
    choice = str(answer).strip().lower()
    if choice not in ("encoder", "rnn", "decoder"):
        raise NotYet('answer with your prediction: "encoder", "rnn" or "decoder".')
    sizes = part_sizes_after_quantize_dynamic()
    measured = max(sizes, key=sizes.get)
    table = ", ".join(f"{part} {n / 2**20:.1f} MiB" for part, n in sizes.items())
    if choice != measured:
        raise NotYet(f"measured just now: {table}. Count each part's numbers (vocabulary x 650 for the embedding "
                     "and the decoder, 4 gates x 650 x (inputs + 650) per LSTM layer) and its bytes per number "
                     "after quantize_dynamic: which parts became int8 and which stayed float32?")
    return f"Measured just now: {table} — as you predicted."
