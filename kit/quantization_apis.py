"""Which quantization APIs are deprecated or removed in the pinned torch, and what replaces each.

`TABLE` is what chapter 5 prints and what the test suite checks: `observed_status` probes the installed
torch (imports the old API and, where it exists, calls it on a tiny model with warnings recorded), so a new
release that removes or un-deprecates something makes the test fail instead of leaving the table wrong.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

DEPRECATED, REMOVED, CURRENT = "deprecated (warns)", "removed", "no warning"


@dataclass(frozen=True)
class ApiRow:
    old: str            # dotted path of the API as the original tutorials used it
    expected: str       # DEPRECATED, REMOVED or CURRENT in the pinned torch
    replacement: str    # what to use instead, in words
    apis: tuple[str, ...]   # the dotted paths of the replacement's entry points, which must import here
    probe: Callable[[Callable], object] | None = None   # calls the old API on a tiny model


def _tiny() -> nn.Sequential:
    from torch.ao.quantization import DeQuantStub, QuantStub

    return nn.Sequential(QuantStub(), nn.Conv2d(1, 2, 3), nn.ReLU(), DeQuantStub())


def _with_qconfig(model: nn.Module, qat: bool = False) -> nn.Module:
    from torch.ao.quantization import get_default_qat_qconfig, get_default_qconfig

    model.qconfig = get_default_qat_qconfig("x86") if qat else get_default_qconfig("x86")
    return model


def _example() -> tuple[torch.Tensor]:
    return (torch.randn(2, 1, 8, 8),)


PT2E = "torchao.quantization.pt2e.quantize_pt2e"
X86_QUANTIZER = "torchao.quantization.pt2e.quantizer.x86_inductor_quantizer.X86InductorQuantizer"

TABLE: list[ApiRow] = [
    ApiRow("torch.ao.quantization.quantize_dynamic", DEPRECATED,
           "torchao.quantization.quantize_(model, Int8DynamicActivationInt8WeightConfig()) for Linear layers "
           "(no LSTM path in torchao yet)",
           ("torchao.quantization.quantize_", "torchao.quantization.Int8DynamicActivationInt8WeightConfig"),
           lambda f: f(nn.Sequential(nn.Linear(4, 4)), {nn.Linear}, dtype=torch.qint8)),
    ApiRow("torch.ao.quantization.fuse_modules", CURRENT,
           "nothing to call: PT2E quantizers (X86InductorQuantizer) fold BatchNorm and fuse ReLU themselves",
           (X86_QUANTIZER,),
           lambda f: f(_tiny().eval(), [["1", "2"]])),
    ApiRow("torch.ao.quantization.prepare", DEPRECATED,
           "torchao.quantization.pt2e.quantize_pt2e.prepare_pt2e on torch.export.export(model, args).module()",
           (f"{PT2E}.prepare_pt2e", "torch.export.export"),
           lambda f: f(_with_qconfig(_tiny().eval()))),
    ApiRow("torch.ao.quantization.convert", DEPRECATED, "torchao.quantization.pt2e.quantize_pt2e.convert_pt2e, then "
           "torchao.quantization.pt2e.lowering.lower_pt2e_quantized_to_x86 for speed",
           (f"{PT2E}.convert_pt2e", "torchao.quantization.pt2e.lowering.lower_pt2e_quantized_to_x86"),
           lambda f: f(_calibrated_tiny())),
    ApiRow("torch.ao.quantization.prepare_qat", DEPRECATED, "torchao.quantization.pt2e.quantize_pt2e.prepare_qat_pt2e",
           (f"{PT2E}.prepare_qat_pt2e",),
           lambda f: f(_with_qconfig(_tiny().train(), qat=True))),
    ApiRow("torch.ao.quantization.quantize_fx.prepare_fx", DEPRECATED, "prepare_pt2e with a quantizer; "
           "X86InductorQuantizer.set_module_name_qconfig replaces QConfigMapping.set_module_name",
           (f"{PT2E}.prepare_pt2e", f"{X86_QUANTIZER}.set_module_name_qconfig"),
           lambda f: f(nn.Sequential(nn.Conv2d(1, 2, 3)).eval(), _mapping(), _example())),
    ApiRow("torch.ao.quantization.quantize_pt2e.prepare_pt2e", REMOVED,
           "torchao.quantization.pt2e.quantize_pt2e.prepare_pt2e (PT2E moved from torch to torchao)",
           (f"{PT2E}.prepare_pt2e",)),
    ApiRow("torch.ao.quantization.quantizer.x86_inductor_quantizer.X86InductorQuantizer", REMOVED,
           "torchao.quantization.pt2e.quantizer.x86_inductor_quantizer.X86InductorQuantizer",
           (X86_QUANTIZER,)),
]


def _mapping():
    from torch.ao.quantization import QConfigMapping, get_default_qconfig

    return QConfigMapping().set_global(get_default_qconfig("x86"))


def _calibrated_tiny() -> nn.Module:
    from torch.ao.quantization import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare(_with_qconfig(_tiny().eval()))
    prepared(*_example())
    return prepared


def resolve(dotted: str) -> object | None:
    """The object at a dotted path, or None when the module or attribute does not exist."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            return None
        return obj
    return None


def observed_status(row: ApiRow) -> str:
    """DEPRECATED, REMOVED or CURRENT, as the installed torch behaves."""
    api = resolve(row.old)
    if api is None:
        return REMOVED
    if row.probe is None:
        return CURRENT
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        row.probe(api)
    deprecated = any(issubclass(w.category, DeprecationWarning) and "deprecated" in str(w.message) for w in caught)
    return DEPRECATED if deprecated else CURRENT


def replacement_available(row: ApiRow) -> bool:
    """Whether every entry point the replacement names (`row.apis`, dotted paths) imports in this environment."""
    return bool(row.apis) and all(resolve(api) is not None for api in row.apis)
