"""The figures a chapter measured, written where the benchmarks collect them (build/results/*.json)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from kit.files import atomic_write
from kit.measure import cpu_description
from kit.paths import build_dir


def results_dir() -> Path:
    return build_dir() / "results"


def record(chapter: str, *, quick: bool, **figures: Any) -> Path:
    """Write a chapter's measured figures (plain numbers and strings) with the machine they came from."""
    folder = results_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{chapter}{'-quick' if quick else ''}.json"
    payload = {
        "chapter": chapter,
        "quick": quick,
        "cpu": cpu_description(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "figures": figures,
    }
    return atomic_write(path, json.dumps(payload, indent=1, default=float) + "\n")
