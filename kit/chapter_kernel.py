"""Chapter 9's own C++ kernel, built ahead of the chapter so the chapter only loads it.

The chapter writes the kernel's source in its cell `ch09-kernel-build` and builds it there with
`kit.inline_cpp.build_inline`, which reuses a build of the same source. Compiling takes about 25 s on one core
of a 2-core machine; `kit book` compiles it in a background thread at a lower priority while it trains the
checkpoints (the test suite while its first layers run), instead of inside the chapter. The source is read
from the chapter itself, so the two builds are one.
"""

from __future__ import annotations

import ast
import os
import sys
import threading

from kit.inline_cpp import BuiltExtension, build_inline, missing_build_tools
from kit.paths import notebooks_dir

KERNEL_CHAPTER, KERNEL_CELL = "09_language_model_quantization", "ch09-kernel-build"


def kernel_source() -> tuple[str, list[str]]:
    """The C++ source chapter 9 builds and the functions it exposes, read from its cell."""
    import nbformat

    notebook = nbformat.read(notebooks_dir() / f"{KERNEL_CHAPTER}.ipynb", as_version=4)
    cell = next((c for c in notebook.cells if c.get("id") == KERNEL_CELL), None)
    if cell is None:
        raise LookupError(f"chapter 9 has no cell {KERNEL_CELL!r} holding its kernel's source")
    assigned = {node.targets[0].id: node.value for node in ast.parse(cell.source).body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}
    missing = {"INT4_MATVEC_CPP", "INT4_FUNCTIONS"} - set(assigned)
    if missing:
        raise LookupError(f"chapter 9's cell {KERNEL_CELL} no longer assigns {sorted(missing)}")
    source, functions = ast.literal_eval(assigned["INT4_MATVEC_CPP"]), ast.literal_eval(assigned["INT4_FUNCTIONS"])
    if not isinstance(source, str) or not (isinstance(functions, list) and all(isinstance(f, str) for f in functions)):
        raise LookupError(f"chapter 9's cell {KERNEL_CELL} should assign a string and a list of function names")
    return source, functions


def build_chapter_kernel(source: tuple[str, list[str]] | None = None) -> BuiltExtension:
    """Build (or load) chapter 9's kernel (`source`: kernel_source()'s answer, read now if None) into
    build/inline_cpp, where the chapter finds it."""
    code, functions = source if source is not None else kernel_source()
    return build_inline("int4_kernel", code, functions)


class BackgroundBuild:
    """Chapter 9's kernel building in a daemon thread, started at construction; needs the build tools (check
    `missing_build_tools()` first). `nice` > 0 lowers the thread's priority and the compiler's (Linux only,
    where the nice value is a thread's own and passes to the processes it starts)."""

    def __init__(self, nice: int = 0) -> None:
        import torch.utils.cpp_extension  # noqa: F401  (imported here, never in two threads at once)

        self._source = kernel_source()   # a missing cell is reported now, not from the thread
        self._nice = nice
        self._built: BuiltExtension | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._build, name="chapter-9-kernel", daemon=True)
        self._thread.start()

    def _build(self) -> None:
        try:
            if self._nice > 0 and sys.platform == "linux":
                os.nice(self._nice)
            self._built = build_chapter_kernel(self._source)
        except BaseException as error:   # handed to whoever waits for the build
            self._error = error

    def result(self) -> BuiltExtension:
        """Wait for the build; its extension, or the build's error raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._built is not None
        return self._built

    def report(self) -> str:
        """Wait for the build; one line saying how it went (a failure is the chapter's to show: it builds again)."""
        try:
            return f"chapter 9's C++ kernel, built ahead: {self.result()}"
        except Exception as error:
            return (f"chapter 9's C++ kernel: the build ahead failed ({type(error).__name__}); the chapter builds "
                    "it again and shows why")


def build_in_background(nice: int = 0) -> BackgroundBuild | None:
    """Start building chapter 9's kernel in a thread (`nice` as in BackgroundBuild); None where the build tools
    are missing (the chapter then says which)."""
    return None if missing_build_tools() else BackgroundBuild(nice)
