"""Building a chapter's own C++ kernel with `torch.utils.cpp_extension.load_inline`, and reusing the build.

The chapter writes the C++ source in its own cell; this module hides the boilerplate around it: checking that a
compiler, ninja and Python's headers are here (a clear `BuildToolsMissing` naming what is missing, so the chapter
can say so and skip its section), choosing the flags (-O3 -march=native, OpenMP for `at::parallel_for`), and
building into a folder under build/ named after the source's hash, so a second run (or a re-run cell) loads the
library in about a second instead of compiling it again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sysconfig
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from kit.errors import KitError
from kit.paths import build_dir

# -O3 and the host's own vector instructions (AVX-512 here): without -march=native the compiler may only use
# SSE2. -fopenmp makes at::parallel_for split work over torch's threads (torch.set_num_threads) and makes
# `#pragma omp simd` a request the compiler honours; torch already loads the same libgomp.
FLAGS = ("-O3", "-march=native", "-fopenmp")
LINK_FLAGS = ("-fopenmp",)


class BuildToolsMissing(KitError, RuntimeError):
    """A C++ compiler, ninja or Python's headers are missing: the kernel cannot be built here."""


def missing_build_tools() -> list[str]:
    """What load_inline needs and this machine lacks, each with the command that installs it ([] when ready)."""
    missing = []
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None and shutil.which("g++") is None:
        missing.append("a C++ compiler (g++: `sudo apt-get install g++`)")
    if shutil.which("ninja") is None:
        missing.append("ninja (`pip install ninja` or `sudo apt-get install ninja-build`)")
    include = sysconfig.get_paths().get("include")
    if not include or not (Path(include) / "Python.h").is_file():
        missing.append("Python's headers (`sudo apt-get install python3-dev`, or the -dev package of your Python)")
    return missing


def require_build_tools(what: str = "this section") -> None:
    """Raise BuildToolsMissing, naming each missing tool and its install command, unless all are here."""
    missing = missing_build_tools()
    if missing:
        raise BuildToolsMissing(f"cannot build C++ here, so {what} is skipped: missing {'; '.join(missing)}. "
                                "Install them and run the cell again.")


@dataclass(frozen=True)
class BuiltExtension:
    """A loaded extension module, where it was built and how long loading (and building, if needed) took."""

    module: ModuleType
    folder: Path
    seconds: float
    reused: bool   # True when an earlier build of the same source and flags was loaded

    def __str__(self) -> str:
        how = "reused an earlier build" if self.reused else "compiled"
        return f"{self.module.__name__}: {how} in {self.seconds:.1f} s ({self.folder})"


def source_hash(cpp_source: str, functions: Sequence[str], flags: Sequence[str]) -> str:
    """A short hash of everything that changes the built library."""
    text = "\0".join([cpp_source, *functions, *flags])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def build_inline(name: str, cpp_source: str, functions: Sequence[str], *, flags: Sequence[str] = FLAGS,
                 link_flags: Sequence[str] = LINK_FLAGS, folder: Path | None = None,
                 verbose: bool = False) -> BuiltExtension:
    """Compile `cpp_source` (which defines `functions`) into a Python module and load it.

    The module is named `<name>_<hash of the source and flags>`, so editing the source and re-running the cell
    builds and loads the new code instead of Python's cached old module. Built under `folder` (default
    build/inline_cpp/<that name>), where a later run finds the library and only loads it.
    """
    if not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    if not functions:
        raise ValueError("functions must name at least one C++ function to expose to Python")
    require_build_tools(f"building {name}")
    from torch.utils.cpp_extension import load_inline

    module_name = f"{name}_{source_hash(cpp_source, functions, [*flags, *link_flags])}"
    folder = Path(folder) if folder is not None else build_dir() / "inline_cpp" / module_name
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with build_guard(folder):
        reused = any(folder.glob(f"{module_name}*.so"))
        module = load_inline(name=module_name, cpp_sources=[cpp_source], functions=list(functions),
                             extra_cflags=list(flags), extra_ldflags=list(link_flags), build_directory=str(folder),
                             verbose=verbose)
    return BuiltExtension(module, folder, time.perf_counter() - start, reused)


@contextmanager
def build_guard(folder: Path) -> Iterator[None]:
    """Hold the folder's build lock; remove the `lock` file a killed build of torch's left behind.

    torch's `load_inline` marks a build in progress with a plain file, `lock`, and waits, without end or message,
    while it exists; a build killed mid-way (a stopped book, a closed notebook) leaves it there for good. Every kit
    build of the folder first takes an OS lock on `kit-build.lock`, which the system releases when its holder dies,
    so a `lock` file found while holding it belongs to nobody and is removed.
    """
    try:
        import fcntl
    except ImportError:   # not a POSIX system: torch's own lock file is all there is
        yield
        return
    guard_path = folder / "kit-build.lock"
    with open(guard_path, "a") as guard:
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process that is building in {folder}", flush=True)
            fcntl.flock(guard, fcntl.LOCK_EX)
        except OSError as error:   # a file system without flock: build as torch alone would
            print(f"cannot lock {guard_path} ({error}); a build stopped mid-way may leave {folder / 'lock'}, "
                  "which you may then delete", flush=True)
            yield
            return
        try:
            stale = folder / "lock"
            if stale.exists():
                print(f"removing {stale}, left by a build that was stopped before it finished", flush=True)
                stale.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)
