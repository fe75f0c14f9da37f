"""Chapter 5's exercises: right answers pass, known wrong ones fail, and the APIs they rebuild are blocked."""

import copy
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.ao.quantization import MinMaxObserver, QConfig, QConfigMapping, get_default_qconfig

from kit.exercises import evaluate
from kit.models.cnn import SmallCNN

pytestmark = pytest.mark.filterwarnings("ignore:Please use quant_min and quant_max:UserWarning")


def right_qparams(x):
    low, high = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
    scale = max(torch.tensor((high - low) / 255, dtype=torch.float32).item(), torch.finfo(torch.float32).eps)
    return scale, int(min(255, max(0, 0 - round(low / scale))))


def test_observer_qparams():
    assert evaluate("05-observer-qparams", right_qparams).passed

    def no_eps_floor(x):
        low, high = min(x.min().item(), 0.0), max(x.max().item(), 0.0)
        scale = (high - low) / 255
        return scale, int(0 - round(low / scale))

    no_floor = evaluate("05-observer-qparams", no_eps_floor)
    assert no_floor.status == "not yet" and "all-zero" in no_floor.message and "eps" in no_floor.message

    def zero_scale_for_zeros(x):
        if not x.any():
            return 0.0, 0
        return right_qparams(x)

    assert "Floor the scale" in evaluate("05-observer-qparams", zero_scale_for_zeros).message
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

    def decomposed(x):
        scale, zero_point = torch.ops.quantized_decomposed.choose_qparams(x, 0, 255, 1e-7, torch.uint8)
        return float(scale), int(zero_point)

    assert "observer API" in evaluate("05-observer-qparams", decomposed).message


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
    """A small SmallCNN with trained-looking BatchNorm statistics, random calibration batches and a random
    validation set: what the check needs, built here (no checkpoint, no training)."""
    torch.manual_seed(0)
    cnn = SmallCNN(widths=(4, 8, 8, 16)).train()
    with torch.no_grad():
        cnn(torch.randn(32, 1, 32, 32))
    batches = [torch.randn(16, 1, 32, 32) for _ in range(2)]
    images = SimpleNamespace(valid_images=torch.randn(40, 1, 32, 32), valid_labels=torch.randint(0, 10, (40,)))
    return cnn.eval(), batches, images


QCONFIG = get_default_qconfig("x86")
PER_TENSOR = QConfig(activation=QCONFIG.activation,
                     weight=MinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric))


def right_mapping():
    return (QConfigMapping().set_global(QCONFIG).set_module_name("features.0.0", None)
            .set_module_name("classifier", PER_TENSOR))


def test_keep_first_conv_float(chapter_context):
    torch.backends.quantized.engine = "x86"
    right = evaluate("05-keep-first-conv-float", (right_mapping(), *chapter_context))
    assert right.passed, right.message
    by_type = (QConfigMapping().set_global(QCONFIG).set_module_name("features.0.0", None)
               .set_object_type(nn.Linear, PER_TENSOR))
    assert evaluate("05-keep-first-conv-float", (by_type, *chapter_context)).passed
    wrong = {
        "features.0.0": QConfigMapping().set_global(QCONFIG).set_module_name("classifier", PER_TENSOR),
        "stayed float": right_mapping().set_module_name("features", None),
        "set the global qconfig": QConfigMapping(),
        "not engine_qconfig": QConfigMapping().set_global(PER_TENSOR).set_module_name("features.0.0", None),
        "per-tensor weights": right_mapping().set_module_name("features.2.0", PER_TENSOR),
        "(per channel)": QConfigMapping().set_global(QCONFIG).set_module_name("features.0.0", None),
        "observed differently": right_mapping().set_module_name("classifier", QConfig(
            activation=MinMaxObserver.with_args(reduce_range=True), weight=PER_TENSOR.weight)),
    }
    for words, mapping in wrong.items():
        verdict = evaluate("05-keep-first-conv-float", (mapping, *chapter_context))
        assert verdict.status == "not yet" and words in verdict.message, (words, verdict)
    assert evaluate("05-keep-first-conv-float", (..., *chapter_context)).status == "not attempted"
    assert "SmallCNN" not in evaluate("05-keep-first-conv-float", (right_mapping(), nn.Linear(2, 2),
                                                                  *chapter_context[1:])).message


def _with_eps(bn, eps):
    changed = copy.deepcopy(bn)
    changed.eps = eps
    return changed
