"""Checks for chapter 5 (static quantization and QAT of the CNN)."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function, unpack


def _observer_apis() -> list[tuple[object, str]]:
    import torch.ao.quantization.fx._decomposed  # noqa: F401 - registers torch.ops.quantized_decomposed
    import torch.ao.quantization.utils as quant_utils
    from torch.ao.quantization.observer import MinMaxObserver, UniformQuantizationObserverBase

    apis: list[tuple[object, str]] = [(MinMaxObserver, "forward"), (MinMaxObserver, "calculate_qparams"),
                                      (UniformQuantizationObserverBase, "_calculate_qparams"),
                                      (quant_utils, "determine_qparams"), (torch, "quantize_per_tensor"),
                                      (torch.ops.quantized_decomposed, "choose_qparams")]
    return apis + [(torch, name) for name in ("_choose_qparams_per_tensor", "choose_qparams_optimized")
                   if hasattr(torch, name)]


@exercise("05-observer-qparams")
def _observer_qparams(answer: Any) -> str:
    expect_function(answer, "qparams(x) returning (scale, zero_point)")
    from torch.ao.quantization.observer import MinMaxObserver

    generator = torch.Generator().manual_seed(5)
    cases = {"mixed signs": torch.randn(500, generator=generator) * 3,
             "all positive": torch.rand(300, generator=generator) * 5 + 1,
             "all negative": -torch.rand(200, generator=generator) * 2 - 0.5,
             "narrow": torch.randn(100, generator=generator) * 0.01 + 0.3,
             "all zeros": torch.zeros(50)}
    expected = {}
    for label, x in cases.items():
        observer = MinMaxObserver()
        observer(x)
        scale, zero_point = observer.calculate_qparams()
        expected[label] = (float(scale), int(zero_point))
    for label, x in cases.items():   # one case at a time, so the first hint is about the first case that fails
        with forbidden(*_observer_apis(), reason="compute the range, scale and zero-point yourself: the observer "
                       "API is what this exercise rebuilds.", learner=answer):
            try:
                result = answer(x.clone())
            except (ZeroDivisionError, ValueError, RuntimeError) as error:
                if label != "all zeros":
                    raise
                raise NotYet(f"an all-zero tensor made your function raise {type(error).__name__}: its range is "
                             "empty, so (max - min) / 255 is 0; the observer floors the scale at "
                             "torch.finfo(torch.float32).eps.") from None
        try:
            scale, zero_point = result
            scale = float(scale)
            zero_point = int(zero_point) if float(zero_point) == int(zero_point) else zero_point
        except (TypeError, ValueError):
            raise NotYet("return a pair (scale, zero_point) of numbers.") from None
        want_scale, want_zero_point = expected[label]
        if not math.isclose(scale, want_scale, rel_tol=1e-5):
            hint = (" Floor the scale at torch.finfo(torch.float32).eps, as the observer does." if label == "all zeros"
                    else " Widen the range to include 0 first: min(x.min(), 0) and max(x.max(), 0)."
                    if label in ("all positive", "all negative", "narrow") else " Spread the range over 255 steps.")
            raise NotYet(f"scale {scale:.6g} for the {label} case, expected {want_scale:.6g}.{hint}")
        if not isinstance(zero_point, int) or zero_point != want_zero_point:
            raise NotYet(f"zero_point {zero_point!r} for the {label} case, expected {want_zero_point}: the code of "
                         "0.0 is 0 - round(min / scale), a whole number clamped to [0, 255].")
    return "Your scales and zero-points match MinMaxObserver on five tensors, one-signed and all-zero ones included."


def _fusion_apis() -> list[tuple[object, str]]:
    import torch.ao.quantization as tq
    import torch.ao.quantization.fuser_method_mappings as fusers
    import torch.nn.utils.fusion as fusion

    return [(tq, "fuse_modules"), (tq, "fuse_modules_qat"), (fusion, "fuse_conv_bn_eval"),
            (fusion, "fuse_conv_bn_weights"), (torch.nn.utils, "fuse_conv_bn_eval"),
            (torch.nn.utils, "fuse_conv_bn_weights"), (fusers, "fuse_conv_bn")]


def _conv_bn_pair(seed: int, bias: bool, eps: float) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    generator = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(3, 6, 3, padding=1, bias=bias)
    bn = nn.BatchNorm2d(6, eps=eps)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.3)
        if bias:
            conv.bias.copy_(torch.randn(6, generator=generator))
        bn.weight.copy_(torch.rand(6, generator=generator) + 0.5)
        bn.bias.copy_(torch.randn(6, generator=generator))
        bn.running_mean.copy_(torch.randn(6, generator=generator))
        bn.running_var.copy_(torch.rand(6, generator=generator) * 0.05 + 0.001)   # small: eps matters
    return conv.eval(), bn.eval()


@exercise("05-fold-batchnorm")
def _fold_batchnorm(answer: Any) -> str:
    expect_function(answer, "fold(conv, bn) returning (weight, bias)")
    generator = torch.Generator().manual_seed(7)
    for seed, bias, eps in ((1, False, 1e-5), (2, True, 1e-5), (3, True, 1e-2)):
        conv, bn = _conv_bn_pair(seed, bias, eps)
        x = torch.randn(4, 3, 8, 8, generator=generator)
        with torch.no_grad():
            expected = bn(conv(x))
        with forbidden(*_fusion_apis(), reason="fold the BatchNorm with the formulas of section 2; PyTorch's "
                       "fusion helpers are what this exercise rebuilds.", learner=answer), torch.no_grad():
            result = answer(copy.deepcopy(conv), copy.deepcopy(bn))
        weight, folded_bias = unpack(result, 2, "return a pair (weight, bias) of tensors.")
        if not isinstance(weight, torch.Tensor) or not isinstance(folded_bias, torch.Tensor):
            raise NotYet("return tensors: the folded weight (6, 3, 3, 3) and bias (6,); a conv without bias "
                         "still gets one after folding.")
        if weight.shape != conv.weight.shape or folded_bias.shape != (6,):
            raise NotYet(f"shapes {tuple(weight.shape)} and {tuple(folded_bias.shape)}; expected "
                         f"{tuple(conv.weight.shape)} and (6,).")
        with torch.no_grad():
            got = F.conv2d(x, weight, folded_bias, padding=1)
        if not torch.allclose(got, expected, atol=1e-4, rtol=1e-4):
            where = ("with eps = 0.01 (use sqrt(running_var + eps))" if eps > 1e-3 else
                     "when the conv has a bias (it is shifted and scaled too)" if bias else "")
            raise NotYet(f"your folded conv differs from conv -> bn by up to {(got - expected).abs().max():.3g} "
                         f"{where}: W' = W * gamma / sqrt(var + eps) per output channel, "
                         "b' = beta + (b - mean) * gamma / sqrt(var + eps).")
    return "Your folded convolution computes conv -> BatchNorm, with and without a conv bias."


def _observer_summary(observer: object) -> tuple[object, ...]:
    """What makes two observers alike: class, dtype, scheme and range (qconfig partials have no useful equality)."""
    return (type(observer).__name__, observer.dtype, observer.qscheme, getattr(observer, "reduce_range", None),
            getattr(observer, "quant_min", None), getattr(observer, "quant_max", None))


def _observer_after(prepared: nn.Module, module_name: str) -> object | None:
    """The observer prepare_fx put on the output of `module_name`, or None when it has none."""
    for node in prepared.graph.nodes:
        if node.op == "call_module" and node.target == module_name:
            for user in node.users:
                if user.op == "call_module" and "activation_post_process" in str(user.target):
                    return prepared.get_submodule(user.target)
    return None


FIRST_CONV, CONVS, CLASSIFIER = "features.0.0", ("features.2.0", "features.4.0", "features.6.0"), "classifier"


@exercise("05-keep-first-conv-float")
def _keep_first_conv_float(answer: Any) -> str:
    from torch.ao.quantization import QConfigMapping, get_default_qconfig
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    from kit.models.cnn import SmallCNN
    from kit.static_quantization import calibrate

    mapping, model, batches, images = unpack(answer, 4, "answer with (your_mapping, cnn, calibration, images), as "
                                                        "the cell shows.")
    if not isinstance(mapping, QConfigMapping):
        raise NotYet(f"the first item must be a QConfigMapping, got {type(mapping).__name__}.")
    if not isinstance(model, SmallCNN) or len(model.widths) != 4:
        raise NotYet("pass the chapter's CNN (cnn) as the second item.")
    engine = torch.backends.quantized.engine
    engine_qconfig = get_default_qconfig(engine)
    if mapping.global_qconfig is None:
        raise NotYet("nothing was quantized: set the global qconfig to engine_qconfig.")
    for part in ("activation", "weight"):
        if _observer_summary(getattr(mapping.global_qconfig, part)()) != _observer_summary(
                getattr(engine_qconfig, part)()):
            raise NotYet(f"the global qconfig's {part} observer is not engine_qconfig's "
                         f"(get_default_qconfig({engine!r})): set_global(engine_qconfig).")
    prepared = prepare_fx(copy.deepcopy(model).eval(), mapping, (batches[0][:1],))
    classifier_observer = _observer_after(prepared, CLASSIFIER)
    calibrate(prepared, batches)
    converted = convert_fx(prepared)

    def is_int8(name: str) -> bool:
        return ".quantized" in type(converted.get_submodule(name)).__module__

    if is_int8(FIRST_CONV):
        raise NotYet(f"the first convolution ({FIRST_CONV}) was quantized: give it the qconfig None.")
    float_others = [name for name in (*CONVS, CLASSIFIER) if not is_int8(name)]
    if float_others:
        raise NotYet(f"{', '.join(float_others)} stayed float: only {FIRST_CONV} should; override just the "
                     "modules the exercise names.")
    per_channel = (torch.per_channel_symmetric, torch.per_channel_affine)
    per_tensor_convs = [name for name in CONVS if converted.get_submodule(name).weight().qscheme() not in per_channel]
    if per_tensor_convs:
        raise NotYet(f"{', '.join(per_tensor_convs)} got per-tensor weights: only the classifier should; the "
                     "convolutions keep engine_qconfig's per-channel weights.")
    classifier_scheme = converted.get_submodule(CLASSIFIER).weight().qscheme()
    if classifier_scheme in per_channel:
        raise NotYet(f"the classifier's weights are {classifier_scheme} (per channel): give the classifier a "
                     "QConfig whose weight observer is per-tensor, e.g. section 4's weight_observers['per-tensor'].")
    engine_activation = _observer_summary(engine_qconfig.activation())
    if classifier_observer is None or _observer_summary(classifier_observer) != engine_activation:
        raise NotYet("the classifier's output is observed differently from the other layers: keep "
                     "engine_qconfig.activation as its activation observer and change only the weights.")
    with torch.inference_mode():
        fp32 = float((model.eval()(images.valid_images).argmax(1) == images.valid_labels).float().mean())
        int8 = float((converted(images.valid_images).argmax(1) == images.valid_labels).float().mean())
    return (f"{FIRST_CONV} stays float, the other convolutions are int8 with per-channel weights, the classifier "
            f"int8 with per-tensor weights. Validation accuracy {int8:.2%} (FP32 {fp32:.2%}): compare it with "
            "section 4's all-int8 and keep-float models.")
