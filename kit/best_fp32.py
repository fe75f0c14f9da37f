"""The best FP32 form of a model: the reference a speed-up is measured against.

An int8 model gets BatchNorm folded into its convolutions, NHWC kernels and fused operators for free; an FP32
model timed as it was trained (eager, NCHW, BatchNorm as its own operator) does not, so "int8 is 6x faster"
can be half layout and folding. This module builds the FP32 forms the same care gives, and the chapter times
them side by side with the compressed model (``kit.measure.compare_latency``), then quotes the speed-up against
the fastest one measured and splits the gain into its parts:

- ``eager``: the model as trained;
- ``BatchNorm folded``: each Conv → BatchNorm pair folded into one convolution (``torch.fx`` fuse, eval mode;
  the outputs are checked to be unchanged);
- ``folded + channels_last``: the folded model and its input in NHWC memory format, where CPU convolution and
  pooling kernels are often faster (measured, not assumed: it can also be slower, e.g. at batch 1);
- ``folded + compiled`` (optional): ``torch.compile`` of the better of the two, its compile time recorded.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from kit.errors import KitError
from kit.measure import LatencyComparison

EAGER, FOLDED, CHANNELS_LAST, COMPILED = "eager", "BatchNorm folded", "folded + channels_last", "folded + compiled"


class ReferenceError(KitError, ValueError):
    """The FP32 forms cannot be built for this model; the message says why."""


@dataclass
class Form:
    """One FP32 form of the model: call it on an NCHW batch, it converts the layout itself when it needs to."""

    name: str
    model: nn.Module | Callable[[torch.Tensor], torch.Tensor]
    channels_last: bool = False
    compile_seconds: float | None = None

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return self.model(inputs)


@dataclass
class FP32Forms:
    """The FP32 forms of one model, in order of the care they get."""

    forms: dict[str, Form] = field(default_factory=dict)

    def candidates(self, inputs: torch.Tensor, prefix: str = "FP32 ") -> dict[str, Callable[[], object]]:
        """Zero-argument callables for compare_latency, one per form, on `inputs`."""
        return {f"{prefix}{name}": (lambda form=form: form(inputs)) for name, form in self.forms.items()}

    def fastest(self, comparison: LatencyComparison, prefix: str = "FP32 ") -> str:
        """The name (with `prefix`) of the form with the lowest median time in `comparison`."""
        names = [f"{prefix}{name}" for name in self.forms if f"{prefix}{name}" in comparison.timings]
        if not names:
            raise ReferenceError(f"none of the FP32 forms was timed in this comparison ({list(comparison.timings)})")
        return min(names, key=lambda name: comparison.timings[name].median)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval mode) with every Conv → BatchNorm pair folded into the convolution.

    Uses torch.fx's `fuse` (symbolic tracing): a model with data-dependent control flow cannot be folded this way
    and raises ReferenceError.
    """
    from torch.fx.experimental.optimization import fuse

    try:
        return fuse(copy.deepcopy(model).eval())
    except Exception as error:   # torch.fx raises many kinds while tracing
        raise ReferenceError(f"{type(model).__name__} cannot be traced by torch.fx to fold its BatchNorm "
                             f"({type(error).__name__}: {str(error)[:200]})") from None


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def fp32_forms(model: nn.Module, example: torch.Tensor, *, compile: bool = False, atol: float = 1e-4) -> FP32Forms:
    """The eager model, BatchNorm folded, folded + channels_last, and optionally compiled, each checked to give
    the eager outputs on `example` (within `atol`, relative to their scale) before it is timed."""
    model = model.eval()
    forms = FP32Forms({EAGER: Form(EAGER, model)})
    with torch.inference_mode():
        expected = model(example)
    folded = model
    if has_batchnorm(model):
        folded = fold_batchnorm(model)
        forms.forms[FOLDED] = Form(FOLDED, folded)
    layout = CHANNELS_LAST if has_batchnorm(model) else "channels_last"
    nhwc = copy.deepcopy(folded).to(memory_format=torch.channels_last)
    forms.forms[layout] = Form(layout, nhwc, channels_last=True)
    if compile:
        compiled = torch.compile(copy.deepcopy(nhwc))
        start = time.perf_counter()
        with torch.inference_mode():
            compiled(example.contiguous(memory_format=torch.channels_last))   # compiles for this shape
        name = COMPILED if has_batchnorm(model) else "compiled"
        forms.forms[name] = Form(name, compiled, channels_last=True,
                                     compile_seconds=time.perf_counter() - start)
    scale = expected.abs().max().item() or 1.0
    with torch.inference_mode():
        for name, form in forms.forms.items():
            error = (form(example) - expected).abs().max().item()
            if error > atol * scale:
                raise ReferenceError(f"the FP32 form {name!r} changes the outputs by {error:.2e} "
                                     f"(more than {atol:g} of their scale {scale:.3g})")
    return forms
