"""Pruning explorers (chapter 2). Each update is a plain function (tested directly); the widget only wires it up.

The model shown is never pruned in place: every update prunes a fresh copy of the trained weights,
so moving a slider back restores the original accuracy exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import torch
from torch import nn

from kit import pruning
from kit.train.classify import accuracy
from kit.widgets.blitting import BlitPNG
from kit.widgets.explorer import explorer

METHOD_LABELS = {
    "l1-unstructured": "L1 unstructured (per layer)",
    "random-unstructured": "random unstructured (per layer)",
    "ln-structured": "L2 structured: whole output channels (per layer)",
    "global-l1": "global L1 unstructured (all layers together)",
}


@dataclass(frozen=True)
class PruningView:
    """What one slider position shows: per-layer and global sparsity, accuracy, the weights kept."""

    layer_sparsity: dict[str, float]
    global_sparsity: float
    accuracy: float
    weights: torch.Tensor  # every prunable weight (pruned ones are 0), flattened
    cut: float | None  # the magnitude below which weights were pruned, when there is one
    message: str = ""  # set instead of the figures when the input was rejected

    @property
    def status(self) -> str:
        if self.message:
            return self.message
        return f"global sparsity {self.global_sparsity:.1%} · accuracy {self.accuracy:.2%}"


def _view(pruned: nn.Module, images: torch.Tensor, labels: torch.Tensor, cut: float | None) -> PruningView:
    weights = torch.cat([w.flatten() for w in pruning.weights_of(pruned)])
    return PruningView(pruning.layer_sparsity(pruned), pruning.global_sparsity(pruned),
                       accuracy(pruned, images, labels), weights, cut)


def _rejected(message: str) -> PruningView:
    return PruningView({}, float("nan"), float("nan"), torch.zeros(0), None, message)


def sparsity_update(model: nn.Module, method: str, amount: float, images: torch.Tensor,
                    labels: torch.Tensor) -> PruningView:
    """Prune a copy of `model` by `method` and `amount` and measure it; bad input gives a message."""
    try:
        pruned = pruning.pruned_copy(model, method, amount)
    except ValueError as error:
        return _rejected(f"⚠ {error}")
    view = _view(pruned, images, labels, None)
    survivors = view.weights[view.weights != 0].abs()
    if method == "random-unstructured" or amount == 0 or survivors.numel() == 0:
        return view
    return replace(view, cut=float(survivors.min()))  # the smallest magnitude kept marks the cut


def threshold_update(model: nn.Module, threshold: float, images: torch.Tensor, labels: torch.Tensor,
                     method: type = pruning.ThresholdPruning) -> PruningView:
    """Prune |w| <= threshold in a copy of `model` (through `method`, a BasePruningMethod) and measure it."""
    try:
        pruned = pruning.thresholded_copy(model, threshold, method)
    except ValueError as error:
        return _rejected(f"⚠ {error}")
    return _view(pruned, images, labels, float(threshold))


def draw_view(view: PruningView, title: str = "") -> plt.Figure:
    """Per-layer sparsity bars and the histogram of the weights kept, with the cut marked."""
    fig, (bars, hist) = plt.subplots(1, 2, figsize=(9, 3.2))
    names = list(view.layer_sparsity)
    bars.barh(names, [view.layer_sparsity[n] for n in names], color="tab:blue")
    bars.axvline(view.global_sparsity, color="tab:red", linestyle="--", label=f"global {view.global_sparsity:.1%}")
    bars.set_xlim(0, 1)
    bars.invert_yaxis()
    bars.set_xlabel("fraction of weights pruned")
    bars.legend(loc="lower right")
    kept = view.weights[view.weights != 0]
    hist.hist(kept.numpy(), bins=120, color="tab:gray")
    if view.cut is not None:
        for x in (-view.cut, view.cut):
            hist.axvline(x, color="tab:red", linestyle="--")
    hist.set_xlabel("weight value (kept weights; red: the cut)")
    hist.set_yscale("log")
    fig.suptitle(title or view.status)
    fig.tight_layout()
    return fig


class PruningFigure:
    """The figure of `draw_view`, built once for a model and updated in place: a slider move only resets bar
    sizes and histogram counts (fixed bins over the unpruned weights) and renders one PNG."""

    BINS = 120

    def __init__(self, model: nn.Module, title: str = "") -> None:
        import numpy as np

        self.title = title
        names = [name for name, _ in pruning.prunable(model)]
        largest = max(float(w.detach().abs().max()) for w in pruning.weights_of(model))
        self.edges = np.linspace(-largest, largest, self.BINS + 1)
        total = sum(w.numel() for w in pruning.weights_of(model))
        self.fig, (self.bars_ax, self.hist_ax) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=72)
        self.bars = self.bars_ax.barh(names, [0.0] * len(names), color="tab:blue")
        self.global_line = self.bars_ax.axvline(0.0, color="tab:red", linestyle="--", label="global")
        self.bars_ax.set_xlim(0, 1)
        self.bars_ax.invert_yaxis()
        self.bars_ax.set_xlabel("fraction of weights pruned")
        self.legend = self.bars_ax.legend(loc="lower right")
        self.hist_ax.set_yscale("log", nonpositive="clip")
        self.hist_ax.set_ylim(0.8, 1.5 * total)   # fixed: the axis is not laid out again on every move
        self.hist_ax.set_xlim(self.edges[0], self.edges[-1])
        self.hist_ax.set_autoscale_on(False)
        centres = (self.edges[:-1] + self.edges[1:]) / 2
        self.hist = self.hist_ax.bar(centres, [1.0] * self.BINS, width=self.edges[1] - self.edges[0],
                                     color="tab:gray")
        self.cuts = [self.hist_ax.axvline(0.0, color="tab:red", linestyle="--") for _ in range(2)]
        self.hist_ax.set_xlabel("weight value (kept weights; red: the cut)")
        self.suptitle = self.fig.suptitle(title)
        self.fig.tight_layout()
        plt.close(self.fig)  # shown as a PNG by the explorer, never by pyplot
        self.frames = BlitPNG(self.fig, lambda: [*self.bars, self.global_line, self.legend, *self.hist, *self.cuts,
                                                 self.suptitle])

    def update(self, view: PruningView) -> None:
        """Move the bars, the global line, the histogram and the cut to `view`."""
        import numpy as np

        self.suptitle.set_text(self.title or view.status)
        if view.message:
            return
        for bar, value in zip(self.bars, view.layer_sparsity.values(), strict=True):
            bar.set_width(value)
        self.global_line.set_xdata([view.global_sparsity] * 2)
        self.legend.get_texts()[0].set_text(f"global {view.global_sparsity:.1%}")
        kept = view.weights[view.weights != 0].numpy()
        counts, _ = np.histogram(kept, bins=self.edges)
        for rect, count in zip(self.hist, counts, strict=True):
            rect.set_height(count)
        for line, x in zip(self.cuts, (-(view.cut or 0.0), view.cut or 0.0), strict=True):
            line.set_xdata([x, x])
            line.set_visible(view.cut is not None)

    def png(self) -> bytes:
        return self.frames.png()


def _explorer(controls: list, update, model: nn.Module, figure_title: str):
    figure = PruningFigure(model, figure_title)

    def show() -> tuple[str, bytes | None]:
        view = update()
        figure.update(view)
        return view.status, None if view.message else figure.png()

    return explorer(controls, "kit-pruning-status", show)


def sparsity_explorer(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, amount: float = 0.5):
    """Method dropdown + amount slider (0–0.99) -> per-layer sparsity, global sparsity, accuracy, histogram."""
    import ipywidgets as widgets

    method = widgets.Dropdown(options=[(label, key) for key, label in METHOD_LABELS.items()],
                              value="l1-unstructured", description="method")
    slider = widgets.FloatSlider(value=amount, min=0.0, max=0.99, step=0.01, description="amount",
                                 continuous_update=False, readout_format=".2f")
    slider.add_class("kit-amount-slider")
    return _explorer([method, slider], lambda: sparsity_update(model, method.value, slider.value, images, labels),
                     model, "pruning a copy of the trained LeNet")


def threshold_explorer(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, threshold: float = 0.05,
                       method: type = pruning.ThresholdPruning):
    """Threshold slider -> prune |w| <= t everywhere (global_unstructured with `method`) and show the effect."""
    import ipywidgets as widgets

    largest = max(float(w.abs().max()) for w in pruning.weights_of(model))
    slider = widgets.FloatSlider(value=threshold, min=0.0, max=round(largest, 3), step=0.002,
                                 description="threshold", continuous_update=False, readout_format=".3f")
    slider.add_class("kit-threshold-slider")
    return _explorer([slider], lambda: threshold_update(model, slider.value, images, labels, method),
                     model, "pruning |w| ≤ threshold in a copy of the trained LeNet")
