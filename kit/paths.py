"""One place that decides where data, checkpoints and build outputs live."""

from __future__ import annotations

import os
from pathlib import Path

from kit.errors import KitError

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


class DataDirError(KitError, OSError):
    """The data dir cannot hold data: it is a file, or it cannot be written. The message names the fix."""


def data_dir_problem(folder: Path | None = None) -> str | None:
    """Why `folder` (default: the data dir) cannot hold data, or None when it can. Creates nothing."""
    folder = Path(folder) if folder is not None else data_dir()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():
            return f"{probe} is a broken symbolic link"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK) or not _can_create_in(probe):
        return f"{probe} is read-only"
    return None


def _can_create_in(folder: Path) -> bool:
    """Try to create (and remove) a file: the only test that also holds for root and read-only mounts."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".kit-write-test-"):
            return True
    except OSError:
        return False


def require_data_dir() -> Path:
    """The data dir, created if needed; raises DataDirError naming KIT_DATA_DIR when it cannot hold data.

    Called before any training, so no work is lost to a folder that cannot take the result.
    """
    folder = data_dir()
    problem = data_dir_problem(folder)
    if problem is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = f"it cannot be created ({error.strerror})"
    if problem is not None:
        raise DataDirError(
            f"the data dir {folder} cannot hold checkpoints: {problem}. Point ${DATA_ENV_VAR} at a writable "
            f"folder (export {DATA_ENV_VAR}=$HOME/kit-data) or fix that path, then run the command again."
        )
    return folder
