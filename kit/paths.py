"""One place that decides where data, checkpoints and build outputs live."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV_VAR = "KIT_DATA_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path | None:
    """The course checkout the kit was installed from, or None for a plain (non-editable) install."""
    candidate = _PACKAGE_DIR.parent
    return candidate if (candidate / "pyproject.toml").is_file() else None


def data_dir() -> Path:
    """Where datasets and trained checkpoints live.

    ``$KIT_DATA_DIR`` when set, else ``<repo>/data`` for a checkout,
    else ``~/.cache/compression-kit/data``. The folder is not created here.
    """
    override = os.environ.get(DATA_ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    root = repo_root()
    if root is not None:
        return root / "data"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "compression-kit" / "data"


def build_dir() -> Path:
    """Where executed notebooks and the documentation site are written."""
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "build"


def notebooks_dir() -> Path:
    """The chapter notebooks of the checkout."""
    root = repo_root()
    if root is None:
        raise FileNotFoundError(
            "The chapter notebooks ship with the course checkout, not with the installed package: "
            "clone the course and run `make book` there."
        )
    return root / "notebooks"


def assets_dir() -> Path:
    """Small data files shipped inside the package."""
    return _PACKAGE_DIR / "assets"
