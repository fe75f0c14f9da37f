"""Chapter 5's exercises: right answers pass, known wrong ones fail, and the APIs they rebuild are blocked."""

import copy

import pytest
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver, QConfigMapping, get_default_qconfig

from kit.checkpoints import ensure
from kit.data.images import load_images
from kit.exercises import evaluate
from kit.static_quantization import calibration_batches

pytestmark = pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max:UserWarning")


def right_qparams(x):
    low, high = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
    scale = torch.tensor((high - low) / 255, dtype=torch.float32).item()
    return scale, int(min(255, max(0, 0 - round(low / scale))))


def test_observer_qparams():
    assert evaluate("05-observer-qparams", right_qparams).passed
    def range_without_zero(x):
        scale = (x.max() - x.min()).item() / 255
        return scale, int(round(-x.min().item() / scale))

    no_zero_in_range = evaluate("05-observer-qparams", range_without_zero)
    assert no_zero_in_range.status == "not yet" and "include 0" in no_zero_in_range.message
    float_zero_point = evaluate("05-observer-qparams", lambda x: (right_qparams(x)[0], right_qparams(x)[1] + 0.4))
    assert float_zero_point.status == "not yet" and "zero_point" in float_zero_point.message


def test_observer_qparams_cannot_use_the_observer():
    def shortcut(x):
        observer = MinMaxObserver()
        observer(x)
        scale, zero_point = observer.calculate_qparams()
        return float(scale), int(zero_point)

    before = shortcut(torch.tensor([-1.0, 3.0]))
    verdict = evaluate("05-observer-qparams", shortcut)
    assert verdict.status == "not yet" and "observer API" in verdict.message
    assert shortcut(torch.tensor([-1.0, 3.0])) == before   # the observer works again afterwards


def right_fold(conv, bn):
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return conv.weight * factor.view(-1, 1, 1, 1), bn.bias + (bias - bn.running_mean) * factor


def test_fold_batchnorm():
    assert evaluate("05-fold-batchnorm", right_fold).passed
    no_eps = evaluate("05-fold-batchnorm", lambda c, b: right_fold(c, _with_eps(b, 0.0)))
    assert no_eps.status == "not yet" and "eps" in no_eps.message

    def ignores_conv_bias(conv, bn):
        no_bias = copy.deepcopy(conv)
        no_bias.bias = None
        return right_fold(no_bias, bn)

    assert "bias" in evaluate("05-fold-batchnorm", ignores_conv_bias).message


def test_fold_batchnorm_cannot_use_pytorchs_fusion():
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def shortcut(conv, bn):
        fused = fuse_conv_bn_eval(conv, bn)
        return fused.weight, fused.bias

    verdict = evaluate("05-fold-batchnorm", shortcut)
    assert verdict.status == "not yet" and "fusion helpers" in verdict.message
    assert fuse_conv_bn_eval(nn.Conv2d(1, 1, 1).eval(), nn.BatchNorm2d(1).eval()) is not None   # restored


@pytest.fixture(scope="module")
def chapter_context():
    images = load_images("fashion-embedded")
    cnn = ensure("cnn-fashion", quick=True).model.eval()
    return cnn, calibration_batches(images.fit_images, 4), images


def test_keep_first_conv_float(chapter_context):
    qconfig = get_default_qconfig("x86")
    right = QConfigMapping().set_global(qconfig).set_module_name("features.0.0", None)
    assert evaluate("05-keep-first-conv-float", (right, *chapter_context)).passed
    all_int8 = evaluate("05-keep-first-conv-float", (QConfigMapping().set_global(qconfig), *chapter_context))
    assert all_int8.status == "not yet" and "features.0.0" in all_int8.message
    all_convs_float = QConfigMapping().set_global(qconfig).set_module_name("features", None)
    assert "stayed float" in evaluate("05-keep-first-conv-float", (all_convs_float, *chapter_context)).message
    assert "global qconfig" in evaluate("05-keep-first-conv-float", (QConfigMapping(), *chapter_context)).message
    assert evaluate("05-keep-first-conv-float", (..., *chapter_context)).status == "not attempted"


def _with_eps(bn, eps):
    changed = copy.deepcopy(bn)
    changed.eps = eps
    return changed
