"""Checks for chapter 9 (quantizing a small language model)."""

from __future__ import annotations

import time
from typing import Any

import torch

from kit.exercises import Examples, NotYet, exercise, forbidden
from kit.exercises.answers import expect_function, unpack
from kit.groupwise import bits_per_weight, fake_quantize

# The quantize APIs an exercise may not call: it asks you to write what they do.
QUANTIZE_APIS = [(torch, "quantize_per_channel"), (torch, "quantize_per_tensor"),
                 (torch, "fake_quantize_per_channel_affine"), (torch, "fake_quantize_per_tensor_affine")]


def _quantize_apis() -> list[tuple[object, str]]:
    import kit.groupwise

    return [*QUANTIZE_APIS, (kit.groupwise, "fake_quantize")]


def _cases() -> list[tuple[torch.Tensor, int, int | None]]:
    generator = torch.Generator().manual_seed(0)
    skewed = torch.randn(6, 64, generator=generator).exp()          # all positive: symmetric wastes half the grid
    constant = torch.full((2, 32), 0.25)                              # one value: the step must not divide by zero
    constant[1, :16] = -1.0
    return [(torch.randn(4, 32, generator=generator), 4, 8), (skewed, 3, 16), (skewed, 2, None),
            (torch.randn(3, 128, generator=generator) * 0.05, 8, 32), (constant, 4, 16)]


def _right_quantize(w: torch.Tensor, bits: int, group: int | None) -> torch.Tensor:
    rows, columns = w.shape
    size = columns if group is None else group
    g = w.reshape(rows, columns // size, size)
    low, top = g.amin(-1, keepdim=True), 2**bits - 1
    scale = ((g.amax(-1, keepdim=True) - low) / top).clamp_min(1e-12)
    return (((g - low) / scale).round().clamp(0, top) * scale + low).reshape(rows, columns)


def _symmetric(w: torch.Tensor, bits: int, group: int | None) -> torch.Tensor:
    rows, columns = w.shape
    size = columns if group is None else group
    g = w.reshape(rows, columns // size, size)
    top = 2 ** (bits - 1) - 1
    scale = (g.abs().amax(-1, keepdim=True) / top).clamp_min(1e-12)
    return ((g / scale).round().clamp(-top - 1, top) * scale).reshape(rows, columns)


def _per_tensor(w: torch.Tensor, bits: int, group: int | None) -> torch.Tensor:
    return _right_quantize(w.reshape(1, -1), bits, None).reshape(w.shape)


@exercise("09-groupwise-quantize", Examples(
    right=(_right_quantize,),
    wrong=((_symmetric, "asymmetric"), (_per_tensor, "group"), (lambda w, bits, group: w, "off by"))))
def _groupwise_quantize(answer: Any) -> str:
    expect_function(answer, "quantize_dequantize(w, bits, group)")
    for w, bits, group in _cases():
        with forbidden(*_quantize_apis(), reason="torch's quantize functions and kit.groupwise are what this "
                                                 "exercise rebuilds: write the grid yourself.", learner=answer):
            got = answer(w.clone(), bits, group)
        expected = fake_quantize(w, bits, group)
        if not isinstance(got, torch.Tensor) or got.shape != w.shape:
            raise NotYet("return the dequantized weights, a tensor of the input's shape.")
        levels = max(len(torch.unique(row)) for row in got.reshape(-1, w.shape[1] if group is None else group))
        if levels > 2**bits:
            raise NotYet(f"at {bits} bits a group may hold at most {2**bits} distinct values, yours holds {levels}: "
                         "every weight must land on its group's grid (round, then clamp to 0..2**bits - 1).")
        if torch.allclose(got, _symmetric(w, bits, group), atol=1e-6) and not torch.allclose(got, expected, atol=1e-6):
            raise NotYet("that is the symmetric grid; the exercise asks for the asymmetric one: offset = the group's "
                         "minimum, scale = (max - min) / (2**bits - 1).")
        if not torch.allclose(got, expected, atol=1e-5):
            worst = (got - expected).abs().max().item()
            raise NotYet(f"{bits}-bit, {'per-channel' if group is None else f'group {group}'}: off by up to "
                         f"{worst:.3g}. Each group (of `group` consecutive weights in a row) needs its own scale and "
                         "offset; a constant group must not divide by zero (clamp the scale).")
    return ("every case matches: each group's grid spans exactly its own range, so its error is at most half a step "
            "and a constant group is exact.")


def _right_pack(codes: torch.Tensor) -> torch.Tensor:
    codes = codes.to(torch.uint8)
    return codes[:, 0::2] | (codes[:, 1::2] << 4)


def _right_unpack(packed: torch.Tensor) -> torch.Tensor:
    return torch.stack((packed & 0x0F, packed >> 4), dim=-1).flatten(1)


def _high_first_pack(codes: torch.Tensor) -> torch.Tensor:
    codes = codes.to(torch.uint8)
    return (codes[:, 0::2] << 4) | codes[:, 1::2]


def _high_first_unpack(packed: torch.Tensor) -> torch.Tensor:
    return torch.stack((packed >> 4, packed & 0x0F), dim=-1).flatten(1)


@exercise("09-pack-int4", Examples(
    right=((_right_pack, _right_unpack),),
    wrong=(((_high_first_pack, _high_first_unpack), "low nibble"),
           ((lambda c: c.to(torch.uint8), lambda p: p), "half"))))
def _pack_int4(answer: Any) -> str:
    pack, unpack_ = unpack(answer, 2, "answer with the pair (pack, unpack): two functions.")
    expect_function(pack, "pack(codes)")
    expect_function(unpack_, "unpack(packed)")
    codes = torch.randint(0, 16, (5, 12), generator=torch.Generator().manual_seed(1))
    packed = pack(codes.clone())
    if not isinstance(packed, torch.Tensor) or packed.dtype != torch.uint8 or packed.shape != (5, 6):
        raise NotYet("pack must return a uint8 tensor with half as many columns: two 4-bit codes per byte.")
    if not torch.equal(packed, _right_pack(codes)):
        raise NotYet("the layout is the chapter's: the even column's code in the low nibble (bits 0-3), the odd "
                     "column's in the high nibble: byte = q[2j] | (q[2j+1] << 4).")
    restored = unpack_(packed.clone())
    if not isinstance(restored, torch.Tensor) or not torch.equal(restored.to(torch.int64), codes):
        raise NotYet("unpack(pack(codes)) must give the codes back exactly, in the same order.")
    return "pack and unpack round-trip exactly, with the chapter's nibble order (the C++ kernel reads the same)."


def _right_bits(bits: int, group: int | None, in_features: int, symmetric: bool) -> float:
    return bits + 32 * (1 if symmetric else 2) / (in_features if group is None else group)


@exercise("09-bits-per-weight", Examples(
    right=(_right_bits,),
    wrong=((lambda bits, group, in_features, symmetric: float(bits), "scale"),
           (lambda bits, group, in_features, symmetric: bits + 32 / (in_features if group is None else group),
            "offset"))))
def _bits(answer: Any) -> str:
    expect_function(answer, "true_bits(bits, group, in_features, symmetric)")
    import kit.groupwise

    cases = [(4, 128, 256, False), (4, 128, 256, True), (3, 32, 1024, False), (8, None, 256, False),
             (2, 64, 256, True)]
    for bits, group, in_features, symmetric in cases:
        with forbidden((kit.groupwise, "bits_per_weight"), reason="kit.groupwise.bits_per_weight is what this "
                                                                   "exercise rebuilds.", learner=answer):
            got = answer(bits, group, in_features, symmetric)
        expected = bits_per_weight(bits, group, in_features, symmetric=symmetric)
        if not isinstance(got, int | float) or abs(got - expected) > 1e-9:
            if isinstance(got, int | float) and abs(got - bits) < 1e-9:
                raise NotYet("a group also stores its scale: 32 bits shared by its weights.")
            one_number = bits + 32 / (group or in_features)
            if isinstance(got, int | float) and not symmetric and abs(got - one_number) < 1e-9:
                raise NotYet("an asymmetric group stores an offset beside its scale: two float32 numbers.")
            raise NotYet(f"{bits} bits, {'per-channel' if group is None else f'group {group}'} of {in_features} "
                         f"inputs, {'symmetric' if symmetric else 'asymmetric'}: expected {expected:.4f}, got {got!r}.")
    return "right: 4-bit group 128 asymmetric costs 4.5 bits per weight, not 4, with float32 scales and offsets."


def _bytes_read_per_token(model: torch.nn.Module) -> int:
    """Every parameter once: the blocks' weights and the whole (tied) embedding, which the output layer reads."""
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _decode_tokens_per_second(model: torch.nn.Module, steps: int = 24) -> float:
    with torch.inference_mode():
        cache = model.new_cache()
        token = torch.zeros(1, 1, dtype=torch.long)
        logits = model(token, cache)
        start = time.perf_counter()
        for step in range(steps):
            logits = model(logits[:, -1:].argmax(-1), cache, start=step + 1)
        return steps / (time.perf_counter() - start)


def _tiny_decoder() -> torch.nn.Module:
    from kit.models.decoder_lm import DecoderLM

    torch.manual_seed(0)
    return DecoderLM(64, 32, 1, 2, 16).eval()


@exercise("09-predict-decode", Examples(
    right=(lambda: (1e9 / _bytes_read_per_token(_tiny_decoder()), _tiny_decoder(), 1e9),),
    wrong=((lambda: (1e9 / (_bytes_read_per_token(_tiny_decoder()) - _tiny_decoder().embed.weight.numel() * 4),
                     _tiny_decoder(), 1e9), "output layer"),
           (lambda: (1e9 * _bytes_read_per_token(_tiny_decoder()), _tiny_decoder(), 1e9), "divide"))))
def _predict_decode(answer: Any) -> str:
    if callable(answer) and not isinstance(answer, tuple):   # the examples build their model lazily
        answer = answer()
    predicted, model, bandwidth = unpack(answer, 3, "answer with (predicted_tokens_per_s, model, "
                                                    "bandwidth_bytes_per_s), as the cell shows.")
    if not hasattr(model, "new_cache"):
        raise NotYet("the second item must be the chapter's decoder (model).")
    if not isinstance(predicted, int | float) or not isinstance(bandwidth, int | float) or bandwidth <= 0:
        raise NotYet("the prediction and the bandwidth are numbers (tokens per second, bytes per second).")
    per_token = _bytes_read_per_token(model)
    expected = bandwidth / per_token
    if abs(predicted / expected - 1) > 0.05:
        without_head = bandwidth / (per_token - model.embed.weight.numel() * model.embed.weight.element_size())
        if abs(predicted / without_head - 1) < 0.05:
            raise NotYet("the output layer multiplies by the whole (tied) embedding matrix at every step: its bytes "
                         "are read for every token too.")
        raise NotYet(f"at batch 1 each decode step reads every weight once: tokens/s = bandwidth / bytes read per "
                     f"token ({per_token:,} bytes here); divide, do not multiply, and use bytes, not parameters.")
    measured = _decode_tokens_per_second(model)
    reason = ("above the bandwidth bound: weights this small stay in the CPU's caches, which are faster than "
              "memory" if measured > predicted else
              "below the bandwidth bound: the per-call overhead and the arithmetic of a model this small add to "
              "the time the bytes take")
    return (f"predicted {predicted:,.0f} tokens/s from the bandwidth; measured now {measured:,.0f} tokens/s, "
            f"{measured / predicted:.2f}x the prediction ({reason}).")
