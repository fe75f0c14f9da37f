"""The compression-grid explorer (chapter 8): pick a budget, a recovery and a precision; see the point.

Every variant was trained and measured before the explorer opens; a control change only looks one up
(`pipeline_update`) and moves a highlight over the Pareto figure (`ParetoFigure`, blitted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt

from kit.measure import format_bytes
from kit.pareto import Variant, pareto_front
from kit.widgets.blitting import BlitPNG
from kit.widgets.explorer import explorer

PRECISION_COLOURS = {"fp32": "tab:blue", "int8 PTQ": "tab:orange", "int8 QAT": "tab:green"}
RECOVERY_MARKERS = {"none": "*", "labels": "o", "distill": "s", "scratch": "^"}


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
                f"{1 / v.time_ratio:.2f}x faster · {format_bytes(v.size_bytes)}")


def pipeline_update(variants: Sequence[Variant], budget: str, recovery: str, precision: str) -> PipelineView:
    """The measured variant for (budget, recovery, precision); the dense model has no recovery."""
    if budget == "dense":
        found = [v for v in variants if v.budget == "dense" and v.precision == precision]
    else:
        found = [v for v in variants if (v.budget, v.recovery, v.precision) == (budget, recovery, precision)]
    if found:
        return PipelineView(found[0])
    made = sorted({f"{v.recovery} + {v.precision}" for v in variants if v.budget == budget})
    return PipelineView(None, f"⚠ not in the grid: {budget} with {recovery} and {precision} was not trained "
                              f"(this budget has {', '.join(made) or 'nothing'})")


class ParetoFigure:
    """Validation accuracy against time for every variant, the front drawn, one point highlighted."""

    def __init__(self, variants: Sequence[Variant], *, dense_accuracy: float) -> None:
        self.fig, self.ax = plt.subplots(figsize=(8.5, 4.6), dpi=72)
        largest = max(v.size_bytes for v in variants)
        for v in variants:
            self.ax.scatter(v.time_ratio, 100 * v.valid_accuracy, s=30 + 400 * v.size_bytes / largest,
                            c=PRECISION_COLOURS[v.precision], marker=RECOVERY_MARKERS[v.recovery], alpha=0.6,
                            edgecolors="black", linewidths=0.5)
        front = pareto_front(variants)
        self.ax.plot([v.time_ratio for v in front], [100 * v.valid_accuracy for v in front], "k--", lw=1,
                     label="Pareto front")
        self.ax.axhline(100 * dense_accuracy - 1, color="gray", lw=0.8, ls=":", label="dense − 1 point")
        for precision, colour in PRECISION_COLOURS.items():
            self.ax.scatter([], [], c=colour, label=precision)
        for recovery, marker in RECOVERY_MARKERS.items():
            self.ax.scatter([], [], c="white", edgecolors="black", marker=marker, label=f"recovery: {recovery}")
        self.ax.set_xscale("log")
        self.ax.set_xlabel("time / dense FP32 time (1 thread, batch 64; log scale)")
        self.ax.set_ylabel("validation accuracy (%)")
        self.ax.legend(fontsize=7, loc="lower right", ncol=2)
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


def pipeline_explorer(variants: Sequence[Variant], *, dense_accuracy: float):
    """A budget slider and recovery / precision buttons over the measured grid; no training in the callback."""
    import ipywidgets as widgets

    budgets = list(dict.fromkeys(v.budget for v in variants))
    if "dense" not in budgets:
        raise ValueError("the variants need the dense model (budget 'dense') as the reference point")
    budget = widgets.SelectionSlider(options=budgets, value=budgets[min(1, len(budgets) - 1)],
                                     description="budget", continuous_update=True)
    budget.add_class("kit-budget-slider")
    recovery = widgets.ToggleButtons(options=[r for r in RECOVERY_MARKERS if r != "none"], value="distill",
                                     description="recovery")
    precision = widgets.ToggleButtons(options=list(PRECISION_COLOURS), value="int8 PTQ", description="precision")
    figure = ParetoFigure(variants, dense_accuracy=dense_accuracy)

    def show() -> tuple[str, bytes]:
        view = pipeline_update(variants, budget.value, recovery.value, precision.value)
        figure.update(view)
        return view.status, figure.png()

    return explorer([budget, recovery, precision], "kit-pipeline-status", show, in_a_row=False)
