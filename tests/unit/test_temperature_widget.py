"""The temperature explorer's update (chapter 6): its figures follow the loss, bad settings give a message."""

import math

import pytest
import torch

from kit.distillation import kd_loss
from kit.widgets import SoftTargetFigure, soft_target_update, temperature_explorer


@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.0), (4.0, 0.5), (20.0, 1.0), (0.5, 0.3)])
def test_update_matches_the_distillation_loss(temperature, alpha):
    torch.manual_seed(0)
    teacher, student = torch.randn(10) * 5, torch.randn(10) * 2
    view = soft_target_update(teacher, student, 3, temperature, alpha)
    expected = kd_loss(student[None], teacher[None], torch.tensor([3]), temperature=temperature, alpha=alpha)
    assert view.loss == pytest.approx(float(expected), rel=1e-4, abs=1e-6)
    assert float(view.teacher.sum()) == pytest.approx(1.0) and float(view.student.sum()) == pytest.approx(1.0)
    assert torch.equal(view.teacher.argsort(), torch.softmax(teacher, -1).argsort())   # T never reorders


def test_higher_temperature_flattens_the_teacher():
    teacher, student = torch.tensor([8.0, 2.0, 0.0, -3.0]), torch.zeros(4)
    peaks = [float(soft_target_update(teacher, student, 0, t, 0.5).teacher.max()) for t in (1, 2, 4, 8, 16)]
    assert peaks == sorted(peaks, reverse=True) and peaks[-1] < 0.4


@pytest.mark.parametrize("temperature,alpha,words", [(0.0, 0.5, "temperature T must be a positive"),
                                                     (-2.0, 0.5, "temperature"), (4.0, 1.5, "alpha"),
                                                     (4.0, -0.1, "alpha"), (math.nan, 0.5, "temperature")])
def test_bad_settings_give_a_message_not_an_error(temperature, alpha, words):
    view = soft_target_update(torch.zeros(3), torch.zeros(3), 0, temperature, alpha)
    assert view.message.startswith("⚠") and words in view.message and view.status == view.message
    figure = SoftTargetFigure(["a", "b", "c"])
    figure.update(view)    # draws the message, no exception
    assert figure.png()[:4] == b"\x89PNG"


def test_figure_bars_follow_the_view():
    figure = SoftTargetFigure([f"c{i}" for i in range(5)])
    view = soft_target_update(torch.arange(5.0), torch.zeros(5), 2, 2.0, 0.5)
    figure.update(view, torch.rand(1, 8, 8))
    assert [b.get_height() for b in figure.teacher_bars] == pytest.approx(view.teacher.tolist())
    assert [b.get_width() for b in figure.loss_bars] == pytest.approx([view.soft_term, view.label_term, view.loss])


def test_explorer_wires_sliders_to_the_update():
    torch.manual_seed(1)
    teacher, student, labels = torch.randn(6, 4), torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    box = temperature_explorer(teacher, student, labels, ["a", "b", "c", "d"], torch.rand(6, 1, 8, 8))
    index, t_slider, a_slider = box.children[0].children
    status, picture = box.children[1], box.children[2]
    t_slider.value, a_slider.value, index.value = 8.0, 0.25, 4
    expected = soft_target_update(teacher[4], student[4], 0, 8.0, 0.25)
    assert expected.status in status.value and picture.value[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one row per image"):
        temperature_explorer(teacher, student[:3], labels, ["a", "b", "c", "d"])


def test_a_figure_shown_after_a_frame_still_draws_its_bars():
    import io

    figure = SoftTargetFigure(["a", "b", "c"])
    figure.update(soft_target_update(torch.tensor([3.0, 0.0, -1.0]), torch.zeros(3), 0, 2.0, 0.5))
    frame = figure.png()
    assert not any(bar.get_animated() for bar in figure.teacher_bars)
    whole = io.BytesIO()
    figure.fig.savefig(whole, format="png", dpi=72)
    assert frame[:4] == whole.getvalue()[:4] == b"\x89PNG"
