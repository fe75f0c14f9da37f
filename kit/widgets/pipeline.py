"""The compression-grid explorer (chapter 8): pick a budget, a recovery, a precision and a batch size; see the point.

Every variant was trained and measured before the explorer opens; a control change only looks one up
(`pipeline_update`) and moves a highlight over the Pareto figure of that batch size (`ParetoFigure`, blitted).
`pareto_panels` draws the fronts of several batch sizes side by side, for the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt

from kit.measure import format_bytes
from kit.pareto import Variant, pareto_front
from kit.widgets.blitting import BlitPNG
from kit.widgets.explorer import explorer

PRECISION_COLOURS = {"fp32": "tab:blue", "int8 PTQ": "tab:orange", "int8 QAT": "tab:green"}
RECOVERY_MARKERS = {"none": "*", "labels": "o", "distill": "s", "Scratch-E": "^", "Scratch-B": "v"}
REFERENCE = "the dense model's fastest FP32 form"


def speed_words(time_ratio: float) -> str:
    """'3.10x faster' below 1, '1.25x slower' above it, 'no faster' at exactly 1 (the reference itself)."""
    if time_ratio == 1:
        return "no faster"
    return f"{1 / time_ratio:.2f}x faster" if time_ratio < 1 else f"{time_ratio:.2f}x slower"


@dataclass(frozen=True)
class PipelineView:
    """The variant one choice of controls names, or why there is none."""

    variant: Variant | None
    message: str = ""

    @property
    def status(self) -> str:
        if self.variant is None:
            return self.message
        v = self.variant
        seeds = f" (mean of {v.seeds} seeds)" if v.seeds > 1 else ""
        return (f"{v.name}: validation {v.valid_accuracy:.1%}, test {v.test_accuracy:.1%}{seeds} · "
                f"{speed_words(v.time_ratio)} than {REFERENCE} at batch {v.batch} · {format_bytes(v.size_bytes)}")


def pipeline_update(variants: Sequence[Variant], budget: str, recovery: str, precision: str) -> PipelineView:
    """The measured variant for (budget, recovery, precision), or a message naming what this budget has."""
    found = [v for v in variants if (v.budget, v.recovery, v.precision) == (budget, recovery, precision)]
    if found:
        return PipelineView(found[0])
    made = sorted({f"{v.recovery} + {v.precision}" for v in variants if v.budget == budget})
    return PipelineView(None, f"⚠ not in the grid: {budget} with {recovery} and {precision} was not trained "
                              f"(this budget has {', '.join(made) or 'nothing'})")


def draw_front(ax: plt.Axes, variants: Sequence[Variant], *, dense_accuracy: float, legend: bool = True) -> None:
    """Validation accuracy against time for every variant on `ax`: colour the precision, marker the recovery,
    area the bytes, the front dashed, a dotted line 1 point below the dense reference."""
    largest = max(v.size_bytes for v in variants)
    batches = sorted({v.batch for v in variants})
    for v in variants:
        ax.scatter(v.time_ratio, 100 * v.valid_accuracy, s=30 + 400 * v.size_bytes / largest,
                   c=PRECISION_COLOURS[v.precision], marker=RECOVERY_MARKERS[v.recovery], alpha=0.6,
                   edgecolors="black", linewidths=0.5)
    front = pareto_front(variants)
    ax.plot([v.time_ratio for v in front], [100 * v.valid_accuracy for v in front], "k--", lw=1, label="Pareto front")
    ax.axhline(100 * dense_accuracy - 1, color="gray", lw=0.8, ls=":", label="dense − 1 point")
    ax.axvline(1.0, color="gray", lw=0.6, ls="-", alpha=0.5)
    ax.set_xscale("log")
    ax.set_xlabel(f"time / dense best FP32 time (1 thread, batch {', '.join(map(str, batches))}; log scale)")
    ax.set_ylabel("validation accuracy (%)")
    if legend:
        for precision, colour in PRECISION_COLOURS.items():
            ax.scatter([], [], c=colour, label=precision)
        for recovery, marker in RECOVERY_MARKERS.items():
            ax.scatter([], [], c="white", edgecolors="black", marker=marker, label=f"recovery: {recovery}")
        ax.legend(fontsize=7, loc="lower right", ncol=2)


def pareto_panels(by_batch: Mapping[int, Sequence[Variant]], *, dense_accuracy: float) -> plt.Figure:
    """One panel per batch size (the same variants, timed at that batch), the legend on the first."""
    fig, axes = plt.subplots(1, len(by_batch), figsize=(6.2 * len(by_batch), 4.6), sharey=True, squeeze=False)
    for index, (ax, (batch, variants)) in enumerate(zip(axes[0], by_batch.items(), strict=True)):
        draw_front(ax, variants, dense_accuracy=dense_accuracy, legend=index == 0)
        front = pareto_front(variants)
        ax.set_title(f"batch {batch}: {len(variants)} variants, {len(front)} on the front", fontsize=9)
    fig.tight_layout()
    return fig


class ParetoFigure:
    """Validation accuracy against time for every variant, the front drawn, one point highlighted."""

    def __init__(self, variants: Sequence[Variant], *, dense_accuracy: float) -> None:
        self.fig, self.ax = plt.subplots(figsize=(8.5, 4.6), dpi=72)
        draw_front(self.ax, variants, dense_accuracy=dense_accuracy)
        self.highlight = self.ax.scatter([], [], s=700, facecolors="none", edgecolors="red", linewidths=2)
        self.title = self.ax.set_title("M", fontsize=9)   # a line of room for the status the updates write
        self.fig.tight_layout()
        self.title.set_text("")
        plt.close(self.fig)   # shown as a PNG by the explorer, never by pyplot
        self.frames = BlitPNG(self.fig, lambda: [self.highlight, self.title])

    def update(self, view: PipelineView) -> None:
        if view.variant is None:
            self.highlight.set_offsets([[float("nan"), float("nan")]])
        else:
            self.highlight.set_offsets([[view.variant.time_ratio, 100 * view.variant.valid_accuracy]])
        self.title.set_text(view.status)

    def png(self) -> bytes:
        return self.frames.png()


def pipeline_explorer(by_batch: Mapping[int, Sequence[Variant]], *, dense_accuracy: float):
    """A budget slider and recovery / precision / batch buttons over the measured grid; no training in the
    callback. `by_batch` holds the same variants timed at each batch size (the first is shown first)."""
    import ipywidgets as widgets

    if not by_batch:
        raise ValueError("the explorer needs the variants of at least one batch size")
    first = next(iter(by_batch.values()))
    budgets = list(dict.fromkeys(v.budget for v in first))
    if "dense" not in budgets:
        raise ValueError("the variants need the dense model (budget 'dense') as the reference point")
    budget = widgets.SelectionSlider(options=budgets, value=budgets[min(1, len(budgets) - 1)],
                                     description="budget", continuous_update=True)
    budget.add_class("kit-budget-slider")
    recovery = widgets.ToggleButtons(options=list(RECOVERY_MARKERS), value="distill", description="recovery")
    precision = widgets.ToggleButtons(options=list(PRECISION_COLOURS), value="int8 PTQ", description="precision")
    batch = widgets.ToggleButtons(options=[(f"batch {b}", b) for b in by_batch], value=next(iter(by_batch)),
                                  description="time at")
    figures = {b: ParetoFigure(variants, dense_accuracy=dense_accuracy) for b, variants in by_batch.items()}

    def show() -> tuple[str, bytes]:
        view = pipeline_update(by_batch[batch.value], budget.value, recovery.value, precision.value)
        figure = figures[batch.value]
        figure.update(view)
        return view.status, figure.png()

    return explorer([budget, recovery, precision, batch], "kit-pipeline-status", show, in_a_row=False)
