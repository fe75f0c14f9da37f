"""The temperature explorer (chapter 6): soft targets and the two distillation loss terms under sliders.

`soft_target_update` computes what one slider position shows; `SoftTargetFigure` keeps one matplotlib figure,
moves its bars and redraws only them over the rendered axes (`kit.widgets.blitting`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from torch.nn import functional as F

from kit.distillation import check_settings
from kit.widgets.blitting import BlitPNG
from kit.widgets.explorer import explorer


@dataclass(frozen=True)
class SoftTargetView:
    """Teacher and student probabilities at temperature T for one image, and the loss terms they give."""

    temperature: float
    alpha: float
    label: int
    teacher: torch.Tensor   # softmax(teacher logits / T)
    student: torch.Tensor   # softmax(student logits / T)
    soft_term: float        # alpha * T^2 * KL(teacher || student)
    label_term: float       # (1 - alpha) * cross-entropy(student logits, label)
    message: str = ""       # set instead of the figures when the input was rejected

    @property
    def loss(self) -> float:
        return self.soft_term + self.label_term

    @property
    def status(self) -> str:
        if self.message:
            return self.message
        return (f"T = {self.temperature:g} · α = {self.alpha:.2f} · soft term {self.soft_term:.3f} + label term "
                f"{self.label_term:.3f} = loss {self.loss:.3f}")


def soft_target_update(teacher_logits: torch.Tensor, student_logits: torch.Tensor, label: int,
                       temperature: float, alpha: float) -> SoftTargetView:
    """One image's soft targets and loss terms at (T, alpha); a bad T or alpha gives a message, not an error."""
    try:
        check_settings(temperature, alpha)
    except ValueError as error:
        empty = torch.zeros(0)
        return SoftTargetView(temperature, alpha, label, empty, empty, math.nan, math.nan, f"⚠ {error}")
    t = teacher_logits.detach().double()
    s = student_logits.detach().double()
    teacher = F.softmax(t / temperature, dim=-1)
    log_student = F.log_softmax(s / temperature, dim=-1)
    kl = float((teacher * (teacher.clamp_min(1e-300).log() - log_student)).sum())
    ce = float(-F.log_softmax(s, dim=-1)[label])
    return SoftTargetView(float(temperature), float(alpha), int(label), teacher.float(), log_student.exp().float(),
                          alpha * temperature**2 * kl, (1 - alpha) * ce)


class SoftTargetFigure:
    """One figure reused across updates: the image, teacher vs student bars at T, the loss terms."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = list(classes)
        k = len(self.classes)
        self.fig = plt.figure(figsize=(10, 3.2), dpi=72)
        grid = self.fig.add_gridspec(1, 3, width_ratios=(1, 4, 1.6))
        self.image_ax = self.fig.add_subplot(grid[0])
        self.bars_ax = self.fig.add_subplot(grid[1])
        self.loss_ax = self.fig.add_subplot(grid[2])
        self.image = self.image_ax.imshow(torch.zeros(2, 2), cmap="gray_r", vmin=0, vmax=1)
        self.image_ax.set_axis_off()
        x = torch.arange(k).float()
        self.teacher_bars = self.bars_ax.bar(x - 0.2, [0.0] * k, width=0.4, label="teacher", color="tab:blue")
        self.student_bars = self.bars_ax.bar(x + 0.2, [0.0] * k, width=0.4, label="student", color="tab:orange")
        self.bars_ax.set_xticks(range(k), self.classes, rotation=35, ha="right", fontsize=8)
        self.bars_ax.set_ylim(0, 1)
        self.bars_ax.set_ylabel("probability at T")
        self.bars_ax.legend(loc="upper right", fontsize=8)
        self.loss_bars = self.loss_ax.barh([0, 1, 2], [0.0, 0.0, 0.0], color=["tab:blue", "tab:orange", "tab:gray"])
        self.loss_ax.set_yticks([0, 1, 2], ["α·T²·KL", "(1−α)·CE", "loss"], fontsize=8)
        self.loss_ax.invert_yaxis()
        self.loss_ax.set_xlabel("nats")
        self.image_title = self.image_ax.set_title("", fontsize=9)
        self.suptitle = self.fig.suptitle("", fontsize=9)
        self.fig.tight_layout()
        plt.close(self.fig)  # shown as a PNG by the explorer, never by pyplot
        self.frames = BlitPNG(self.fig, lambda: [self.image, self.image_title, *self.teacher_bars,
                                                 *self.student_bars, *self.loss_bars, self.suptitle])

    def update(self, view: SoftTargetView, image: torch.Tensor | None = None) -> None:
        """Move the bars (and the image) to `view`."""
        if image is not None:
            picture = image.detach().squeeze().float()
            self.image.set_data(picture)
            self.image.set_clim(float(picture.min()), float(picture.max()) or 1.0)
        if view.message:
            self.suptitle.set_text(view.message)
            return
        for bars, probs in ((self.teacher_bars, view.teacher), (self.student_bars, view.student)):
            for bar, p in zip(bars, probs.tolist(), strict=True):
                bar.set_height(p)
        for bar, value in zip(self.loss_bars, (view.soft_term, view.label_term, view.loss), strict=True):
            bar.set_width(value)
        limit = 2.0 ** max(0, math.ceil(math.log2(max(1e-9, 1.15 * view.loss))))  # powers of 2: few re-layouts
        if self.loss_ax.get_xlim()[1] != limit:
            self.loss_ax.set_xlim(0, limit)
            self.frames.invalidate()
        self.image_title.set_text(f"label: {self.classes[view.label]}")
        self.suptitle.set_text(view.status)

    def png(self) -> bytes:
        return self.frames.png()


def temperature_explorer(teacher_logits: torch.Tensor, student_logits: torch.Tensor, labels: torch.Tensor,
                         classes: Sequence[str], images: torch.Tensor | None = None, *, temperature: float = 4.0,
                         alpha: float = 0.5):
    """Sliders for the image, T (0.5-20) and alpha (0-1) -> softened teacher and student, and the loss terms."""
    import ipywidgets as widgets

    if not (len(teacher_logits) == len(student_logits) == len(labels)):
        raise ValueError(f"need one row per image: {len(teacher_logits)} teacher rows, {len(student_logits)} "
                         f"student rows, {len(labels)} labels")
    check_settings(temperature, alpha)
    index = widgets.IntSlider(value=0, min=0, max=len(labels) - 1, description="image")
    t_slider = widgets.FloatSlider(value=temperature, min=0.5, max=20.0, step=0.5, description="T",
                                   readout_format=".1f")
    a_slider = widgets.FloatSlider(value=alpha, min=0.0, max=1.0, step=0.05, description="α", readout_format=".2f")
    t_slider.add_class("kit-temperature-slider")
    a_slider.add_class("kit-alpha-slider")
    figure = SoftTargetFigure(classes)

    shown = {"image": None}

    def show() -> tuple[str, bytes]:
        i = index.value
        view = soft_target_update(teacher_logits[i], student_logits[i], int(labels[i]), t_slider.value,
                                  a_slider.value)
        new_image = images is not None and shown["image"] != i   # T and alpha moves leave the picture alone
        figure.update(view, images[i] if new_image else None)
        shown["image"] = i
        return view.status, figure.png()

    return explorer([index, t_slider, a_slider], "kit-distill-status", show)
