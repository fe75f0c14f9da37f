"""The main job survives a failing chapter: the others still execute, the site is built with the failed
page marked (its error shown), a summary table is printed, and the exit status says something failed."""

from __future__ import annotations

import nbformat
import pytest

from kit import book as book_module
from kit.__main__ import main

pytestmark = pytest.mark.notebook


def chapter(folder, name, body):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell("QUICK = False\nSEED = 0")
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [nbformat.v4.new_markdown_cell(f"# {name}"), parameters, nbformat.v4.new_code_cell(body)]
    nbformat.write(notebook, folder / f"{name}.ipynb")


@pytest.fixture
def tiny_course(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    chapter(notebooks, "01_fails", "raise ValueError('broken on purpose')")
    chapter(notebooks, "02_works", "print('seed is', SEED)")
    monkeypatch.setattr(book_module, "notebooks_dir", lambda: notebooks)
    monkeypatch.setattr(book_module, "build_dir", lambda: tmp_path / "build")
    return tmp_path


def test_one_failure_does_not_hide_the_rest(tiny_course, capsys):
    assert main(["book", "--param", "SEED=7"]) == 1
    captured = capsys.readouterr()
    assert "01_fails.ipynb failed in code cell 3 of 3" in captured.out and "broken on purpose" in captured.out
    table = captured.out[captured.out.index("seconds  status"):]
    assert "01_fails" in table and "FAILED" in table and "02_works" in table and " ok " in table
    assert "1 chapter(s) failed: 01_fails.ipynb" in captured.err
    works = nbformat.read(tiny_course / "build" / "executed" / "02_works.ipynb", as_version=4)
    assert "seed is 7" in works.cells[-1].outputs[0].text
    site = tiny_course / "build" / "html" / "chapters"
    failed_page = (site / "01_fails.html").read_text()
    assert "failed" in failed_page and "broken on purpose" in failed_page
    assert "seed is 7" in (site / "02_works.html").read_text()


def test_all_good_exits_zero(tiny_course, capsys):
    assert main(["book", "02"]) == 0
    assert "02_works" in capsys.readouterr().out


def test_a_cell_timeout_names_the_cell_and_keeps_kernel_noise_out_of_the_terminal(tmp_path, capfd):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    chapter(notebooks, "01_slow", "import time\ntime.sleep(60)  # a hung cell")
    with pytest.raises(book_module.ChapterFailed) as failure:
        book_module.execute_chapter(notebooks / "01_slow.ipynb", tmp_path / "out", quick=True, timeout=5)
    message = str(failure.value)
    assert "code cell 3 of 3 (`import time`) ran longer than 5 s" in message
    assert "01_slow.kernel.log" in message and (tmp_path / "out" / "01_slow.ipynb").is_file()
    captured = capfd.readouterr()
    assert "zmq" not in captured.out + captured.err and "Traceback" not in captured.out + captured.err
