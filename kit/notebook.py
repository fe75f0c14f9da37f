"""The first call of every chapter: seeds, threads, offline mode, warning filters, plot style."""

from __future__ import annotations

import logging
import os
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from kit.paths import data_dir

# Hub libraries must never reach for the network from a chapter: everything a chapter reads is already on disk.
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}

# Known warnings the chapters explain once instead of repeating on every cell.
_KNOWN_WARNINGS = [
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized"),
    # Raised inside torch's own unpickler when a quantized state dict is loaded; nothing a learner can change.
    (UserWarning, r"TypedStorage is deprecated"),
    # The x86 qconfigs set reduce_range=True, which torch now asks to express as quant_min/quant_max;
    # chapter 5 explains reduce_range where it builds that qconfig.
    (UserWarning, r"Please use quant_min and quant_max to specify the range for observers"),
    # Raised inside torch when an exported graph is deep-copied; nothing a learner can change.
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
]
# Known log lines (logger name, message pattern) that say nothing about the chapter: torchao's GPU-only
# kernels cannot load on a CPU machine, and torchao registers enums the way torch now deprecates.
_KNOWN_LOG_LINES = [
    ("torchao", r"Failed to load .*\.so"),
    ("torch.utils._pytree", r"is an Enum subclass and is now natively supported"),
]
_DEPRECATION_NOTE = (
    "Note: torch.ao.quantization prints a deprecation warning on every call; it still works in "
    "this torch and the quantization chapters explain what replaces it, so it is silenced here."
)


@dataclass(frozen=True)
class NotebookSetup:
    """What setup_notebook() settled on, for the chapter to print or reuse."""

    seed: int
    threads: int
    quick: bool
    data_dir: Path

    def __str__(self) -> str:
        mode = "QUICK" if self.quick else "full"
        return (
            f"torch {torch.__version__} | {self.threads} thread(s) | seed {self.seed} | "
            f"{mode} mode | data dir {self.data_dir}"
        )


class _DropMatching(logging.Filter):
    """Drops log records whose message matches a pattern."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def quiet_known_log_lines() -> None:
    """Silence the known, harmless log lines of torchao's import (idempotent)."""
    for name, pattern in _KNOWN_LOG_LINES:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMatching) and f.pattern.pattern == pattern for f in logger.filters):
            logger.addFilter(_DropMatching(pattern))


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup_notebook(
    seed: int = 0,
    threads: int | None = 0,
    quick: bool = False,
    silence_quantization_deprecation: bool = True,
    verbose: bool = True,
) -> NotebookSetup:
    """Prepare a chapter: deterministic seeds, a fixed thread count, offline hubs, plot style.

    threads=0 or None keeps torch's default (one per core). Returns what was set.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 0):
        raise ValueError(f"threads must be a whole number >= 0 (0 = one per core), got {threads!r}")
    if threads:
        torch.set_num_threads(threads)
    seed_everything(seed)
    os.environ.update(OFFLINE_ENV)
    if silence_quantization_deprecation:
        for category, message in _KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        quiet_known_log_lines()
    _plot_style()
    setup = NotebookSetup(seed, torch.get_num_threads(), bool(quick), data_dir())
    if verbose:
        print(setup)
        if silence_quantization_deprecation:
            print(_DEPRECATION_NOTE)
    return setup


def _plot_style() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
        }
    )
