"""The weight-quantization explorer (chapter 9): pick bits, a group size and a method; see what it costs.

Every point of the grid was quantized and measured before the explorer opens; a control change only looks one
up (`lm_quantization_update`) and redraws one weight group's histogram with where its weights landed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

from kit.measure import format_bytes
from kit.widgets.explorer import explorer


@dataclass(frozen=True)
class GridPoint:
    """One measured configuration: its perplexity, the Linear weights' bytes, and one weight group before/after."""

    perplexity: float
    linear_bytes: int
    group_weights: torch.Tensor     # one group of FP32 weights of the layer shown
    group_quantized: torch.Tensor   # the same weights after this method (dequantized)


def group_label(group: int | None) -> str:
    return "per-channel" if group is None else f"group {group}"


@dataclass(frozen=True)
class GridView:
    """What one choice of controls shows: a point, or why there is none."""

    method: str
    bits: int
    group: int | None
    point: GridPoint | None
    status: str


def lm_quantization_update(grid: Mapping[tuple[str, int, int | None], GridPoint], method: str, bits: int,
                           group: int | None, *, fp32_perplexity: float, fp32_bytes: int) -> GridView:
    """Look up (method, bits, group) in the precomputed grid and word its status line."""
    point = grid.get((method, bits, group))
    name = f"{method} {bits}-bit, {group_label(group)}"
    if point is None:
        measured = sorted({f"{b}-bit" for m, b, _ in grid if m == method})
        return GridView(method, bits, group, None, f"⚠ {name} is not in the grid (computed for {method}: "
                                                   f"{', '.join(measured) or 'nothing'})")
    change = point.perplexity / fp32_perplexity - 1
    status = (f"{name}: validation perplexity {point.perplexity:.2f} ({change:+.1%} vs FP32 {fp32_perplexity:.2f}) · "
              f"Linear weights {format_bytes(point.linear_bytes)} ({point.linear_bytes / fp32_bytes:.3f}x FP32)")
    return GridView(method, bits, group, point, status)


def draw_group(ax: plt.Axes, view: GridView) -> None:
    """The group's FP32 weights (histogram) and where the method put them (the levels, as stems)."""
    ax.clear()
    if view.point is None:
        ax.text(0.5, 0.5, "not computed", ha="center", va="center", transform=ax.transAxes)
        return
    weights, quantized = view.point.group_weights, view.point.group_quantized
    ax.hist(weights.numpy(), bins=40, color="tab:gray", alpha=0.6, label="FP32 weights of one group")
    levels, counts = torch.unique(quantized, return_counts=True)
    ax.vlines(levels.numpy(), 0, counts.numpy(), color="tab:red", linewidth=1.5,
              label=f"after {view.method} ({len(levels)} distinct values)")
    ax.set_xlabel("weight value")
    ax.set_ylabel("weights")
    ax.set_title(f"{view.method} {view.bits}-bit, {group_label(view.group)}: one group of blocks.0.fc1, row 0",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper right")


def lm_quantization_explorer(grid: Mapping[tuple[str, int, int | None], GridPoint], *, fp32_perplexity: float,
                             fp32_bytes: int, bits: int = 3, group: int | None = 128, method: str = "RTN") -> object:
    """Sliders for bits and group size and buttons for the method, over the precomputed grid."""
    import ipywidgets as widgets

    bit_options: Sequence[int] = sorted({b for _, b, _ in grid})
    group_options = sorted({g for _, _, g in grid}, key=lambda g: -float("inf") if g is None else -g)
    methods = sorted({m for m, _, _ in grid}, key=["RTN", "AWQ", "GPTQ"].index)
    bits_slider = widgets.SelectionSlider(options=bit_options, value=bits, description="bits")
    bits_slider.add_class("kit-bits-slider")
    group_slider = widgets.SelectionSlider(options=[(group_label(g), g) for g in group_options], value=group,
                                           description="group")
    group_slider.add_class("kit-group-slider")
    method_buttons = widgets.ToggleButtons(options=methods, value=method, description="method")
    fig, ax = plt.subplots(figsize=(7.5, 3.4), dpi=72)
    plt.close(fig)

    def show() -> tuple[str, bytes]:
        view = lm_quantization_update(grid, method_buttons.value, bits_slider.value, group_slider.value,
                                      fp32_perplexity=fp32_perplexity, fp32_bytes=fp32_bytes)
        draw_group(ax, view)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return view.status, buffer.getvalue()

    return explorer([bits_slider, group_slider, method_buttons], "kit-lmquant-status", show)
