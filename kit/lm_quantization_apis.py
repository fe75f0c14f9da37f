"""Which torchao configs for language-model weights run on this CPU in the pinned versions, and what became of the
older names.

`TABLE` is what chapter 9 prints and what the test suite checks: `observe(row)` imports the config and applies it
with `quantize_` to a tiny model on this CPU (warnings recorded, errors caught), so a new release that makes a
config run, fail, warn or disappear fails a unit test instead of leaving the chapter's table wrong.

`dequantized_weight(weight, config)` returns the float weight a torchao weight-only config stores for a Linear's
weight, so the chapter can assert that its own round-to-nearest quantizer with the same scheme gives exactly it.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from kit.quantization_apis import resolve  # the dotted-path lookup chapter 5's API table uses

RUNS, RAISES, WARNS, MISSING, ALIAS = "runs", "raises", "runs, warns deprecated", "not in this version", "alias"


@dataclass(frozen=True)
class ConfigRow:
    name: str                      # the call as a chapter writes it
    path: str                      # dotted path of the class or function the row is about
    expected: str                  # RUNS, RAISES, WARNS, MISSING or ALIAS in the pinned torch / torchao
    does: str                      # what it does on this CPU, or what replaces it
    probe: Callable[[], object] | None = None   # applies it to a tiny model and runs that model
    error: str = ""                # RAISES: the exception's type name
    same_as: str = ""              # ALIAS: the dotted path it is another name for


def tiny_model() -> nn.Sequential:
    """Two Linears whose `in` (256, 128) every group size here divides and whose `out` (128, 64) is a multiple of
    32, as some CPU int4 kernels require."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    return model


def tiny_inputs(batch: int = 4) -> torch.Tensor:
    return torch.randn(batch, 256, generator=torch.Generator().manual_seed(1))


def _quantize_and_run(make_config: Callable[[], object]) -> torch.Tensor:
    from torchao.quantization import quantize_

    model = tiny_model()
    quantize_(model, make_config())
    with torch.inference_mode():
        return model(tiny_inputs())


def _calibrated(wrapper: str, make_base: Callable[[], object]) -> torch.Tensor:
    """AWQ or SmoothQuant: prepare (observers), calibrate on a few batches, convert, run."""
    from torchao.quantization import quantize_

    module, name = {"awq": ("torchao.prototype.awq", "AWQConfig"),
                    "smoothquant": ("torchao.prototype.smoothquant", "SmoothQuantConfig")}[wrapper]
    config = getattr(importlib.import_module(module), name)
    model = tiny_model()
    quantize_(model, config(make_base(), step="prepare"))
    with torch.no_grad():
        for seed in range(2):
            model(torch.randn(8, 256, generator=torch.Generator().manual_seed(seed)))
    quantize_(model, config(make_base(), step="convert"))
    with torch.inference_mode():
        return model(tiny_inputs())


def _gptq(make_base: Callable[[], object]) -> torch.Tensor:
    from torchao.prototype.gptq import GPTQConfig
    from torchao.quantization import quantize_

    model = tiny_model()
    quantize_(model, GPTQConfig(step="observe", base_config=make_base()))
    with torch.no_grad():
        model(tiny_inputs(8))
    quantize_(model, GPTQConfig(step="convert", base_config=make_base()))
    with torch.inference_mode():
        return model(tiny_inputs())


def _legacy_dynamic() -> torch.Tensor:
    from torch.ao.quantization import quantize_dynamic

    model = quantize_dynamic(tiny_model(), {nn.Linear}, dtype=torch.qint8)
    with torch.inference_mode():
        return model(tiny_inputs())


def _int8_weight_only():
    from torchao.quantization import Int8WeightOnlyConfig
    return Int8WeightOnlyConfig()


def _int8_dynamic():
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig
    return Int8DynamicActivationInt8WeightConfig()


def _intx_int4(group: int = 32, symmetric: bool = True):
    from torchao.quantization import IntxWeightOnlyConfig, MappingType, PerGroup
    mapping = MappingType.SYMMETRIC if symmetric else MappingType.ASYMMETRIC
    return IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(group), mapping_type=mapping)


def _int4_weight_only():
    from torchao.quantization import Int4WeightOnlyConfig
    return Int4WeightOnlyConfig(group_size=128)


def _prototype_int4(group: int = 128):
    from torchao.prototype.quantization.int4 import PrototypeInt4WeightOnlyConfig
    return PrototypeInt4WeightOnlyConfig(group_size=group)


def _prototype_da8w4():
    from torchao.prototype.quantization.int4 import Int8DynamicActivationInt4WeightConfig
    return Int8DynamicActivationInt4WeightConfig(group_size=32)


def _old_version(name: str) -> Callable[[], object]:
    def make():
        return getattr(importlib.import_module("torchao.quantization"), name)(version=1)
    return make


TABLE: list[ConfigRow] = [
    ConfigRow("Int8WeightOnlyConfig()", "torchao.quantization.Int8WeightOnlyConfig", RUNS,
              "int8 weights, symmetric per output row (scale = max|w| / 127.5, codes -128..127); activations stay "
              "float: each call casts the int8 codes to a float matrix, multiplies, and scales the output per row",
              lambda: _quantize_and_run(_int8_weight_only)),
    ConfigRow("Int8DynamicActivationInt8WeightConfig()", "torchao.quantization.Int8DynamicActivationInt8WeightConfig",
              RUNS, "the same int8 weights; each input row is quantized to int8 at run time (symmetric, per token) "
              "and multiplied in integers", lambda: _quantize_and_run(_int8_dynamic)),
    ConfigRow("IntxWeightOnlyConfig(torch.int4, PerGroup(32))", "torchao.quantization.IntxWeightOnlyConfig", RUNS,
              "int4 codes -8..7 held one per int8 byte (unpacked), symmetric per group of 32 (scale = max|w| / 7.5); "
              "dequantized to float before an FP32 matmul", lambda: _quantize_and_run(_intx_int4)),
    ConfigRow("IntxWeightOnlyConfig(torch.int4, PerGroup(32), mapping_type=ASYMMETRIC)",
              "torchao.quantization.IntxWeightOnlyConfig", RUNS,
              "asymmetric int4 with an integer zero point; the range is widened to include 0 (min(w, 0) .. max(w, 0))",
              lambda: _quantize_and_run(lambda: _intx_int4(symmetric=False))),
    ConfigRow("Int4WeightOnlyConfig(group_size=128)", "torchao.quantization.Int4WeightOnlyConfig", RAISES,
              "its packing formats need the mslk (GPU) kernels; on a CPU use PrototypeInt4WeightOnlyConfig",
              lambda: _quantize_and_run(_int4_weight_only), error="ImportError"),
    ConfigRow("PrototypeInt4WeightOnlyConfig(group_size=128)",
              "torchao.prototype.quantization.int4.PrototypeInt4WeightOnlyConfig", RUNS,
              "the CPU int4 path: asymmetric groups (scale = (max - min) / 15, a float zero point), packed for "
              "torch's _weight_int4pack_mm_for_cpu kernel", lambda: _quantize_and_run(_prototype_int4)),
    ConfigRow("Int8DynamicActivationInt4WeightConfig(group_size=32)",
              "torchao.prototype.quantization.int4.Int8DynamicActivationInt4WeightConfig", RAISES,
              "int8 activations with int4 weights needs torchao's da8w4_linear_cpu kernel, not in this torchao "
              "build", lambda: _quantize_and_run(_prototype_da8w4), error="AssertionError"),
    ConfigRow("AWQConfig(PrototypeInt4WeightOnlyConfig(group_size=32), step='prepare' / 'convert')",
              "torchao.prototype.awq.AWQConfig", RUNS,
              "AWQ: per-input-channel scales searched on calibration inputs, folded into the weight, the inverse "
              "applied to the activation", lambda: _calibrated("awq", lambda: _prototype_int4(32))),
    ConfigRow("AWQConfig(IntxWeightOnlyConfig(torch.int4, PerGroup(32)), ...)", "torchao.prototype.awq.AWQConfig",
              RAISES, "AWQ needs a weight tensor that can pre-scale its activation; the intx tensor cannot",
              lambda: _calibrated("awq", _intx_int4), error="AssertionError"),
    ConfigRow("SmoothQuantConfig(Int8DynamicActivationInt8WeightConfig(), step='prepare' / 'convert')",
              "torchao.prototype.smoothquant.SmoothQuantConfig", RUNS,
              "SmoothQuant: moves activation outliers into the weights (alpha 0.5), then int8 x int8",
              lambda: _calibrated("smoothquant", _int8_dynamic)),
    ConfigRow("GPTQConfig(step='observe' / 'convert', base_config=Int8WeightOnlyConfig())",
              "torchao.prototype.gptq.GPTQConfig", RAISES, "observing runs; converting asserts a CUDA device",
              lambda: _gptq(_int8_weight_only), error="AssertionError"),
    ConfigRow("GPTQConfig(..., base_config=Int4WeightOnlyConfig())", "torchao.prototype.gptq.GPTQConfig", RAISES,
              "refuses at once: its int4 path needs the mslk package", lambda: _gptq(_int4_weight_only),
              error="ValueError"),
    ConfigRow("torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)",
              "torch.ao.quantization.quantize_dynamic", WARNS,
              "the legacy int8 path (fbgemm): still runs; replaced by Int8DynamicActivationInt8WeightConfig",
              _legacy_dynamic),
    ConfigRow("Int8WeightOnlyConfig(version=1)", "torchao.quantization.Int8WeightOnlyConfig", RAISES,
              "version 1 (AffineQuantizedTensor) was removed: version 2 (Int8Tensor) is the default",
              lambda: _quantize_and_run(_old_version("Int8WeightOnlyConfig")), error="ValueError"),
    ConfigRow("Int8DynamicActivationInt8WeightConfig(version=1)",
              "torchao.quantization.Int8DynamicActivationInt8WeightConfig", RAISES,
              "version 1 was removed: version 2 (Int8Tensor) is the default",
              lambda: _quantize_and_run(_old_version("Int8DynamicActivationInt8WeightConfig")), error="ValueError"),
    ConfigRow("int4_weight_only(group_size=128)", "torchao.quantization.int4_weight_only", MISSING,
              "the function API was removed: Int4WeightOnlyConfig / PrototypeInt4WeightOnlyConfig"),
    ConfigRow("int8_weight_only()", "torchao.quantization.int8_weight_only", MISSING,
              "removed: Int8WeightOnlyConfig()"),
    ConfigRow("int8_dynamic_activation_int8_weight()", "torchao.quantization.int8_dynamic_activation_int8_weight",
              MISSING, "removed: Int8DynamicActivationInt8WeightConfig()"),
    ConfigRow("Int4WeightOnlyConfig(layout=Int4CPULayout())", "torchao.dtypes.Int4CPULayout", MISSING,
              "the AffineQuantizedTensor layouts were removed: PrototypeInt4WeightOnlyConfig (Int4OpaqueTensor)"),
    ConfigRow("Int4WeightOnlyOpaqueTensorConfig",
              "torchao.prototype.quantization.int4.Int4WeightOnlyOpaqueTensorConfig", MISSING,
              "renamed PrototypeInt4WeightOnlyConfig"),
    ConfigRow("torchao.quantization.Int8DynamicActivationInt4WeightConfig",
              "torchao.quantization.Int8DynamicActivationInt4WeightConfig", MISSING,
              "moved to torchao.prototype.quantization.int4"),
    ConfigRow("ModuleFqnToConfig", "torchao.quantization.ModuleFqnToConfig", ALIAS,
              "another name for FqnToConfig (per-module configs), kept for old code",
              same_as="torchao.quantization.FqnToConfig"),
]


@dataclass(frozen=True)
class Observation:
    """What a row does here: its status, the exception's type name and first line when it raised."""

    status: str
    error: str = ""
    message: str = ""


def observe(row: ConfigRow) -> Observation:
    """Probe the installed torch / torchao: does the row's path exist, and does its probe run, raise or warn?"""
    found = resolve(row.path)
    if found is None:
        return Observation(MISSING)
    if row.same_as:
        return Observation(ALIAS if resolve(row.same_as) is found else RUNS)
    if row.probe is None:
        return Observation(RUNS)
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")   # (torchao's prototypes print progress lines: kept out of the table)
        try:
            row.probe()
        except Exception as error:   # the probe is about which error a config raises here
            lines = str(error).strip().splitlines()
            return Observation(RAISES, type(error).__name__, lines[0][:160] if lines else "")
    deprecated = any(issubclass(w.category, DeprecationWarning | FutureWarning) and "deprecat" in str(w.message).lower()
                     for w in caught)
    return Observation(WARNS if deprecated else RUNS)


def dequantized_weight(weight: torch.Tensor, config: object) -> torch.Tensor:
    """The float32 weight that `quantize_(linear, config)` stores for a Linear with this weight (out, in).

    Uses the quantized tensor's own `dequantize()`; for a tensor without one, the weight-only Linear applied to the
    identity matrix (F.linear(I, W) = Wᵀ). Only for weight-only configs: a config that quantizes the activations
    would quantize the identity too.
    """
    from torchao.quantization import quantize_

    if weight.dim() != 2:
        raise ValueError(f"weight must be (out, in), got shape {tuple(weight.shape)}")
    linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    with torch.no_grad():
        linear.weight.copy_(weight.float())
    quantize_(linear, config)
    stored = linear.weight
    try:
        return stored.dequantize().float()
    except (NotImplementedError, AttributeError, RuntimeError):
        with torch.inference_mode():
            return nn.functional.linear(torch.eye(weight.shape[1]), stored).T.float().contiguous()
