import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from kit import plots  # noqa: E402


def test_moving_average():
    assert np.allclose(plots.moving_average([1, 2, 3, 4], 2), [1, 1.5, 2.5, 3.5])
    assert np.allclose(plots.moving_average([1, 2, 3], 1), [1, 2, 3])
    assert plots.moving_average([], 3).size == 0


def test_plot_curves_draws_each_curve_and_reference():
    ax = plots.plot_curves({"a": [1, 2, 3], "b": [3, 2, 1]}, xlabel="x", ylabel="y", reference=(1.5, "ref"), logy=True)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["a", "b", "ref"]
    assert ax.get_yscale() == "log"


def test_plot_matrices_shares_one_symmetric_scale():
    axes = plots.plot_matrices({"a": torch.tensor([[1.0, -2.0]]), "b": torch.tensor([[0.5, 0.0]])})
    limits = {ax.images[0].get_clim() for ax in axes}
    assert limits == {(-2.0, 2.0)}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")
