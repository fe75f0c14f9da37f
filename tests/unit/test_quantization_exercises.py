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


def test_quantize_by_hand_cannot_call_pytorchs_quantizer():
    shortcut = evaluate("03-quantize-by-hand",
                        lambda x, s, z: torch.quantize_per_tensor(x, s, z, torch.quint8).int_repr())
    assert shortcut.status == "not yet" and "formula" in shortcut.message
    fake = evaluate("03-quantize-by-hand",
                    lambda x, s, z: (torch.fake_quantize_per_tensor_affine(x, s, z, 0, 255) / s + z).round()
                    .to(torch.uint8))
    assert fake.status == "not yet" and "formula" in fake.message
    assert torch.quantize_per_tensor(torch.ones(2), 0.1, 0, torch.quint8).int_repr().tolist() == [10, 10]  # restored


def test_scale_and_zero_point():
    scale = 3.5 / 255
    assert evaluate("03-scale-zero-point", (scale, round(0.5 / scale))).passed
    assert "255 steps" in evaluate("03-scale-zero-point", (3.0 / 255, 36)).message
    assert "code of 0.0" in evaluate("03-scale-zero-point", (scale, 0)).message
    assert evaluate("03-scale-zero-point", "x").status == "not yet"


def test_largest_part_prediction_is_judged_by_measuring():
    from kit.exercises.quantization import part_sizes_after_quantize_dynamic

    sizes = part_sizes_after_quantize_dynamic()
    largest = max(sizes, key=sizes.get)
    assert largest == "encoder"              # 33,278 x 650 float32 beats the int8 decoder and LSTM
    assert evaluate("03-predict-largest-part", "encoder").passed
    wrong = evaluate("03-predict-largest-part", "decoder")
    assert wrong.status == "not yet" and "measured just now" in wrong.message
    assert evaluate("03-predict-largest-part", "lstm").status == "not yet"
    assert evaluate("03-predict-largest-part", ...).status == "not attempted"
