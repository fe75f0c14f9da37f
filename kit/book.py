"""Execute the chapters with papermill and build the documentation site from the executed copies."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kit.paths import build_dir, notebooks_dir, repo_root

# Chapter notebooks are named NN_topic.ipynb, in source and executed form alike.
CHAPTER_PATTERN = "[0-9][0-9]_*.ipynb"


class ChapterFailed(RuntimeError):
    """A chapter raised while it was executed."""


@dataclass(frozen=True)
class ExecutedChapter:
    source: Path
    output: Path
    seconds: float


def chapters() -> list[Path]:
    """The chapter notebooks (notebooks/NN_topic.ipynb), in order."""
    found = sorted(notebooks_dir().glob(CHAPTER_PATTERN))
    if not found:
        raise FileNotFoundError(f"no chapter notebooks (NN_topic.ipynb) in {notebooks_dir()}")
    return found


def executed_dir() -> Path:
    return build_dir() / "executed"


def execute_chapter(
    source: Path,
    out_dir: Path | None = None,
    *,
    quick: bool,
    timeout: int = 900,
    parameters: dict | None = None,
) -> ExecutedChapter:
    """Run one chapter top to bottom with papermill; the executed copy goes to out_dir.

    The copy is written even when a cell fails (so the error can be read), and a
    ChapterFailed names the cell. Progress bars are switched off: the outputs are kept.
    """
    import papermill

    out_dir = Path(out_dir) if out_dir is not None else executed_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / source.name
    params = {"QUICK": quick, **(parameters or {})}
    previous = os.environ.get("KIT_PROGRESS")
    os.environ["KIT_PROGRESS"] = "off"
    fd, tmp_name = tempfile.mkstemp(suffix=".ipynb", dir=out_dir, prefix=f".{source.stem}-")
    os.close(fd)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(source),
            tmp_name,
            parameters=params,
            kernel_name="python3",
            cwd=str(source.parent),
            progress_bar=False,
            execution_timeout=timeout,
        )
    except papermill.PapermillExecutionError as error:
        os.replace(tmp_name, output)
        raise ChapterFailed(
            f"{source.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue}\n"
            f"The executed copy with the traceback is {output}"
        ) from None
    except Exception as error:
        if type(error).__name__ != "CellTimeoutError":  # nbclient's: keep the partial copy to read
            Path(tmp_name).unlink(missing_ok=True)
            raise
        os.replace(tmp_name, output)
        raise ChapterFailed(
            f"{source.name}: a cell ran longer than {timeout} s. The executed copy so far is {output}"
        ) from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        if previous is None:
            os.environ.pop("KIT_PROGRESS", None)
        else:
            os.environ["KIT_PROGRESS"] = previous
    os.replace(tmp_name, output)
    return ExecutedChapter(source, output, time.perf_counter() - start)


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
        shutil.copy2(notebook, source / "chapters" / notebook.name)
    status = build_main(["-b", "html", "-q", "-W", "--keep-going", "-c", str(root / "docs"), str(source), str(out_dir)])
    if status != 0:
        raise RuntimeError(f"sphinx-build failed (exit {status}); its warnings are printed above")
    return out_dir / "index.html"


def build_book(quick: bool = False, names: list[str] | None = None) -> Path:
    """Execute the chapters (all, or those whose file name starts with one of `names`) and build the site."""
    selected = [c for c in chapters() if not names or any(c.name.startswith(n) for n in names)]
    if not selected:
        raise ValueError(f"no chapter matches {names}; chapters: {[c.name for c in chapters()]}")
    for chapter in selected:
        print(f"executing {chapter.name} ({'QUICK' if quick else 'full'}) ...", flush=True)
        result = execute_chapter(chapter, quick=quick)
        print(f"  done in {result.seconds:.0f} s -> {result.output}", flush=True)
    index = build_site()
    print(f"documentation site: {index}")
    return index
