import subprocess
import sys

import pytest

from kit import compat, doctor
from kit.__main__ import main


def test_release_series():
    assert compat.release_series("2.13.0+cpu") == "2.13"
    assert compat.release_series("5.23.0") == "5.23"


def test_version_check_flags_other_series():
    assert compat.VersionCheck("torch", "2.13", "2.13.1").ok
    assert not compat.VersionCheck("torch", "2.13", "2.12.0").ok
    assert not compat.VersionCheck("torch", "2.13", None).ok


def test_doctor_reports_everything_on_this_machine(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for topic in ("machine", "torch", "quantization", "data dir", "chapters", "doctor:"):
        assert topic in out


def test_doctor_fails_and_names_the_fix_when_something_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(compat, "installed_version", lambda name: None if name == "torch" else "0.0")
    assert doctor.report() == 1
    out = capsys.readouterr().out
    assert "MISSING" in out and "fix: make setup" in out


def test_doctor_reports_an_unwritable_data_dir(monkeypatch, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("KIT_DATA_DIR", str(locked / "data"))
    monkeypatch.setattr("kit.paths._can_create_in", lambda folder: False)  # root ignores the mode bits
    findings = {f.topic: f for f in doctor.findings()}
    assert findings["data dir"].status == doctor.MISSING
    assert "KIT_DATA_DIR" in findings["data dir"].fix


def test_module_entry_point_runs():
    run = subprocess.run([sys.executable, "-m", "kit", "doctor", "--brief"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "doctor:" in run.stdout


def test_book_rejects_unknown_chapters(capsys):
    assert main(["book", "no-such-chapter"]) == 2
    assert "no chapter matches" in capsys.readouterr().err


def test_prepare_passes_recipe_options_to_the_checkpoint(monkeypatch):
    import kit.prepare

    asked = []
    monkeypatch.setattr(kit.prepare, "prepare_needs", lambda needs, **kw: asked.extend(needs) or {})
    assert main(["prepare", "--quick", "--option", "seed=7", "cnn-grid"]) == 0
    assert [(n.checkpoint, n.kwargs) for n in asked] == [("cnn-grid", {"seed": 7})]


def test_prepare_rejects_an_option_the_recipe_does_not_take(capsys):
    assert main(["prepare", "--option", "seed=7", "cnn-fashion"]) == 1
    assert "cnn-fashion does not take the option(s) seed" in capsys.readouterr().out
    assert main(["prepare", "--option", "seed", "cnn-grid"]) == 2
    assert "--option takes NAME=VALUE (e.g. seed=7)" in capsys.readouterr().err


def test_training_switched_off_names_the_options_of_the_missing_checkpoint(tmp_path, monkeypatch):
    from kit.checkpoints import TrainingDisabled, ensure

    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_TRAINING", "off")
    with pytest.raises(TrainingDisabled, match=r"python -m kit prepare --quick --option seed=7 cnn-grid"):
        ensure("cnn-grid", quick=True, seed=7)
