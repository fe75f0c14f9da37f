"""Chapter 9's explorer: its update looks a point up in the precomputed grid and words it; no quantizing."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from kit.widgets.lm_quantization import GridPoint, draw_group, lm_quantization_explorer, lm_quantization_update  # noqa: E402


def grid():
    weights = torch.linspace(-1, 1, 64)
    point = GridPoint(perplexity=120.0, linear_bytes=1000, group_weights=weights,
                      group_quantized=(weights * 3).round() / 3)
    return {("RTN", 3, 128): point, ("RTN", 4, 128): GridPoint(110.0, 1200, weights, (weights * 7).round() / 7),
            ("AWQ", 3, 128): GridPoint(112.0, 1000, weights, weights)}


def test_the_update_words_the_point_against_fp32():
    view = lm_quantization_update(grid(), "RTN", 3, 128, fp32_perplexity=100.0, fp32_bytes=8000)
    assert view.point is not None
    assert view.status == ("RTN 3-bit, group 128: validation perplexity 120.00 (+20.0% vs FP32 100.00) · "
                           "Linear weights 1000 B (0.125x FP32)")


def test_a_point_outside_the_grid_says_so():
    view = lm_quantization_update(grid(), "AWQ", 4, 128, fp32_perplexity=100.0, fp32_bytes=8000)
    assert view.point is None and "not in the grid" in view.status and "3-bit" in view.status


def test_the_figure_shows_the_levels_where_the_weights_landed():
    fig, ax = plt.subplots()
    draw_group(ax, lm_quantization_update(grid(), "RTN", 3, 128, fp32_perplexity=100.0, fp32_bytes=8000))
    assert "7 distinct values" in ax.get_legend().get_texts()[1].get_text()
    plt.close(fig)


def test_the_explorer_updates_its_status_when_the_bits_move():
    box = lm_quantization_explorer(grid(), fp32_perplexity=100.0, fp32_bytes=8000)
    bits_slider, status = box.children[0].children[0], box.children[1]
    assert "3-bit" in status.value
    bits_slider.value = 4
    assert "RTN 4-bit" in status.value and "110.00" in status.value
