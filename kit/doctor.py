"""`python -m kit doctor`: what is installed, how torch is set up, and what data is present."""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from importlib import util

from kit import compat, paths
from kit.measure import cpu_description

OK, WARN, MISSING = "ok", "warn", "MISSING"

# Imported by the chapters or the kit itself: without them nothing runs.
REQUIRED_MODULES = ["torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "safetensors", "transformers", "sklearn"]
# Needed to execute the book and run the tests.
TOOL_MODULES = ["papermill", "jupyterlab", "ipykernel", "nbval", "myst_nb", "sphinx", "pytest"]


@dataclass(frozen=True)
class Finding:
    status: str
    topic: str
    detail: str
    fix: str = ""


def findings() -> list[Finding]:
    """Every check the doctor makes, in the order it prints them."""
    out = [Finding(OK, "machine", f"{cpu_description()}, {platform.system()}")]
    for check in compat.check_versions():
        if check.installed is None:
            out.append(Finding(MISSING, check.component, f"not installed (tested: {check.tested})", "make setup"))
        elif check.ok:
            out.append(Finding(OK, check.component, f"{check.installed} (tested: {check.tested})"))
        else:
            out.append(
                Finding(
                    WARN,
                    check.component,
                    f"{check.installed}, but the course is tested with {check.tested}: {compat.WHY[check.component]}",
                    "make setup (installs the tested pins)",
                )
            )
    for name in REQUIRED_MODULES:
        if util.find_spec(name) is None:
            out.append(Finding(MISSING, name, "not importable", "make setup"))
    missing_tools = [name for name in TOOL_MODULES if util.find_spec(name) is None]
    if missing_tools:
        out.append(
            Finding(
                WARN,
                "book/test tools",
                "missing: " + ", ".join(missing_tools),
                'pip install -e ".[notebooks,docs,test]"',
            )
        )
    else:
        out.append(Finding(OK, "book/test tools", "papermill, JupyterLab, nbval, myst-nb, Sphinx, pytest"))
    if util.find_spec("torch") is not None:
        out.extend(_torch_findings())
    out.extend(_data_findings())
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        out.append(Finding(OK, "chromium", browser))
    else:
        out.append(
            Finding(WARN, "chromium", "not found: the browser checks will be skipped", "sudo apt-get install chromium")
        )
    return out


def _torch_findings() -> list[Finding]:
    import torch

    engines = torch.backends.quantized.supported_engines
    usable = [e for e in engines if e != "none"]
    threads = f"{torch.get_num_threads()} intra-op / {torch.get_num_interop_threads()} inter-op threads"
    quant = f"engine {torch.backends.quantized.engine} (available: {', '.join(usable) or 'none'})"
    return [
        Finding(OK, "torch threads", threads),
        Finding(
            OK if usable else MISSING,
            "quantization",
            quant,
            "" if usable else "a torch build with fbgemm/x86 or qnnpack",
        ),
    ]


def _data_findings() -> list[Finding]:
    out = []
    data = paths.data_dir()
    probe = data
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if os.access(probe, os.W_OK):
        state = "exists" if data.exists() else "will be created on first use"
        out.append(Finding(OK, "data dir", f"{data} ({state}; set ${paths.DATA_ENV_VAR} to move it)"))
    else:
        out.append(
            Finding(MISSING, "data dir", f"{data} is not writable", f"export {paths.DATA_ENV_VAR}=/a/writable/folder")
        )
    root = paths.repo_root()
    if root is None:
        out.append(
            Finding(WARN, "chapters", "installed without the course checkout: no notebooks here", "clone the course")
        )
    else:
        from kit.book import CHAPTER_PATTERN, executed_dir

        count = len(list((root / "notebooks").glob(CHAPTER_PATTERN)))
        executed = len(list(executed_dir().glob(CHAPTER_PATTERN)))
        out.append(
            Finding(
                OK,
                "chapters",
                f"{count} in notebooks/, {executed} executed in {executed_dir()}",
                "" if executed else "make book",
            )
        )
    return out


def report(brief: bool = False) -> int:
    """Print the findings; return 1 when something required is missing, else 0."""
    results = findings()
    for finding in results:
        if brief and finding.status == OK:
            continue
        line = f"[{finding.status:>7}] {finding.topic:<16} {finding.detail}"
        if finding.fix and finding.status != OK:
            line += f"\n{'':27}fix: {finding.fix}"
        print(line)
    missing = [f for f in results if f.status == MISSING]
    warnings = [f for f in results if f.status == WARN]
    print(
        f"doctor: {len(results) - len(missing) - len(warnings)} ok, {len(warnings)} warning(s), {len(missing)} missing"
    )
    return 1 if missing else 0
