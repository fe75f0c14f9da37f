"""The roofline of this CPU: how fast it moves bytes and does arithmetic, and what that predicts for a Linear.

A kernel that does F floating-point operations on B bytes of memory takes at least max(F / peak FLOP/s,
B / bandwidth). Its arithmetic intensity I = F / B says which bound applies: below the ridge point
(peak FLOP/s ÷ bandwidth) it is memory-bound, above it compute-bound (Williams, Waterman and Patterson,
"Roofline", 2009). A Linear at batch b does 2·b·in·out operations on its weight (read once) and its activations:
at batch 1 its intensity is about 2 / (bytes per weight), far below any CPU's ridge, so generating one token at a
time is a matter of bytes, and the time a decode step needs is predicted by bandwidth ÷ the bytes it reads.

The measurements here (a streaming copy, a large matmul) are medians of repeats at a stated thread count; the
arithmetic (FLOPs, bytes, intensity, predicted time) is exact and what the unit tests check.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from kit.measure import torch_threads

MIB = 2**20


# ---- the arithmetic -----------------------------------------------------------------------------------------------

def linear_flops(batch: int, in_features: int, out_features: int) -> int:
    """Floating-point operations of y = x Wᵀ for x (batch, in): one multiply and one add per weight per row."""
    _check_positive(batch=batch, in_features=in_features, out_features=out_features)
    return 2 * batch * in_features * out_features


def linear_bytes(batch: int, in_features: int, out_features: int, *, weight_bytes_per_element: float = 4.0,
                 activation_bytes_per_element: float = 4.0) -> float:
    """Bytes a Linear must move at least: its weight once, its input and output activations once each.

    weight_bytes_per_element: 4 for FP32, 2 for bf16, 1 for int8 (plus its scales), 0.5 + 8/g for chapter 9's
    group-wise int4 (half a byte per code, a float32 scale and offset per group of g).
    """
    _check_positive(batch=batch, in_features=in_features, out_features=out_features)
    if weight_bytes_per_element <= 0 or activation_bytes_per_element <= 0:
        raise ValueError("bytes per element must be positive")
    weights = in_features * out_features * weight_bytes_per_element
    activations = batch * (in_features + out_features) * activation_bytes_per_element
    return weights + activations


def linear_intensity(batch: int, in_features: int, out_features: int, *, weight_bytes_per_element: float = 4.0,
                     activation_bytes_per_element: float = 4.0) -> float:
    """Arithmetic intensity (FLOP per byte moved) of a Linear at this batch size."""
    return linear_flops(batch, in_features, out_features) / linear_bytes(
        batch, in_features, out_features, weight_bytes_per_element=weight_bytes_per_element,
        activation_bytes_per_element=activation_bytes_per_element)


def predicted_seconds(flops: float, bytes_moved: float, *, flop_rate: float, bandwidth: float) -> float:
    """The roofline's lower bound on the time: max(FLOPs / FLOP rate, bytes / bandwidth)."""
    if flop_rate <= 0 or bandwidth <= 0:
        raise ValueError(f"flop_rate and bandwidth must be positive, got {flop_rate}, {bandwidth}")
    return max(flops / flop_rate, bytes_moved / bandwidth)


def predicted_tokens_per_second(bytes_per_token: float, bandwidth: float) -> float:
    """Tokens per second if each decode step only had to read `bytes_per_token` at `bandwidth` bytes/s.

    The bound for batch-1 generation, where every step reads every weight once and does about two operations per
    weight: far too few to keep the arithmetic units busy.
    """
    if bytes_per_token <= 0 or bandwidth <= 0:
        raise ValueError(f"bytes_per_token and bandwidth must be positive, got {bytes_per_token}, {bandwidth}")
    return bandwidth / bytes_per_token


def weight_bytes(model: nn.Module) -> int:
    """Bytes of the model's parameters and buffers, each tensor's storage counted once (tied weights once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for tensor in [*model.parameters(), *model.buffers()]:
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset())
        if key in seen:
            continue
        seen.add(key)
        total += tensor.numel() * tensor.element_size()
    return total


def kv_cache_bytes(layers: int, width: int, tokens: int, bytes_per_element: int = 4) -> int:
    """Bytes of a KV cache holding `tokens` positions: a key and a value vector of `width` per layer per token."""
    _check_positive(layers=layers, width=width, bytes_per_element=bytes_per_element)
    if tokens < 0:
        raise ValueError(f"tokens must be >= 0, got {tokens}")
    return 2 * layers * width * tokens * bytes_per_element


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")


# ---- the machine --------------------------------------------------------------------------------------------------

def last_level_cache_bytes() -> int | None:
    """Size of the largest CPU cache Linux reports (the L3 on most x86 machines), or None when unknown.

    On a virtual machine this is what the hypervisor shows; other tenants may share that cache.
    """
    sizes = []
    for size_file in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        text = size_file.read_text(encoding="ascii").strip()
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        try:
            sizes.append(int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text))
        except (ValueError, IndexError):
            continue
    return max(sizes) if sizes else None


@dataclass(frozen=True)
class Rate:
    """A measured rate (bytes/s or FLOP/s): the median over repeats, and every repeat's value."""

    samples: tuple[float, ...]
    threads: int
    what: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Inter-quartile range of the repeats over their median (the full range under 4 repeats)."""
        ordered = sorted(self.samples)
        if len(ordered) < 4:
            return (ordered[-1] - ordered[0]) / self.median
        q1, _, q3 = statistics.quantiles(ordered, n=4)
        return (q3 - q1) / self.median


def _rates(work: float, run: Callable[[], object], threads: int, repeats: int, warmup: int) -> tuple[float, ...]:
    with torch_threads(threads), torch.inference_mode():
        for _ in range(warmup):
            run()
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - start)
    return tuple(work / s for s in seconds)


def default_stream_bytes() -> int:
    """A buffer four times the last-level cache (at least 64 MiB), so a copy streams from memory, not cache."""
    cache = last_level_cache_bytes() or 32 * MIB
    return max(64 * MIB, 4 * cache)


def stream_bandwidth(buffer_bytes: int | None = None, *, threads: int = 1, repeats: int = 10,
                     warmup: int = 2) -> Rate:
    """Memory bandwidth from a streaming copy (bytes/s), counted as STREAM's "Copy" counts it: the buffer read
    once and written once, 2 × buffer_bytes per copy.

    The default buffer is four times the last-level cache, so both buffers stream from main memory; a buffer
    that fits in the cache measures the cache instead (pass a small `buffer_bytes` to see it).
    """
    buffer_bytes = default_stream_bytes() if buffer_bytes is None else buffer_bytes
    if buffer_bytes < 4096:
        raise ValueError(f"buffer_bytes must be at least 4096, got {buffer_bytes}")
    source = torch.ones(buffer_bytes // 4)
    target = torch.empty_like(source)
    return Rate(_rates(2 * source.numel() * 4, lambda: target.copy_(source), threads, repeats, warmup), threads,
                f"copy of {buffer_bytes / MIB:.0f} MiB")


def matmul_flop_rate(size: int = 1024, *, threads: int = 1, repeats: int = 5, warmup: int = 1,
                     dtype: torch.dtype = torch.float32) -> Rate:
    """FLOP/s of a square (size × size) @ (size × size) matmul: 2·size³ operations per product."""
    _check_positive(size=size)
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    return Rate(_rates(2 * size**3, lambda: a @ b, threads, repeats, warmup), threads,
                f"{size} x {size} matmul in {str(dtype).removeprefix('torch.')}")


@dataclass(frozen=True)
class Roofline:
    """Peak bandwidth (bytes/s) and peak arithmetic (FLOP/s) at one thread count, and what they bound."""

    bandwidth: float
    flop_rate: float
    threads: int

    @property
    def ridge(self) -> float:
        """The intensity (FLOP/byte) where the two bounds meet: below it a kernel is memory-bound."""
        return self.flop_rate / self.bandwidth

    def attainable(self, intensity: float) -> float:
        """The most FLOP/s a kernel of this arithmetic intensity can reach: min(peak, bandwidth × intensity)."""
        return min(self.flop_rate, self.bandwidth * intensity)

    def bound(self, intensity: float) -> str:
        """'memory-bound' or 'compute-bound' for a kernel of this intensity."""
        return "memory-bound" if intensity < self.ridge else "compute-bound"

    def seconds(self, flops: float, bytes_moved: float) -> float:
        """The roofline's lower bound on a kernel's time."""
        return predicted_seconds(flops, bytes_moved, flop_rate=self.flop_rate, bandwidth=self.bandwidth)


def measure_roofline(threads: int = 1, *, quick: bool = False) -> tuple[Roofline, Rate, Rate]:
    """Measure bandwidth (streaming copy) and FP32 matmul FLOP/s at `threads`: (roofline, bandwidth, flops).

    quick: fewer repeats and a smaller matmul (the same measurement, noisier).
    """
    bandwidth = stream_bandwidth(threads=threads, repeats=4 if quick else 10)
    flops = matmul_flop_rate(768 if quick else 1536, threads=threads, repeats=3 if quick else 5)
    return Roofline(bandwidth.median, flops.median, threads), bandwidth, flops
