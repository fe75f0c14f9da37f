"""kit.best_fp32: the FP32 forms a speed-up is measured against compute what the eager model computes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kit import best_fp32, measure
from kit.errors import KitError
from kit.models.cnn import SmallCNN


def trained_like_cnn() -> SmallCNN:
    """A SmallCNN whose BatchNorm statistics are not the identity, so folding has something to fold."""
    torch.manual_seed(0)
    model = SmallCNN(widths=(8, 16, 16, 32)).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
    return model


def test_folding_removes_every_batchnorm_and_keeps_the_outputs():
    model = trained_like_cnn()
    folded = best_fp32.fold_batchnorm(model)
    assert not best_fp32.has_batchnorm(folded) and best_fp32.has_batchnorm(model)
    x = torch.randn(4, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(folded(x), model(x), atol=1e-5)


def test_forms_are_checked_and_timed_side_by_side():
    model = trained_like_cnn()
    x = torch.randn(8, 1, 32, 32)
    forms = best_fp32.fp32_forms(model, x)
    assert list(forms.forms) == [best_fp32.EAGER, best_fp32.FOLDED, best_fp32.CHANNELS_LAST]
    assert forms.forms[best_fp32.CHANNELS_LAST].channels_last
    comparison = measure.compare_latency(forms.candidates(x), warmup=1, repeats=3)
    assert forms.fastest(comparison) in comparison.timings
    assert comparison.baseline == "FP32 eager"


def test_a_model_without_batchnorm_gets_no_folded_form():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(3))
    x = torch.randn(2, 1, 8, 8)
    model(x)
    forms = best_fp32.fp32_forms(model, x)
    assert list(forms.forms) == [best_fp32.EAGER, "channels_last"]


def test_an_untraceable_model_is_a_clear_error():
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)

        def forward(self, x):
            if x.sum() > 0:   # data-dependent control flow: torch.fx cannot trace it
                return self.bn(self.conv(x))
            return self.conv(x)

    with pytest.raises(best_fp32.ReferenceError, match="cannot be traced by torch.fx") as error:
        best_fp32.fold_batchnorm(Branchy())
    assert isinstance(error.value, KitError)
