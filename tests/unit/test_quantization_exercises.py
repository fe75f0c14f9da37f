import torch

from kit.exercises import evaluate


def right_quantize(x, scale, zero_point):
    return torch.clamp(torch.round(x / scale) + zero_point, 0, 255).to(torch.uint8)


def test_quantize_by_hand():
    assert evaluate("03-quantize-by-hand", right_quantize).passed
    no_clamp = evaluate("03-quantize-by-hand", lambda x, s, z: (torch.round(x / s) + z).to(torch.int32))
    assert no_clamp.status == "not yet" and "uint8" in no_clamp.message
    no_zero = evaluate("03-quantize-by-hand", lambda x, s, z: right_quantize(x, s, 0))
    assert "zero-point" in no_zero.message


def test_scale_and_zero_point():
    scale = 3.5 / 255
    assert evaluate("03-scale-zero-point", (scale, round(0.5 / scale))).passed
    assert "255 steps" in evaluate("03-scale-zero-point", (3.0 / 255, 36)).message
    assert "code of 0.0" in evaluate("03-scale-zero-point", (scale, 0)).message
    assert evaluate("03-scale-zero-point", "x").status == "not yet"


def test_largest_part():
    assert evaluate("03-largest-part", "encoder").passed
    assert "float32" in evaluate("03-largest-part", "decoder").message
