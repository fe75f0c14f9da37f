"""kit.groupwise and kit.lm_calibration: the reference quantizer, the bits it costs, and the clear errors for
bad input (bits outside 2-8, a group size that does not divide the layer, calibration with no text, a model
that is not chapter 9's decoder)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kit.errors import KitError
from kit.groupwise import QuantizationConfigError, bits_per_weight, check_config, fake_quantize
from kit.lm_calibration import CalibrationError, block_linears, calibration_windows, linear_inputs, with_weights
from kit.models.decoder_lm import DecoderLM


def test_round_to_nearest_error_is_at_most_half_a_step_and_the_grid_has_2_to_the_bits_levels():
    torch.manual_seed(0)
    w = torch.randn(8, 64)
    for bits in (2, 3, 4, 8):
        for group in (None, 16, 32):
            for symmetric in (False, True):
                q = fake_quantize(w, bits, group, symmetric=symmetric)
                size = 64 if group is None else group
                levels = q.reshape(8, 64 // size, size)
                assert all(len(torch.unique(row)) <= 2**bits for row in levels.reshape(-1, size))
                grouped = w.reshape(8, 64 // size, size)
                if symmetric:
                    step = grouped.abs().amax(-1, keepdim=True) / (2 ** (bits - 1) - 1)
                    inside = grouped.abs() <= step * (2 ** (bits - 1) - 1)
                else:
                    step = (grouped.amax(-1, keepdim=True) - grouped.amin(-1, keepdim=True)) / (2**bits - 1)
                    inside = torch.ones_like(grouped, dtype=torch.bool)
                error = (levels - grouped).abs()
                assert bool((error[inside] <= (step / 2 + 1e-6).expand_as(error)[inside]).all())


def test_asymmetric_keeps_the_extremes_and_8_bits_is_nearly_exact():
    w = torch.tensor([[-1.0, 0.2, 0.5, 3.0]])
    q = fake_quantize(w, 2, None)
    assert q[0, 0] == -1.0 and torch.isclose(q[0, 3], torch.tensor(3.0))
    torch.manual_seed(1)
    big = torch.randn(16, 128)
    assert (fake_quantize(big, 8, 32) - big).abs().max() < 0.02


def test_bits_per_weight_counts_scales_and_offsets():
    assert bits_per_weight(4, 128, 256) == 4 + 64 / 128
    assert bits_per_weight(4, 128, 256, symmetric=True) == 4 + 32 / 128
    assert bits_per_weight(8, None, 256) == 8 + 64 / 256


@pytest.mark.parametrize("bits", [1, 9, 0, 4.0, True])
def test_bits_outside_2_to_8_are_refused(bits):
    with pytest.raises(QuantizationConfigError, match="2 to 8 bits") as error:
        fake_quantize(torch.randn(4, 8), bits, None)
    assert isinstance(error.value, KitError)


def test_a_group_size_that_does_not_divide_the_layer_names_ones_that_do():
    with pytest.raises(QuantizationConfigError, match=r"group size 96 does not divide the layer's 256 input.*32, 64"):
        check_config(4, 96, 256)
    with pytest.raises(QuantizationConfigError, match="whole number of columns"):
        check_config(4, 0, 256)


def test_calibration_with_no_text_is_a_clear_error():
    ids = torch.arange(1000)
    with pytest.raises(CalibrationError, match="at least one window"):
        calibration_windows(ids, context=16, count=0)
    with pytest.raises(CalibrationError, match="has 10 tokens"):
        calibration_windows(torch.arange(10), context=16, count=4)
    model = DecoderLM(50, 32, 1, 2, 16)
    with pytest.raises(CalibrationError, match="no calibration text"):
        linear_inputs(model, torch.zeros(0, 16, dtype=torch.long))


def test_calibration_windows_come_from_the_text_and_inputs_have_the_layer_width():
    ids = torch.arange(1000)
    windows = calibration_windows(ids, context=16, count=4, seed=3)
    assert windows.shape == (4, 16) and bool((windows[:, 1:] - windows[:, :-1] == 1).all())
    model = DecoderLM(1000, 32, 2, 2, 16)
    seen = linear_inputs(model, windows % 1000, ["blocks.0.attn.qkv", "blocks.1.fc2"])
    assert seen["blocks.0.attn.qkv"].shape == (64, 32) and seen["blocks.1.fc2"].shape == (64, 128)


def test_a_model_that_is_not_the_decoder_is_refused_with_the_fix():
    with pytest.raises(CalibrationError, match=r"not chapter 9's DecoderLM.*ensure\('decoder-lm'\)"):
        block_linears(nn.Sequential(nn.Linear(4, 4)))


def test_with_weights_changes_a_copy_only():
    model = DecoderLM(50, 32, 1, 2, 16)
    before = model.blocks[0].fc1.weight.clone()
    changed = with_weights(model, lambda name, w: torch.zeros_like(w) if name.endswith("fc1") else None)
    assert torch.equal(model.blocks[0].fc1.weight, before) and not changed.blocks[0].fc1.weight.any()
    assert torch.equal(changed.blocks[0].fc2.weight, model.blocks[0].fc2.weight)


def test_a_checkpoint_of_another_model_is_refused_naming_what_does_not_fit(tmp_path):
    from safetensors.torch import save_file

    from kit.errors import WeightsMismatch
    from kit.models.lstm_lm import LSTMModel
    from kit.recipes import DecoderRecipe

    save_file({k: v.contiguous() for k, v in LSTMModel(50, 16, 16, 1).state_dict().items()},
              tmp_path / "model.safetensors")
    config = {"vocab": 50, "width": 32, "layers": 1, "heads": 2, "context": 16}
    # The first missing tensor in the model's own order, so the message does not depend on hash randomisation.
    expected = r"model.safetensors has no tensor 'embed.weight' \(and 14 more\): is it a checkpoint of another model"
    with pytest.raises(WeightsMismatch, match=expected):
        DecoderRecipe().load(tmp_path, config)
