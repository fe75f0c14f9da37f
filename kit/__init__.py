"""Helpers for the compression course: the boilerplate the chapters should not repeat.

The chapters import what they need from the submodules (``kit.measure``, ``kit.plots``, ...);
the one call every chapter makes first is re-exported here.
"""

from kit.notebook import setup_notebook

__all__ = ["setup_notebook"]
__version__ = "0.1.0"
