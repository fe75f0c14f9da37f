"""The roofline's arithmetic (FLOPs, bytes, intensity, predicted time and tokens/s); no timing is checked."""

from __future__ import annotations

import statistics

import pytest
from torch import nn

from kit import roofline
from kit.models.decoder_lm import DecoderLM


def test_linear_flops_and_bytes():
    assert roofline.linear_flops(1, 4096, 4096) == 2 * 4096 * 4096
    assert roofline.linear_flops(64, 256, 768) == 64 * 2 * 256 * 768
    assert roofline.linear_bytes(1, 4, 8) == 4 * 8 * 4 + (4 + 8) * 4
    half_byte_weights = roofline.linear_bytes(2, 4, 8, weight_bytes_per_element=0.5, activation_bytes_per_element=2)
    assert half_byte_weights == 16 + 2 * 12 * 2


def test_intensity_at_batch_one_is_two_over_bytes_per_weight_for_a_large_layer():
    for bytes_per_weight in (4.0, 2.0, 1.0, 0.5 + 8 / 128):
        intensity = roofline.linear_intensity(1, 4096, 4096, weight_bytes_per_element=bytes_per_weight)
        assert intensity == pytest.approx(2 / bytes_per_weight, rel=0.01)
    # a larger batch reuses each weight: the intensity grows with it, about b x at small b
    one, sixty_four = (roofline.linear_intensity(b, 4096, 4096) for b in (1, 64))
    assert 60 < sixty_four / one < 64


def test_roofline_bounds_and_ridge():
    line = roofline.Roofline(bandwidth=20e9, flop_rate=100e9, threads=1)
    assert line.ridge == 5.0
    assert line.attainable(1.0) == 20e9 and line.attainable(50.0) == 100e9
    assert line.bound(0.5) == "memory-bound" and line.bound(32.0) == "compute-bound"
    assert line.seconds(flops=1e9, bytes_moved=1e9) == pytest.approx(1 / 20)     # bytes dominate
    assert line.seconds(flops=1e12, bytes_moved=1e9) == pytest.approx(10.0)      # arithmetic dominates


def test_predicted_tokens_per_second():
    assert roofline.predicted_tokens_per_second(23e6, 20e9) == pytest.approx(20e9 / 23e6)
    with pytest.raises(ValueError):
        roofline.predicted_tokens_per_second(0, 20e9)


def test_weight_bytes_counts_a_tied_matrix_once():
    model = DecoderLM(vocab=100, width=16, layers=2, heads=2, context=8)
    assert model.head.weight is model.embed.weight
    parameters = sum(p.numel() for p in model.parameters())   # parameters() yields a tied one once
    assert roofline.weight_bytes(model) == 4 * parameters
    untied = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    assert roofline.weight_bytes(untied) == 4 * (2 * 20)


def test_kv_cache_bytes():
    assert roofline.kv_cache_bytes(layers=4, width=256, tokens=10) == 2 * 4 * 256 * 10 * 4
    assert roofline.kv_cache_bytes(4, 256, 0) == 0
    with pytest.raises(ValueError):
        roofline.kv_cache_bytes(0, 256, 3)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="batch"):
        roofline.linear_flops(0, 4, 4)
    with pytest.raises(ValueError, match="positive"):
        roofline.linear_bytes(1, 4, 4, weight_bytes_per_element=0)


def test_rate_median_and_spread():
    rate = roofline.Rate((1.0, 2.0, 3.0, 4.0, 5.0), threads=1, what="test")
    assert rate.median == 3.0
    q1, _, q3 = statistics.quantiles(rate.samples, n=4)
    assert rate.spread == pytest.approx((q3 - q1) / 3.0)
    assert roofline.Rate((2.0, 4.0), threads=1, what="two").spread == pytest.approx(2.0 / 3.0)


def test_default_stream_buffer_leaves_the_cache():
    cache = roofline.last_level_cache_bytes()
    assert roofline.default_stream_bytes() >= max(64 * 2**20, 4 * (cache or 0))
