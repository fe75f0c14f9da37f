from pathlib import Path

from kit import paths


def test_data_dir_defaults_to_repo_data(monkeypatch):
    monkeypatch.delenv(paths.DATA_ENV_VAR, raising=False)
    assert paths.repo_root() is not None
    assert paths.data_dir() == paths.repo_root() / "data"


def test_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(tmp_path / "elsewhere"))
    assert paths.data_dir() == (tmp_path / "elsewhere").resolve()
    assert not (tmp_path / "elsewhere").exists(), "resolving a path must not create it"


def test_data_dir_expands_user(monkeypatch):
    monkeypatch.setenv(paths.DATA_ENV_VAR, "~/kit-data")
    assert paths.data_dir() == (Path.home() / "kit-data").resolve()


def test_notebooks_and_assets_locations():
    assert paths.notebooks_dir().is_dir()
    assert paths.assets_dir().parent.name == "kit"
    assert paths.build_dir() == paths.repo_root() / "build"
