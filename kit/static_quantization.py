"""Static (calibrated) int8 quantization of chapter 5's CNN: the checked steps the chapter repeats in its sweeps.

The chapter writes every step in its own cells once (QuantStub, fuse_modules, qconfig, prepare, calibration,
convert); these helpers do the same steps for the sweeps that follow, and refuse bad input up front with an
error that names the fix: an engine this torch lacks, calibration without batches, converting a model that
was never prepared or calibrated, a saved int8 file of another model.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, fuse_modules_qat, prepare, prepare_qat
from torch.ao.quantization.observer import ObserverBase

from kit.errors import CheckpointCorrupted, CheckpointMismatch
from kit.files import atomic_path
from kit.models.cnn import SmallCNN, fusable_triples

FORMAT = "kit-int8-cnn/1"


def select_engine(engine: str) -> str:
    """Make `engine` torch's quantized engine, after checking that this build of torch has it."""
    supported = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    if engine not in supported:
        raise ValueError(f"quantized engine {engine!r} is not available in this torch build; "
                         f"choose one of {supported} (x86 for Intel/AMD CPUs, qnnpack for ARM)")
    torch.backends.quantized.engine = engine
    return engine


def calibration_batches(images: torch.Tensor, count: int, batch_size: int = 64, seed: int = 0) -> list[torch.Tensor]:
    """`count` batches of `batch_size` images drawn without replacement (seeded) from `images`."""
    if count < 1 or batch_size < 1:
        raise ValueError(f"calibration needs at least one batch of at least one image, got count={count}, "
                         f"batch_size={batch_size}")
    if count * batch_size > len(images):
        raise ValueError(f"{count} batches of {batch_size} need {count * batch_size} images but only "
                         f"{len(images)} were given: lower the count or the batch size")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return [images[order[i * batch_size:(i + 1) * batch_size]] for i in range(count)]


def observers_of(model: nn.Module) -> list[ObserverBase]:
    """Every observer that `prepare` (or `prepare_qat`'s fake-quantizers) inserted in `model`."""
    return [m for m in model.modules() if isinstance(m, ObserverBase)]


def _uncalibrated(observer: ObserverBase) -> bool:
    low = getattr(observer, "min_val", None)
    if low is None:   # HistogramObserver keeps min_val too; other observers without it are trusted
        return False
    return low.numel() == 0 or bool(torch.isinf(low).any())


def calibrate(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Run the batches through a prepared model so its observers record activation ranges; returns the count."""
    if not observers_of(model):
        raise ValueError("this model has no observers to calibrate: call torch.ao.quantization.prepare(model) "
                         "(after setting model.qconfig) first")
    batches = list(batches)
    if not batches:
        raise ValueError("calibration needs at least one batch of representative inputs (e.g. "
                         "kit.static_quantization.calibration_batches(train_images, 10)); with none, the "
                         "observers have no range to turn into scales")
    model.eval()
    with torch.inference_mode():
        for batch in batches:
            model(batch)
    return len(batches)


def convert_calibrated(model: nn.Module) -> nn.Module:
    """`torch.ao.quantization.convert` on a copy, refusing a model that was never prepared or calibrated."""
    observers = observers_of(model)
    if not observers:
        raise ValueError("convert needs a prepared model: set model.qconfig, call "
                         "torch.ao.quantization.prepare(model), calibrate it, then convert")
    if any(_uncalibrated(o) for o in observers):
        raise ValueError("the model was prepared but never calibrated (its observers saw no data): run "
                         "representative batches through it (kit.static_quantization.calibrate) before convert")
    return convert(copy.deepcopy(model).eval())


def quantizable(cnn: SmallCNN) -> nn.Sequential:
    """A copy of the float CNN between a QuantStub and a DeQuantStub, its conv-bn-relu triples fused (eval)."""
    if not isinstance(cnn, SmallCNN):
        raise TypeError(f"expected a kit.models.cnn.SmallCNN, got {type(cnn).__name__}")
    wrapped = nn.Sequential(QuantStub(), copy.deepcopy(cnn), DeQuantStub()).eval()
    return fuse_modules(wrapped, fusable_triples(cnn, prefix="1."))


def qat_ready(model: SmallCNN, engine: str) -> nn.Module:
    """The QAT counterpart of `quantizable`: a training-mode copy between stubs, conv-bn-relu fused for QAT
    (BatchNorm kept separate), `engine`'s default QAT qconfig, fake quantization inserted by `prepare_qat`."""
    wrapped = nn.Sequential(QuantStub(), copy.deepcopy(model), DeQuantStub()).train()
    fused = fuse_modules_qat(wrapped, fusable_triples(model, prefix="1."))
    fused.qconfig = torch.ao.quantization.get_default_qat_qconfig(engine)
    return prepare_qat(fused)


def quantize_static(cnn: SmallCNN, qconfig: torch.ao.quantization.QConfig,
                    batches: Sequence[torch.Tensor]) -> nn.Module:
    """Eager static int8: wrap and fuse a copy, set `qconfig`, prepare, calibrate on `batches`, convert."""
    model = quantizable(cnn)
    model.qconfig = qconfig
    prepared = prepare(model)
    calibrate(prepared, batches)
    return convert_calibrated(prepared)


def sqnr_db(reference: torch.Tensor, approximation: torch.Tensor) -> float:
    """Signal-to-quantization-noise ratio in dB: 10·log10(‖reference‖² / ‖reference − approximation‖²)."""
    noise = (reference.float() - approximation.float()).pow(2).sum().item()
    signal = reference.float().pow(2).sum().item()
    return math.inf if noise == 0 else 10 * math.log10(signal / noise)


@torch.inference_mode()
def logits_in_fixed_batches(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits of a model that only accepts one batch size (e.g. a lowered PT2E graph): the last batch is padded."""
    pad = (-len(images)) % batch_size
    padded = torch.cat([images, images.new_zeros((pad, *images.shape[1:]))]) if pad else images
    return torch.cat([model(padded[i:i + batch_size]) for i in range(0, len(padded), batch_size)])[:len(images)]


def int8_skeleton(widths: Sequence[int], classes: int, qconfig: torch.ao.quantization.QConfig,
                  in_channels: int = 1) -> nn.Module:
    """A converted int8 CNN of the given shape, with placeholder scales: the target of `load_int8`."""
    cnn = SmallCNN(classes, widths=tuple(widths), in_channels=in_channels).eval()
    model = quantizable(cnn)
    model.qconfig = qconfig
    prepared = prepare(model)
    calibrate(prepared, [torch.zeros(1, in_channels, 32, 32)])   # any range will do: loading replaces it
    return convert_calibrated(prepared)


def save_int8(model: nn.Module, path: str | os.PathLike, *, widths: Sequence[int], classes: int,
              engine: str) -> Path:
    """Write a converted int8 CNN's state dict with what is needed to rebuild its skeleton (atomic write)."""
    path = Path(path)
    payload = {"format": FORMAT, "widths": [int(w) for w in widths], "classes": int(classes), "engine": engine,
               "state_dict": model.state_dict()}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_int8(path: str | os.PathLike, skeleton: nn.Module) -> nn.Module:
    """Load a file written by `save_int8` into `skeleton` (weights_only=True), after checking it fits."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no saved int8 model at {path}: write one with kit.static_quantization.save_int8")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
            payload = torch.load(path, weights_only=True)
    except Exception as error:
        raise CheckpointCorrupted(f"{path} could not be read as a saved int8 model ({type(error).__name__}); "
                                  "save it again with kit.static_quantization.save_int8") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointMismatch(f"{path} was not written by kit.static_quantization.save_int8 (it is not a "
                                 "saved int8 CNN); save the converted model with save_int8 first")
    expected = skeleton.state_dict()
    saved = payload["state_dict"]
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = sorted(k for k in set(saved) & set(expected)
                    if isinstance(saved[k], torch.Tensor) and isinstance(expected[k], torch.Tensor)
                    and saved[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        details = "; ".join(part for part in (
            f"missing {missing[:3]}" if missing else "", f"unexpected {unexpected[:3]}" if unexpected else "",
            f"other shapes at {shapes[:3]}" if shapes else "") if part)
        raise CheckpointMismatch(
            f"{path} holds an int8 CNN with widths {payload['widths']} and {payload['classes']} classes, which "
            f"does not fit this skeleton ({details}): build the skeleton with "
            f"int8_skeleton(widths={payload['widths']}, classes={payload['classes']}, ...)")
    skeleton.load_state_dict(saved)
    return skeleton.eval()
