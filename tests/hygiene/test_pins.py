"""Layer 6: pyproject.toml, environment.yml and the classroom image (binder/) pin the same things; the
compatibility table is true."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from kit import compat

ROOT = Path(__file__).resolve().parents[2]


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.update(extra)
    return requirements


def environment_requirements() -> set[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    pip_items = [re.match(r'\s+- "(.+)"$', line) for line in lines]
    return {m.group(1) for m in pip_items if m and m.group(1) != "-e ."}


def test_every_pin_has_an_upper_bound():
    for requirement in pyproject_requirements():
        assert "<" in requirement or "==" in requirement, f"{requirement} has no upper bound"


def test_environment_yml_matches_pyproject():
    assert environment_requirements() == pyproject_requirements()
    python_pin = re.search(r"- python=(\S+)", (ROOT / "environment.yml").read_text()).group(1)
    assert python_pin == compat.TESTED["python"]


def test_classroom_image_installs_the_runtime_pins_and_prepares_checkpoints():
    """binder/ (repo2docker): the kit's dependencies and `notebooks` extra, verbatim; torch from the CPU index;
    postBuild stops at the first failure and trains every checkpoint into the data dir `start` points at."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["notebooks"])
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    pins = {line for line in lines if line and not line.startswith(("#", "-"))}
    assert pins == wanted
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    python_pin = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert python_pin == f"python-{compat.TESTED['python']}"
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert post_build.startswith("#!/bin/bash") and "set -euo pipefail" in post_build
    assert "python -m kit prepare" in post_build and "source binder/kit-data-dir.sh" in post_build
    assert "kit-data-dir.sh" in (ROOT / "binder" / "start").read_text()
    for script in ("postBuild", "start"):
        assert (ROOT / "binder" / script).stat().st_mode & 0o111, f"binder/{script} is not executable"


def readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Compatibility", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) \| ([\d.]+) \|$", section, flags=re.MULTILINE)
    return dict(rows)


def test_readme_table_matches_compat_module():
    assert readme_table() == compat.TESTED


def test_installed_versions_are_the_tested_ones():
    off = [f"{c.component}: {c.installed} (tested {c.tested})" for c in compat.check_versions() if not c.ok]
    assert not off, "installed versions differ from the compatibility table: " + "; ".join(off)


def test_torch_is_the_cpu_build():
    import torch

    assert torch.version.cuda is None, "a CUDA build of torch was installed; the course pins the CPU wheel"


def no_deps_requirements() -> dict[str, str]:
    """Name -> pinned version of the packages installed with --no-deps."""
    lines = (ROOT / "scripts" / "requirements-no-deps.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    return {name.strip(): version.strip() for name, version in pins}


def test_pip_check_is_clean():
    """Only the packages deliberately installed without their dependencies may miss them."""
    run = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    problems = [
        line for line in run.stdout.splitlines()
        if line.strip() and line.split()[0] not in no_deps_requirements() and "No broken requirements" not in line
    ]
    assert not problems, run.stdout + run.stderr


def test_no_deps_packages_are_pinned_installed_and_documented():
    from importlib import metadata

    readme = (ROOT / "README.md").read_text()
    environment = (ROOT / "environment.yml").read_text()
    for name, version in no_deps_requirements().items():
        assert metadata.version(name) == version, f"{name} {metadata.version(name)} installed, {version} pinned"
        assert name in readme, f"the README does not mention {name}"
    assert "--no-deps -r scripts/requirements-no-deps.txt" in environment


def test_ruff_is_clean():
    run = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "kit", "tests", "data_scripts", "benchmarks"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_package_file_is_git_ignored():
    """A .gitignore pattern must never hide part of the kit from a fresh clone."""
    files = [str(p.relative_to(ROOT)) for p in (ROOT / "kit").rglob("*.py")]
    run = subprocess.run(["git", "check-ignore", *files], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.strip() == "", f"ignored by .gitignore: {run.stdout.split()}"
