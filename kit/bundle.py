"""`python -m kit bundle` (`make bundle`): an offline workshop folder, the course plus everything it installs.

The folder holds the course as committed (``course/``), a wheelhouse of every package a fresh ``make setup``
installs, pinned to the versions of the environment that runs this command (torch's CPU wheel included),
the prepared data dir (``course/data``: every checkpoint, full and quick), and a README. Copied to a
machine with Python of the same version and platform, ``cd course && make setup`` installs from the
wheelhouse alone (scripts/setup.sh finds it) and ``make book`` / ``make lab`` need no network.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kit.errors import KitError
from kit.files import atomic_write, write_sha256sums
from kit.paths import build_dir, data_dir, repo_root

WHEELHOUSE = "wheelhouse"
LOCK_FILE = "requirements.lock"  # name==version --hash=sha256:... for every wheel
SUMS_FILE = "SHA256SUMS"  # `sha256sum -c` format; scripts/setup.sh checks it before installing
BUILT_FOR_FILE = "BUILT-FOR"  # python=3.11, system=Linux, machine=x86_64: scripts/setup.sh compares
EXTRAS = "notebooks,docs,test"
NO_DEPS_FILE = Path("scripts") / "requirements-no-deps.txt"
HEADROOM_BYTES = 2 * 2**30  # the wheelhouse (about 1 GiB) and room to spare, besides the checkpoints' copy


class BundleError(KitError, RuntimeError):
    """The bundle cannot be made; the message names the fix."""


@dataclass
class Bundle:
    folder: Path
    commit: str
    wheels: int
    sizes: dict[str, int] = field(default_factory=dict)  # part -> bytes
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall seconds


def default_destination() -> Path:
    return build_dir() / "bundle" / "compression-kit-workshop"


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file() and not p.is_symlink())


def built_for() -> dict[str, str]:
    """The interpreter and platform the wheelhouse is for (binary wheels are per Python version)."""
    return {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "system": platform.system(),
            "machine": platform.machine()}


def check_destination(dest: Path, needed: int) -> None:
    """Raise BundleError, before any work, when `dest` cannot receive a bundle of about `needed` bytes."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BundleError(f"{dest} already exists and is not empty: remove it or choose another folder "
                          "(make bundle BUNDLE=...)")
    probe = dest.parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BundleError(f"{probe} is read-only: choose a folder you can write (make bundle BUNDLE=...)")
    free = shutil.disk_usage(probe).free
    if free < needed:
        raise BundleError(f"{probe} has {free / 2**30:.1f} GiB free and the bundle needs about "
                          f"{needed / 2**30:.1f} GiB: free some space or choose another disk (make bundle BUNDLE=...)")


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise BundleError(f"make bundle packs the committed course from a git checkout; git {' '.join(args)} "
                          f"failed in {root}: {getattr(error, 'stderr', '') or error}") from None


def export_course(root: Path, commit: str, target: Path) -> None:
    """The committed tree at `commit` (git archive), without the working tree's changes or ignored files."""
    with tempfile.TemporaryFile() as archive:
        subprocess.run(["git", "-C", str(root), "archive", "--format=tar", commit], check=True, stdout=archive)
        archive.seek(0)
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(target, filter="data")


def resolve_pins(root: Path) -> list[dict[str, str]]:
    """What a fresh `make setup` installs, pinned to this environment's versions: [{name, version, url, sha256}].

    pip's resolver works it out (--dry-run --ignore-installed --report) from the kit's extras and the
    no-deps packages, constrained to `pip list --format=freeze` of the running interpreter.
    """
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    frozen = subprocess.run([*pip, "list", "--format=freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    no_deps = [line.strip() for line in (root / NO_DEPS_FILE).read_text().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
    pins: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        constraints = Path(scratch) / "constraints.txt"
        constraints.write_text(frozen)
        for requirements, extra_args in (([f"{root}[{EXTRAS}]", "setuptools>=77", "pip", "wheel"], []),
                                         (no_deps, ["--no-deps"])):
            report = Path(scratch) / "report.json"
            run = subprocess.run([*pip, "install", "--dry-run", "--ignore-installed", "--quiet", "--report",
                                  str(report), "-c", str(constraints), *extra_args, *requirements],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                raise BundleError(f"pip could not resolve the course's packages: {run.stderr.strip()[-2000:]}")
            for item in json.loads(report.read_text())["install"]:
                info, meta = item["download_info"], item["metadata"]
                if "dir_info" in info:  # the course itself: installed editable from course/
                    continue
                digest = info.get("archive_info", {}).get("hashes", {}).get("sha256")
                if not info["url"].endswith(".whl") or not digest:
                    raise BundleError(f"{meta['name']} {meta['version']} resolves to {info['url']}, not a wheel "
                                      "with a known hash: the wheelhouse holds wheels only")
                pins[meta["name"].lower()] = {"name": meta["name"], "version": meta["version"],
                                              "url": info["url"], "sha256": digest}
    return sorted(pins.values(), key=lambda pin: pin["name"].lower())


def download_wheels(pins: list[dict[str, str]], wheelhouse: Path) -> None:
    """Fetch exactly these wheels, each checked against its hash (pip download --require-hashes)."""
    lock = wheelhouse / LOCK_FILE
    lock.write_text("".join(f"{p['name']}=={p['version']} --hash=sha256:{p['sha256']}\n" for p in pins))
    run = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--quiet",
                          "--no-deps", "--only-binary=:all:", "--require-hashes", "-d", str(wheelhouse), "-r",
                          str(lock)], capture_output=True, text=True)
    if run.returncode != 0:
        raise BundleError(f"pip could not download the wheels (the registries must be reachable while the bundle "
                          f"is made; run make bundle again to resume): {run.stderr.strip()[-2000:]}")


def write_checksums(wheelhouse: Path) -> int:
    """SHA256SUMS over every wheel (what setup checks before it installs); returns the number of wheels."""
    wheels = write_sha256sums(wheelhouse / SUMS_FILE, sorted(wheelhouse.glob("*.whl")))
    atomic_write(wheelhouse / BUILT_FOR_FILE, "".join(f"{k}={v}\n" for k, v in built_for().items()))
    return len(wheels)


def prepared_checkpoints() -> list[Path]:
    """The folders of every recipe's checkpoint, full and quick, each verified ready (raises BundleError)."""
    from kit.checkpoints import folder_for, status
    from kit.recipes import RECIPES

    folders, problems = [], []
    for name, recipe in RECIPES.items():
        if recipe.ready_made():
            continue
        for quick in (False, True):
            state, detail = status(name, quick=quick)
            if state == "ready":
                folders.append(folder_for(name, quick=quick))
            else:
                problems.append(f"{name} ({'quick' if quick else 'full'}): {detail}")
    if problems:
        raise BundleError("the bundle carries every checkpoint, and these are not ready: " + "; ".join(problems)
                          + ". Run `make prepare` and `python -m kit prepare --quick` (or make bundle, which does)")
    return folders


def prepare_all() -> None:
    """Train what is missing, full then quick (each checkpoint resumes where it stopped)."""
    from kit.prepare import Need, prepare_needs
    from kit.recipes import RECIPES

    for quick in (False, True):
        failures = prepare_needs([Need(name) for name in RECIPES], quick=quick)
        if failures:
            raise BundleError("these checkpoints could not be prepared: "
                              + "; ".join(f"{need}: {why}" for need, why in failures.items()))


def copy_checkpoints(folders: list[Path], target: Path) -> None:
    for folder in folders:
        shutil.copytree(folder, target / folder.name)


README = """# Compression course: offline workshop bundle

Everything a learner's machine needs to run the course with no network: the course at commit `{commit}`
(`course/`), a wheelhouse of the {wheels} Python packages it installs (`course/{wheelhouse}/`, torch's CPU
wheel included), and every trained checkpoint, full and quick (`course/data/`). Made on {date} with
`make bundle` (`python -m kit bundle`).

| part | size |
| --- | --- |
{size_rows}

## Needs

- {system} on {machine}, with **Python {python}** and its `venv` module (Debian and Ubuntu: the
  `python{python}-venv` package). The wheels are built for exactly this Python version and platform;
  `make setup` checks that before it installs anything.
- `make`, and disk for the installed environment beside the bundle (the one that made it takes
  {installed_gib:.1f} GiB).
- Chromium is not in the bundle: it is needed only by the browser tests (`make test`), which skip without it.

## Use

```bash
cd course
make setup     # installs from wheelhouse/ only (no index, no network); checks SHA256SUMS first
make lab       # the chapters in JupyterLab
make book      # execute every chapter and build the site into build/html
```

`make setup` finds `wheelhouse/` beside the Makefile and installs with `pip --no-index --find-links`,
ignoring any pip configuration of the machine. The checkpoints in `course/data/` are the ones the
chapters load, so nothing trains in class. To check a copy (a USB stick, a shared drive):
`cd course/wheelhouse && sha256sum -c --quiet SHA256SUMS`.
"""


def write_readme(folder: Path, commit: str, wheels: int, sizes: dict[str, int]) -> None:
    target = built_for()
    rows = "\n".join(f"| {part} | {size / 2**20:,.0f} MiB |" for part, size in sizes.items())
    text = README.format(commit=commit[:12], wheels=wheels, wheelhouse=WHEELHOUSE, size_rows=rows,
                         date=time.strftime("%Y-%m-%d"), installed_gib=folder_bytes(Path(sys.prefix)) / 2**30,
                         **target)
    (folder / "README.md").write_text(text)


def build_bundle(dest: Path, *, prepare: bool = True) -> Bundle:
    """Write the workshop bundle to `dest` (built in `<dest>.partial`, renamed when complete)."""
    root = repo_root()
    if root is None:
        raise BundleError("make bundle runs from the course checkout (the kit is installed here without it)")
    commit = _git(root, "rev-parse", "HEAD")
    changed = _git(root, "status", "--porcelain", "--untracked-files=no")
    dest = Path(dest).resolve()
    partial = dest.with_name(dest.name + ".partial")
    if partial.exists():  # an interrupted run: start the copy again (downloads come from pip's cache)
        shutil.rmtree(partial)
    stored = data_dir() / "checkpoints"
    check_destination(dest, HEADROOM_BYTES + (folder_bytes(stored) if stored.is_dir() else 0))
    if changed:
        print(f"note: the bundle holds commit {commit[:12]}; {len(changed.splitlines())} changed file(s) in the "
              "working tree are not in it (commit them first to include them)", flush=True)
    timings: dict[str, float] = {}

    def step(title: str) -> float:
        print(f"== {title}", flush=True)
        return time.perf_counter()

    start = step("checkpoints (training what is missing; each resumes where it stopped)")
    if prepare:
        prepare_all()
    folders = prepared_checkpoints()
    timings["checkpoints"] = time.perf_counter() - start

    course = partial / "course"
    start = step(f"the course at {commit[:12]}")
    course.mkdir(parents=True)
    export_course(root, commit, course)
    timings["course"] = time.perf_counter() - start

    start = step("the wheelhouse: resolving what make setup installs, pinned to this environment")
    pins = resolve_pins(root)
    wheelhouse = course / WHEELHOUSE
    wheelhouse.mkdir()
    print(f"   {len(pins)} packages; downloading (checked against their hashes)", flush=True)
    download_wheels(pins, wheelhouse)
    wheels = write_checksums(wheelhouse)
    timings["wheelhouse"] = time.perf_counter() - start

    start = step(f"the data dir: {len(folders)} checkpoints")
    copy_checkpoints(folders, course / "data" / "checkpoints")
    timings["data"] = time.perf_counter() - start

    sizes = {"wheelhouse": folder_bytes(wheelhouse), "data": folder_bytes(course / "data")}
    sizes["course"] = folder_bytes(course) - sizes["wheelhouse"] - sizes["data"]
    sizes["total"] = sum(sizes.values())
    write_readme(partial, commit, wheels, sizes)
    partial.rename(dest)
    print(f"== bundle ready: {dest} ({sizes['total'] / 2**30:.2f} GiB: wheelhouse "
          f"{sizes['wheelhouse'] / 2**20:.0f} MiB, data {sizes['data'] / 2**20:.0f} MiB, course "
          f"{sizes['course'] / 2**20:.1f} MiB); " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()),
          flush=True)
    return Bundle(dest, commit, wheels, sizes, timings)
