"""Figures shared by the chapters (matplotlib; each function returns its Axes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average; the first window-1 points average what is available."""
    array = np.asarray(values, dtype=float)
    if window <= 1 or array.size == 0:
        return array
    cumulative = np.cumsum(np.insert(array, 0, 0.0))
    counts = np.minimum(np.arange(1, array.size + 1), window)
    return (cumulative[1:] - cumulative[np.arange(1, array.size + 1) - counts]) / counts


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    smooth: int = 1,
    logy: bool = False,
    reference: tuple[float, str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """One line per named curve (e.g. training loss per step), optionally smoothed."""
    if ax is None:
        _, ax = plt.subplots()
    for label, values in curves.items():
        ax.plot(moving_average(values, smooth), label=label)
    if reference is not None:
        value, label = reference
        ax.axhline(value, color="grey", linestyle="--", linewidth=1, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_matrices(
    matrices: Mapping[str, torch.Tensor],
    *,
    title: str | None = None,
    cmap: str = "RdBu_r",
) -> np.ndarray:
    """Heat maps side by side on one symmetric colour scale (red positive, blue negative)."""
    arrays = {name: m.detach().cpu().float().numpy() for name, m in matrices.items()}
    limit = max(float(np.abs(a).max()) for a in arrays.values()) or 1.0
    fig, axes = plt.subplots(1, len(arrays), figsize=(3.0 * len(arrays), 3.0), squeeze=False)
    image = None
    for ax, (name, array) in zip(axes[0], arrays.items(), strict=True):
        image = ax.imshow(array, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    if title:
        fig.suptitle(title)
    return axes[0]
