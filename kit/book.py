"""The main job: prepare the checkpoints, execute the chapters with papermill, build the documentation site.

``build_book`` first trains (or verifies) every checkpoint the selected chapters declare, in the terminal,
resumably; then it executes each chapter with training switched off (a chapter only loads), showing which
cell is running and for how long; a failed chapter does not stop the others. The site is built from the
executed copies, a failed chapter's page saying so at its top, and a summary table ends the run.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from kit.chapter_kernel import KERNEL_CHAPTER, build_in_background
from kit.errors import KitError
from kit.paths import build_dir, notebooks_dir, repo_root
from kit.progress import LOG_INTERVAL, log_arguments, stderr_is_a_log

if TYPE_CHECKING:
    from kit.chapter_kernel import BackgroundBuild

# Chapter notebooks are named NN_topic.ipynb, in source and executed form alike.
CHAPTER_PATTERN = "[0-9][0-9]_*.ipynb"
# Chapters only load checkpoints, so no cell should come near this; it only stops a hung kernel.
CELL_TIMEOUT_S = 1800
# The book compiles chapter 9's C++ kernel beside the training at this nice value (Linux): the compiler mostly
# takes what training leaves idle, yet still gets about a tenth of a busy core.
KERNEL_BUILD_NICE = 10


class ChapterFailed(KitError, RuntimeError):
    """A chapter raised while it was executed."""


@dataclass(frozen=True)
class ExecutedChapter:
    source: Path
    output: Path
    seconds: float


@dataclass
class ChapterResult:
    """One line of the book's summary."""

    chapter: Path
    seconds: float = 0.0
    error: str | None = None
    output: Path | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def chapters() -> list[Path]:
    """The chapter notebooks (notebooks/NN_topic.ipynb), in order."""
    found = sorted(notebooks_dir().glob(CHAPTER_PATTERN))
    if not found:
        raise FileNotFoundError(f"no chapter notebooks (NN_topic.ipynb) in {notebooks_dir()}")
    return found


def executed_dir() -> Path:
    return build_dir() / "executed"


def _first_line(source: str) -> str:
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return lines[0][:70] if lines else ""


class CellProgress:
    """A terminal bar over a chapter's code cells: which one runs, for how long, and its first line."""

    def __init__(self, name: str, total: int, enabled: bool = True) -> None:
        self.name, self.total = name, total
        self.index, self.first_line, self.started = 0, "", time.monotonic()
        self._bar = None
        self._stop = threading.Event()
        if enabled:
            from tqdm import tqdm

            self._log = stderr_is_a_log()   # a log gets a line per cell and every LOG_INTERVAL s, not redraws
            self._bar = tqdm(**{"total": total, "desc": name, "unit": "cell", "file": sys.stderr,
                                "dynamic_ncols": True,
                                "bar_format": "{desc}: {n_fmt}/{total_fmt} cells |{bar:20}| {elapsed}{postfix}"}
                             | log_arguments())
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def on_cell_start(self, cell: Any, cell_index: int, **_: Any) -> None:
        if cell.cell_type != "code" or not cell.source.strip():  # nbclient calls this for every cell
            return
        if self.index and self._bar is not None:
            self._bar.update(1)
        self.index += 1
        self.first_line, self.started = _first_line(cell.source), time.monotonic()
        self._show()

    def where(self) -> str:
        return f"code cell {self.index} of {self.total} (`{self.first_line}`)"

    def _show(self) -> None:
        if self._bar is not None:
            running = time.monotonic() - self.started
            self._bar.set_postfix_str(f"cell {self.index} running {running:.0f} s: {self.first_line}")

    def _tick(self) -> None:
        interval = LOG_INTERVAL if self._log else 1.0
        while not self._stop.wait(interval):
            self._show()

    def close(self, done: bool) -> None:
        self._stop.set()
        if self._bar is not None:
            if done:
                self._bar.update(self.total - self._bar.n)
                self._bar.set_postfix_str("done")
            self._bar.close()


def _quiet_kernel_manager(log_path: Path) -> type:
    """A kernel manager whose kernel writes its own stdout/stderr to `log_path`, not to the terminal.

    A kernel stopped at a timeout prints zmq tracebacks there; they say nothing about the chapter.
    """
    from jupyter_client import AsyncKernelManager

    class ChapterKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            log = open(log_path, "ab")  # noqa: SIM115 (kept open for the kernel's life)
            kw["stdout"] = kw["stderr"] = log
            try:
                await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                log.close()  # the kernel process holds its own copy of the descriptor

    return ChapterKernelManager


def _code_cells(source: Path) -> int:
    notebook = nbformat.read(source, as_version=4)
    return sum(1 for c in notebook.cells if c.cell_type == "code" and c.source.strip())


def execute_chapter(
    source: Path,
    out_dir: Path | None = None,
    *,
    quick: bool,
    timeout: int = CELL_TIMEOUT_S,
    parameters: dict | None = None,
    show_progress: bool = False,
) -> ExecutedChapter:
    """Run one chapter top to bottom with papermill; the executed copy goes to out_dir.

    The copy is written even when a cell fails (so the error can be read), and a ChapterFailed names
    the cell. Training is switched off ($KIT_TRAINING=off): prepare the chapter's checkpoints first.
    The kernel's own output goes to <out_dir>/<chapter>.kernel.log. show_progress draws a bar over cells.
    """
    import papermill

    out_dir = Path(out_dir) if out_dir is not None else executed_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / source.name
    params = {"QUICK": quick, **(parameters or {})}
    saved = {k: os.environ.get(k) for k in ("KIT_PROGRESS", "KIT_TRAINING")}
    os.environ.update({"KIT_PROGRESS": "off", "KIT_TRAINING": "off"})
    fd, tmp_name = tempfile.mkstemp(suffix=".ipynb", dir=out_dir, prefix=f".{source.stem}-")
    os.close(fd)
    log_path = out_dir / f"{source.stem}.kernel.log"
    log_path.unlink(missing_ok=True)
    progress = CellProgress(source.stem, _code_cells(source) + 1, enabled=show_progress)  # +1: injected cell
    start = time.perf_counter()
    finished = False
    try:
        papermill.execute_notebook(
            str(source),
            tmp_name,
            parameters=params,
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
            execution_timeout=timeout,
            on_cell_start=progress.on_cell_start,
            kernel_manager_class=_quiet_kernel_manager(log_path),
        )
        finished = True
    except papermill.PapermillExecutionError as error:
        os.replace(tmp_name, output)
        raise ChapterFailed(
            f"{source.name} failed in {progress.where()}: {error.ename}: {error.evalue}\n"
            f"The executed copy with the traceback is {output}"
        ) from None
    except Exception as error:
        if type(error).__name__ != "CellTimeoutError":  # nbclient's: keep the partial copy to read
            Path(tmp_name).unlink(missing_ok=True)
            raise
        os.replace(tmp_name, output)
        raise ChapterFailed(
            f"{source.name}: {progress.where()} ran longer than {timeout} s and was stopped. "
            f"The executed copy so far is {output}; the kernel's log is {log_path}"
        ) from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        progress.close(done=finished)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    os.replace(tmp_name, output)
    return ExecutedChapter(source, output, time.perf_counter() - start)


def prepare_for(chapter: Path, *, quick: bool, parameters: dict[str, Any] | None = None) -> None:
    """Train or verify the checkpoints `chapter` declares (kit.needs), so it can execute with training off.

    Raises ChapterFailed naming each checkpoint that could not be prepared.
    """
    from kit.chapters import needs
    from kit.prepare import prepare_needs

    failures = prepare_needs(needs(chapter, parameters), quick=quick)
    if failures:
        raise ChapterFailed(f"{chapter.name}: its checkpoint could not be prepared: "
                            + "; ".join(f"{need}: {why}" for need, why in failures.items()))


def mark_failed(chapter: Path, output: Path | None, error: str, out_dir: Path) -> Path:
    """Write the page of a failed chapter: its executed copy (or its source) with the error at the top."""
    notebook = nbformat.read(output if output is not None and output.is_file() else chapter, as_version=4)
    banner = nbformat.v4.new_markdown_cell(
        "```{error}\nThis chapter **failed** when the book was built; the outputs below stop where it failed.\n\n"
        + error.replace("```", "'''") + "\n```"
    )
    banner.metadata["tags"] = ["kit-failed"]
    notebook.cells.insert(1 if notebook.cells and notebook.cells[0].cell_type == "markdown" else 0, banner)
    target = out_dir / chapter.name
    nbformat.write(notebook, target)
    return target


def build_site(executed: Path | None = None, out_dir: Path | None = None) -> Path:
    """Build the HTML site (Sphinx + myst-nb) from executed notebooks; returns the index page.

    Sources are assembled in build/site-src: the pages of docs/ plus the executed chapters.
    Nothing is executed again here (nb_execution_mode = "off" in docs/conf.py).
    """
    from sphinx.cmd.build import build_main

    root = repo_root()
    if root is None:
        raise FileNotFoundError("the documentation sources ship with the course checkout")
    executed = Path(executed) if executed is not None else executed_dir()
    notebooks = sorted(executed.glob(CHAPTER_PATTERN))
    if not notebooks:
        raise FileNotFoundError(f"no executed chapters in {executed}: run `python -m kit book` first")
    out_dir = Path(out_dir) if out_dir is not None else build_dir() / "html"
    source = out_dir.parent / f"{out_dir.name}-src"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(root / "docs", source, ignore=shutil.ignore_patterns("conf.py", "__pycache__"))
    (source / "chapters").mkdir()
    for notebook in notebooks:
        label_injected_parameters(notebook, source / "chapters" / notebook.name)
    (source / "results.md").write_text(results_page(root / "benchmarks" / "results", build_dir() / "results"),
                                       encoding="utf-8")
    index = source / "index.md"
    page, figure = index.read_text(encoding="utf-8"), landing_figure(notebooks, source / "_static")
    anchor = "\n## Set-up"   # the figure goes before the set-up section, or at the end of a page without one
    page = page.replace(anchor, figure + anchor, 1) if anchor in page else page + figure
    index.write_text(page, encoding="utf-8")
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-c", str(root / "docs"), str(source), str(out_dir)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (exit {status}); its warnings are printed above")
    return out_dir / "index.html"


LANDING_TAG = "landing-figure"   # the chapter cell whose PNG the landing page shows


def landing_figure(notebooks: list[Path], static: Path) -> str:
    """Markdown for the landing page: the first PNG of the executed cell tagged `landing-figure` (chapter 8's
    Pareto front), copied into the site's static files; a sentence saying why when no chapter has one."""
    import base64

    for notebook in notebooks:
        book = nbformat.read(notebook, as_version=4)
        for cell in book.cells:
            if LANDING_TAG not in cell.metadata.get("tags", []):
                continue
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png:
                    (static / "landing.png").write_bytes(base64.b64decode(png))
                    return ("\n## The course in one figure\n\n"
                            f"![Accuracy against time for every compressed variant of {notebook.stem}]"
                            "(_static/landing.png)\n\n"
                            f"Every model of [chapter 8](chapters/{notebook.stem}) as this build measured it: "
                            "validation accuracy against 1-thread time relative to the dense CNN's fastest FP32 "
                            "form (BatchNorm folded, channels_last where that is faster), at batch 64 (left) and "
                            "batch 1 (right); marker size the model's bytes, the Pareto front dashed.\n")
    return ("\n## The course in one figure\n\nChapter 8's Pareto front appears here once the site is built "
            "with that chapter executed (`python -m kit book`).\n")


def label_injected_parameters(notebook: Path, target: Path) -> None:
    """Copy an executed chapter, with a short note above the parameters cell papermill injected.

    Without it the page shows an unexplained second "# Parameters" cell.
    """
    book = nbformat.read(notebook, as_version=4)
    for index, cell in enumerate(book.cells):
        if "injected-parameters" in cell.metadata.get("tags", []):
            settings = [line.strip() for line in cell.source.splitlines() if "=" in line and not line.startswith("#")]
            note = nbformat.v4.new_markdown_cell(
                '<div class="injected-parameters-note">Set for this build by papermill, replacing the defaults '
                f"above: <code>{'; '.join(settings) or 'nothing'}</code>.</div>"
            )
            note.metadata["tags"] = ["injected-parameters-note"]
            book.cells.insert(index, note)
            break
    nbformat.write(book, target)


def benchmark_reports(benchmarks: Path) -> dict[str, Path]:
    """Each benchmark script (benchmarks/bench_*.py) and the report it writes (results/<name>.md, read from its
    `write_report("<name>", ...)` call), whether or not it has been run."""
    import re

    reports = {}
    for script in sorted(benchmarks.glob("bench_*.py")):
        names = re.findall(r'write_report\(\s*"([^"]+)"', script.read_text(encoding="utf-8"))
        reports[script.name] = benchmarks / "results" / f"{names[0] if names else script.stem}.md"
    return reports


def missing_reports(benchmarks: Path) -> list[str]:
    """The benchmark scripts whose report is not in this checkout (the Measurements page says so for each)."""
    return [script for script, report in benchmark_reports(benchmarks).items() if not report.is_file()]


def _flatten(figures: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(name, value) rows of a chapter's recorded figures: nested names joined with ' · ', numbers to 4 digits."""
    if isinstance(figures, dict):
        return [row for key, value in figures.items()
                for row in _flatten(value, f"{prefix} · {key}" if prefix else str(key))]
    if isinstance(figures, list):
        if len(figures) > 8 or any(isinstance(v, (dict, list)) for v in figures):
            return [(prefix, f"{len(figures)} values")]
        return [(prefix, ", ".join(_flatten(v)[0][1] for v in figures))]
    if isinstance(figures, float):
        return [(prefix, f"{figures:.4g}")]
    return [(prefix, str(figures))]


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: no column bar, no `$` that MyST could take for maths."""
    return text.replace("|", "/").replace("$", "\\$")


def recorded_sections(records: Path, benchmarks: Path) -> list[str]:
    """Markdown sections for the figures the book's chapters recorded (build/results/*.json) whose benchmark report
    is missing from this checkout: the page then shows what this build measured, with its date and CPU."""
    import json

    from kit.chapters import read_chapter

    reports = benchmark_reports(benchmarks)
    lines: list[str] = []
    chosen: dict[str, Path] = {}
    for path in sorted(records.glob("*.json")) if records.is_dir() else []:
        chapter = path.stem.removesuffix("-quick")
        if chapter not in chosen or chosen[chapter].stem.endswith("-quick"):   # a full run's record wins
            chosen[chapter] = path
    for chapter, path in sorted(chosen.items()):
        notebook = notebooks_dir() / f"{chapter}.ipynb"
        script = read_chapter(notebook).benchmark if notebook.is_file() else None
        report = reports.get(Path(script).name) if script else None
        if report is not None and report.is_file():
            continue   # the benchmark's own report is on the page
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        mode = "QUICK mode" if record.get("quick") else "full mode"
        lines += [f"## Chapter {chapter[:2]}, as the book measured it", "",
                  f"*{path.name}: recorded {record.get('created', '?')} in {mode} on {record.get('cpu', '?')}, "
                  f"{record.get('threads', '?')} thread(s), torch {record.get('torch', '?')}. No benchmark report "
                  "for this chapter in this build, so no target is checked here.*", "",
                  "| figure | value |", "|---|---|",
                  *(f"| {_cell(name)} | {_cell(value)} |" for name, value in _flatten(record.get("figures", {}))),
                  ""]
    return lines


def results_page(folder: Path, records: Path | None = None) -> str:
    """The site's Measurements page: which benchmark reports this checkout holds (and, for each missing one, the
    command that writes it), then every report (benchmarks/results/*.md) with its date, then, for a chapter whose
    report is missing, the figures the book itself recorded (`records`, build/results/)."""
    benchmarks = folder.parent
    lines = ["# Measurements", "",
             "The benchmark reports of the checkout that built this site, as `make bench` wrote them "
             "(`benchmarks/results/`). Each runs its chapter in full, states the CPU it ran on and checks the "
             "chapter's figures against its targets.", "",
             "| benchmark | report in this build |", "|---|---|"]
    for script, report in benchmark_reports(benchmarks).items():
        if report.is_file():
            written = time.strftime("%Y-%m-%d %H:%M", time.localtime(report.stat().st_mtime))
            lines.append(f"| `{script}` | {report.name}, written {written} |")
        else:
            lines.append(f"| `{script}` | **not run in this checkout**: `python benchmarks/{script}` "
                         "(or `make bench`), then `make book` again |")
    lines.append("")
    for report in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        written = time.strftime("%Y-%m-%d %H:%M", time.localtime(report.stat().st_mtime))
        body = report.read_text(encoding="utf-8").splitlines()
        title = body[0].lstrip("# ").strip() if body and body[0].startswith("#") else report.stem
        lines += [f"## {title}", "", f"*{report.name}, written {written}.*", "",
                  *(line if not line.startswith("#") else "#" + line for line in body[1:]), ""]
    if records is not None:
        lines += recorded_sections(records, benchmarks)
    return "\n".join(lines) + "\n"


def select(names: list[str] | None) -> list[Path]:
    """All chapters, or those whose file name starts with one of `names` (e.g. '03')."""
    selected = [c for c in chapters() if not names or any(c.name.startswith(n) for n in names)]
    if not selected:
        raise ValueError(f"no chapter matches {names}; chapters: {[c.name for c in chapters()]}")
    return selected


@dataclass
class Book:
    """The outcome of one `build_book`: a result per chapter and the site's index (None when it failed)."""

    results: list[ChapterResult] = field(default_factory=list)
    index: Path | None = None
    site_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.site_error is None and all(r.ok for r in self.results)

    def summary(self) -> str:
        width = max(len(r.chapter.stem) for r in self.results)
        lines = [f"{'chapter':<{width}}  {'seconds':>7}  status  executed copy"]
        for r in self.results:
            lines.append(f"{r.chapter.stem:<{width}}  {r.seconds:7.0f}  {'ok' if r.ok else 'FAILED':<6}  "
                         f"{r.output or '-'}")
        lines.append(f"site: {self.index}" if self.index else f"site: not built ({self.site_error})")
        return "\n".join(lines)


def build_kernel_ahead(selected: list[Path]) -> BackgroundBuild | None:
    """Start compiling chapter 9's C++ kernel in the background while the checkpoints train, when chapter 9 is
    selected and the build tools are here (kit.chapter_kernel); None otherwise."""
    if not any(chapter.stem == KERNEL_CHAPTER for chapter in selected):
        return None
    try:
        return build_in_background(nice=KERNEL_BUILD_NICE)
    except Exception as error:   # never stop the book for a head start: the chapter builds and reports itself
        print(f"chapter 9's C++ kernel is not built ahead ({type(error).__name__}: {error})", flush=True)
        return None


def build_book(quick: bool = False, names: list[str] | None = None,
               parameters: dict[str, Any] | None = None) -> Book:
    """Prepare the checkpoints, execute the chapters, build the site; returns what happened to each.

    Parameter names and values are checked against the chapters' parameters cells and rules (read without
    running them) before anything runs (ParameterError); a chapter
    whose checkpoint cannot be prepared, or that fails, is reported and the others still run.
    """
    from kit.chapters import assign_parameters, needs, quick_value

    selected = select(names)
    assigned = assign_parameters(selected, parameters or {})   # names and values checked before any work
    from kit.prepare import prepare_needs  # the store (and torch) only once the parameters are known good

    results = {chapter: ChapterResult(chapter) for chapter in selected}

    print("== preparing the checkpoints the chapters need", flush=True)
    kernel = build_kernel_ahead(selected)
    wanted: dict[Path, list] = {}
    for chapter in selected:
        try:
            wanted[chapter] = needs(chapter, assigned[chapter])
        except ValueError as error:
            results[chapter].error = str(error)
    failed_needs: dict = {}
    for mode in (False, True):
        todo = [n for c, ns in wanted.items() if quick_value(assigned[c], quick) == mode for n in ns]
        failed_needs.update({(n, mode): e for n, e in prepare_needs(todo, quick=mode).items()})
    for chapter, chapter_needs in wanted.items():
        mode = quick_value(assigned[chapter], quick)
        problems = [f"{n}: {failed_needs[n, mode]}" for n in chapter_needs if (n, mode) in failed_needs]
        if problems:
            results[chapter].error = "its checkpoint could not be prepared: " + "; ".join(problems)

    if kernel is not None:   # before any chapter runs, so the compiler never shares the CPU with a timing
        print(kernel.report(), flush=True)

    out_dir = executed_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    for position, chapter in enumerate(selected, start=1):
        result = results[chapter]
        stale = out_dir / chapter.name
        stale.unlink(missing_ok=True)  # never show last run's copy as this run's
        if result.error is None:
            mode = "QUICK" if quick_value(assigned[chapter], quick) else "full"
            print(f"== [{position}/{len(selected)}] executing {chapter.name} ({mode})", flush=True)
            start = time.perf_counter()
            try:
                done = execute_chapter(chapter, out_dir, quick=quick, parameters=assigned[chapter],
                                       show_progress=True)
                result.output = done.output
            except ChapterFailed as error:
                result.error = str(error)
                result.output = stale if stale.is_file() else None
            result.seconds = time.perf_counter() - start
        if result.error is not None:
            print(f"   FAILED: {result.error}", flush=True)
            result.output = mark_failed(chapter, result.output, result.error, out_dir)
        else:
            print(f"   done in {result.seconds:.0f} s -> {result.output}", flush=True)

    book = Book(list(results.values()))
    print("== building the documentation site", flush=True)
    try:
        book.index = build_site()
    except (RuntimeError, FileNotFoundError) as error:
        book.site_error = str(error)
    print(book.summary(), flush=True)
    root = repo_root()
    missing = missing_reports(root / "benchmarks") if root is not None else []
    if missing:
        print(f"note: the site's Measurements page has no report of {', '.join(missing)}: the chapters' "
              "multi-seed figures come from these (`make bench` writes them; then `make book` again)", flush=True)
    return book
