"""Helpers for the compression course: the boilerplate the chapters should not repeat.

The chapters import what they need from the submodules (``kit.measure``, ``kit.plots``, ...);
the calls every chapter makes first are re-exported here.
"""

from kit.notebook import setup_notebook
from kit.parameters import check_parameters

__all__ = ["check_parameters", "setup_notebook"]
__version__ = "0.1.0"
