"""Measuring models: size in bytes and latency, compared side by side in one process."""

from __future__ import annotations

import io
import os
import platform
import random
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn


def cpu_description() -> str:
    """The CPU model, logical core count and vector ISA, to print beside every timing.

    Int8 and bf16 speed-ups depend on the vector extensions (AVX-512 and its VNNI/BF16 parts, AMX): a timing
    without them cannot be compared with another machine's.
    """
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable, total = usable_cores(), os.cpu_count() or 1
    cores = f"{total} logical cores" if usable == total else f"{usable} of {total} logical cores usable here"
    return f"{name}, {cores}, {vector_isa()}"


# /proc/cpuinfo flag -> how it is named in a description, in order.
ISA_FLAGS = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512F", "avx512_vnni": "AVX-512 VNNI",
             "avx512_bf16": "AVX-512 BF16", "avx_vnni": "AVX-VNNI", "amx_tile": "AMX", "amx_int8": "AMX-INT8",
             "amx_bf16": "AMX-BF16", "asimd": "NEON", "sve": "SVE"}


def vector_isa() -> str:
    """The vector extensions that matter for these kernels ("AVX2, FMA, AVX-512F, AVX-512 VNNI, ...") and the
    level torch dispatches to (`torch.backends.cpu.get_cpu_capability()`)."""
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    found = [words for flag, words in ISA_FLAGS.items() if flag in flags]
    capability = torch.backends.cpu.get_cpu_capability()
    return f"ISA {', '.join(found) or 'unknown'}; torch dispatches {capability}"


def usable_cores() -> int:
    """Logical cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota if any.

    `os.cpu_count()` counts the machine's cores, not the ones a container or `taskset` leaves us.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text(encoding="ascii").split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def saved_bytes(obj: object) -> int:
    """Bytes torch.save writes for `obj` (a state dict, a tensor, ...), measured in memory."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getbuffer().nbytes


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of the model's state dict as torch.save writes it (measured in memory)."""
    return saved_bytes(model.state_dict())


def size_by_child(model: nn.Module) -> dict[str, int]:
    """Bytes torch.save writes for each direct child's state dict (quantized packed weights included)."""
    return {name: saved_bytes(child.state_dict()) for name, child in model.named_children()}


def bytes_of(modules: nn.Module | Iterable[nn.Module]) -> int:
    """Bytes torch.save writes for the state dicts of one module or several (summed), e.g. a model's parts."""
    if isinstance(modules, nn.Module):
        modules = [modules]
    return sum(saved_bytes(module.state_dict()) for module in modules)


def format_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with torch limited to n intra-op threads, then restore the previous count."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# A timing verdict needs the middle half of the round-by-round ratios beyond 1 ± this margin.
VERDICT_MARGIN = 0.03


@dataclass(frozen=True)
class Timing:
    """Wall-clock samples of one function, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Inter-quartile range divided by the median (0 = perfectly steady); the full range under 4 samples."""
        if self.median <= 0:
            return 0.0
        if len(self.samples) < 4:
            return (max(self.samples) - min(self.samples)) / self.median
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / self.median


@dataclass(frozen=True)
class LatencyComparison:
    """Medians of several candidates timed in turn, and their ratios to the baseline."""

    timings: dict[str, Timing]
    baseline: str
    threads: int

    def round_ratios(self, name: str) -> list[float]:
        """Time of `name` / time of the baseline, round by round.

        Rounds are interleaved, so each ratio compares runs made moments apart: slow drifts of the machine
        cancel out of it.
        """
        pairs = zip(self.timings[name].samples, self.timings[self.baseline].samples, strict=True)
        return [a / b for a, b in pairs]

    def ratio(self, name: str) -> float:
        """Median of the round-by-round ratios `name` / baseline (below 1 means faster)."""
        return statistics.median(self.round_ratios(name))

    def ratio_range(self, name: str) -> tuple[float, float]:
        """Quartiles of the round-by-round ratios (the middle half of the rounds); they bracket ratio()."""
        ratios = sorted(self.round_ratios(name))
        if len(ratios) < 4:
            return ratios[0], ratios[-1]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        return q1, q3

    def relative(self, name: str, to: str) -> float:
        """Median of the round-by-round ratios time(name) / time(to): one candidate against another, not the
        baseline (e.g. int8 against the best FP32 form)."""
        pairs = zip(self.timings[name].samples, self.timings[to].samples, strict=True)
        return statistics.median(a / b for a, b in pairs)

    def relative_range(self, name: str, to: str) -> tuple[float, float]:
        """Quartiles (the middle half of the rounds) of time(name) / time(to)."""
        ratios = sorted(a / b for a, b in zip(self.timings[name].samples, self.timings[to].samples, strict=True))
        if len(ratios) < 4:
            return ratios[0], ratios[-1]
        q1, _, q3 = statistics.quantiles(ratios, n=4)
        return q1, q3

    def verdict(self, name: str, to: str | None = None, margin: float = VERDICT_MARGIN) -> str:
        """'faster' / 'slower' when the middle half of the round-by-round ratios clears 1 by `margin` on one side,
        else 'no clear difference': the one rule every chapter words its timing verdicts with."""
        low, high = self.relative_range(name, to or self.baseline)
        if high < 1 - margin:
            return "faster"
        if low > 1 + margin:
            return "slower"
        return "no clear difference"

    def speedup_range(self, name: str) -> tuple[float, float]:
        """ratio_range turned into speed-ups (baseline time / time), low to high."""
        low, high = self.ratio_range(name)
        return 1 / high, 1 / low

    def __str__(self) -> str:
        width = max(len(name) for name in self.timings)
        lines = [f"{'':{width}}  median      spread   vs {self.baseline}  middle half of rounds   "
                 f"({self.threads} thread(s))"]
        for name, timing in self.timings.items():
            low, high = self.ratio_range(name)
            lines.append(f"{name:{width}}  {_format_seconds(timing.median):>9}  ±{timing.spread / 2:4.0%}   "
                         f"{self.ratio(name):5.2f}x    {low:.2f}x-{high:.2f}x")
        lines.append(f"(vs {self.baseline}: the median of the round-by-round time ratios, rounds interleaved; "
                     "not the ratio of the medians)")
        return "\n".join(lines)


def _format_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def compare_latency(
    candidates: dict[str, Callable[[], object]],
    *,
    threads: int = 1,
    warmup: int = 3,
    repeats: int = 15,
    baseline: str | None = None,
    inference: bool = True,
) -> LatencyComparison:
    """Time each zero-argument callable, interleaved round by round, under a fixed thread count.

    Interleaving means slow drifts of the machine (other load, frequency changes) hit every
    candidate alike, so the ratios are fair even when the absolute times wander; the order is shuffled
    each round so that no candidate always follows the same neighbour.
    inference=True runs them under torch.inference_mode() (no autograd bookkeeping).
    """
    if not candidates:
        raise ValueError("compare_latency needs at least one candidate")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    baseline = baseline if baseline is not None else next(iter(candidates))
    if baseline not in candidates:
        raise ValueError(f"baseline {baseline!r} is not one of {list(candidates)}")
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    with torch_threads(threads), torch.inference_mode(inference):
        for _ in range(warmup):
            for fn in candidates.values():
                fn()
        names = list(candidates)
        shuffler = random.Random(0)
        for _ in range(repeats):
            # A new (seeded) order each round: no candidate always runs first, and none always runs right after
            # the same other one — a big FP32 model leaves caches and clock speeds that slow whatever follows it.
            for name in shuffler.sample(names, len(names)):
                start = time.perf_counter()
                candidates[name]()
                samples[name].append(time.perf_counter() - start)
    timings = {name: Timing(tuple(values)) for name, values in samples.items()}
    return LatencyComparison(timings, baseline, threads)



def _is_packed_params(module: nn.Module) -> bool:
    """A quantized module's holder of packed weights (LinearPackedParams, EmbeddingPackedParams): a child that is
    never called, so its parent is the module that runs."""
    return type(module).__name__.endswith("PackedParams")


def _timed_as_leaf(module: nn.Module) -> bool:
    """True for modules that do work themselves: no children, or only packed-weight holders (a quantized Linear
    owns one; timing only true leaves would put its time "between modules")."""
    return all(_is_packed_params(child) for child in module.children())


def time_by_module(model: nn.Module, inputs: torch.Tensor, *, runs: int = 10, warmup: int = 3,
                   threads: int = 1) -> dict[str, float]:
    """Seconds per call spent in each leaf module of `model` (forward hooks around it), at a fixed thread count.

    A quantized Linear or Embedding counts as a leaf: its only child holds its packed weights and is never called.

    The entry "" is the whole call; what it has beyond the leaves' sum is spent between modules.
    """
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    leaves = {name: m for name, m in model.named_modules()
              if name and _timed_as_leaf(m) and not _is_packed_params(m)}
    totals = dict.fromkeys(["", *leaves], 0.0)
    started: dict[str, float] = {}
    handles = []
    for name, module in leaves.items():
        handles.append(module.register_forward_pre_hook(
            lambda m, a, name=name: started.__setitem__(name, time.perf_counter())))
        handles.append(module.register_forward_hook(
            lambda m, a, o, name=name: totals.__setitem__(name, totals[name] + time.perf_counter() - started[name])))
    try:
        with torch_threads(threads), torch.inference_mode():
            for _ in range(warmup):
                model(inputs)
            totals.update(dict.fromkeys(totals, 0.0))
            for _ in range(runs):
                start = time.perf_counter()
                model(inputs)
                totals[""] += time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
    return {name: seconds / runs for name, seconds in totals.items()}
