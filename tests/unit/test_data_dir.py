"""A data dir that cannot hold checkpoints is reported before any training, by ensure, prepare and doctor."""

from __future__ import annotations

import pytest

from kit import doctor, paths
from kit.checkpoints import ensure
from kit.paths import DataDirError
from tests.unit.test_checkpoints import TinyRecipe, tiny  # noqa: F401 (fixture)


def test_a_file_as_data_dir_fails_before_training(tiny, tmp_path, monkeypatch):  # noqa: F811
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("KIT_DATA_DIR", str(blocker))
    with pytest.raises(DataDirError, match=r"is a file, not a folder.*KIT_DATA_DIR"):
        ensure("tiny")
    assert TinyRecipe.trainings == 0, "nothing was trained into a folder that cannot take it"
    monkeypatch.setenv("KIT_DATA_DIR", str(blocker / "below"))
    with pytest.raises(DataDirError, match="is a file"):
        ensure("tiny")


def test_a_read_only_data_dir_fails_before_training(tiny, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(paths, "_can_create_in", lambda folder: False)  # as on a read-only mount (root ignores modes)
    with pytest.raises(DataDirError, match=r"read-only.*export KIT_DATA_DIR="):
        ensure("tiny")
    assert TinyRecipe.trainings == 0


def test_prepare_prints_failed_instead_of_a_traceback(tiny, tmp_path, monkeypatch, capsys):  # noqa: F811
    from kit.__main__ import main

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("KIT_DATA_DIR", str(blocker))
    assert main(["prepare", "tiny"]) == 1
    out = capsys.readouterr().out
    assert "[failed] tiny" in out and "KIT_DATA_DIR" in out and TinyRecipe.trainings == 0


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_doctor_reports_a_file_or_read_only_data_dir(kind, tmp_path, monkeypatch):
    target = tmp_path / "data"
    if kind == "file":
        target.write_text("x")
    else:
        target.mkdir()
        monkeypatch.setattr(paths, "_can_create_in", lambda folder: False)
    monkeypatch.setenv("KIT_DATA_DIR", str(target))
    finding = {f.topic: f for f in doctor.findings()}["data dir"]
    assert finding.status == doctor.MISSING and kind in finding.detail
    assert "KIT_DATA_DIR" in finding.fix


def test_a_writable_data_dir_is_fine(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "new" / "data"))
    assert paths.data_dir_problem() is None
    assert paths.require_data_dir().is_dir()
