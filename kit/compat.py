"""The versions this course is tested with (mirrored in the README's compatibility table)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import metadata

# Component -> the release series the test suite was run with. The README table repeats
# these rows and a hygiene test checks that both agree with what is installed.
TESTED: dict[str, str] = {
    "python": "3.11",
    "torch": "2.13",
    "torchao": "0.18",
    "transformers": "5.23",
    "jupyterlab": "4.6",
    "ipywidgets": "8.1",
}

# Why each fragile pin matters, shown by `python -m kit doctor` when a version is off.
WHY: dict[str, str] = {
    "torch": "torch.ao.quantization is deprecated and its behaviour shifts between releases",
    "torchao": "torchao's quantize_ API is still changing between minor releases",
    "transformers": "5.x removed the GLUE helpers and TorchScript support",
    "jupyterlab": "the browser tests drive JupyterLab's DOM",
    "ipywidgets": "the explorers and browser tests rely on ipywidgets 8 widgets",
    "python": "the wheels and pins are chosen for this interpreter",
}


@dataclass(frozen=True)
class VersionCheck:
    component: str
    tested: str
    installed: str | None

    @property
    def ok(self) -> bool:
        if self.installed is None:
            return False
        return release_series(self.installed) == self.tested


def release_series(version: str) -> str:
    """'2.13.0+cpu' -> '2.13'."""
    parts = version.split("+")[0].split(".")
    return ".".join(parts[:2])


def installed_version(component: str) -> str | None:
    """The installed version of a component, or None when it is missing."""
    if component == "python":
        return ".".join(map(str, sys.version_info[:3]))
    try:
        return metadata.version(component)
    except metadata.PackageNotFoundError:
        return None


def check_versions() -> list[VersionCheck]:
    """Compare every tested component with what is installed."""
    return [VersionCheck(name, tested, installed_version(name)) for name, tested in TESTED.items()]
