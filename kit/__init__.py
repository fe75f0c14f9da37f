"""Helpers for the compression course: the boilerplate the chapters should not repeat.

The chapters import what they need from the submodules (``kit.measure``, ``kit.plots``, ...);
the calls every chapter makes first are re-exported here. They resolve on first use (PEP 562), so
``import kit`` stays light: torch is imported only when a name that needs it is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kit.notebook import setup_notebook
    from kit.parameters import check_parameters

_LAZY = {"check_parameters": "kit.parameters", "setup_notebook": "kit.notebook"}  # name -> module defining it

__all__ = ["check_parameters", "setup_notebook"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'kit' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
