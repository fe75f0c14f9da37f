"""Checkpoint store: train once, load after; corrupted or mismatched files are reported, never overwritten."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from kit import allocator, checkpoints
from kit.checkpoints import CheckpointCorrupted, CheckpointMismatch, ensure, folder_for, status, verify
from kit.recipes import RECIPES, Recipe, Trained


class TinyRecipe(Recipe):
    """A recipe that trains in milliseconds and counts its trainings."""

    name = "tiny"
    description = "a linear layer"
    data_choices = ("ones", "twos")
    trainings = 0
    width = 3

    def config(self, quick, data, **options):
        return {"data": data, "seed": 0, "width": self.width, "steps": 2 if quick else 5}

    def fingerprint(self, config):
        return config["data"] + "-v1"

    def build(self, config):
        return nn.Linear(config["width"], 2), None

    def train(self, model, extra, config, resume=None):
        type(self).trainings += 1
        with torch.no_grad():
            model.weight.add_(1.0)
        return Trained({"score": 0.5}, [1.0, 0.5], 0.01)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_PROGRESS", "off")
    monkeypatch.setenv("KIT_ALLOCATOR", "system")   # `kit prepare` would set this test process's malloc for good
    recipe = TinyRecipe()
    TinyRecipe.trainings = 0
    monkeypatch.setitem(RECIPES, "tiny", recipe)
    return recipe


def weights(quick=False):
    return folder_for("tiny", quick=quick) / "model.safetensors"


def test_trains_once_then_loads(tiny):
    first = ensure("tiny")
    assert first.trained_now and TinyRecipe.trainings == 1
    second = ensure("tiny")
    assert not second.trained_now and TinyRecipe.trainings == 1
    assert torch.equal(first.model.weight, second.model.weight)
    manifest = json.loads((first.folder / "manifest.json").read_text())
    assert manifest["metrics"] == {"score": 0.5} and manifest["loss_curve"] == [1.0, 0.5]
    assert set(manifest["files"]) == {"model.safetensors"}
    assert manifest["allocator"] == allocator.in_use()   # beside train_seconds: what the time was measured with
    assert not list(first.folder.parent.glob(".tiny-*")), "no temporary folder is left behind"


def test_quick_and_other_data_are_stored_apart(tiny):
    ensure("tiny", quick=True)
    ensure("tiny", data="twos")
    assert {p.name for p in folder_for("tiny").parent.iterdir()} == {"tiny-quick", "tiny-twos"}
    with pytest.raises(ValueError, match="trains on one of ones, twos"):
        ensure("tiny", data="threes")


def test_flipped_byte_is_reported_and_file_kept(tiny):
    ensure("tiny")
    data = bytearray(weights().read_bytes())
    data[-3] ^= 0x01
    weights().write_bytes(bytes(data))
    with pytest.raises(CheckpointCorrupted, match=r"sha256 differs.*prepare --force tiny"):
        ensure("tiny")
    assert weights().read_bytes() == bytes(data), "a corrupted checkpoint is never overwritten unasked"
    assert TinyRecipe.trainings == 1
    assert status("tiny")[0] == "broken"


def test_wrong_shape_is_reported_clearly(tiny):
    ensure("tiny")
    save_file({"weight": torch.zeros(2, 7), "bias": torch.zeros(2)}, weights())
    manifest_path = folder_for("tiny") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["model.safetensors"] = checkpoints._sha256(weights())
    manifest["checksum"] = checkpoints.manifest_checksum(manifest)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CheckpointMismatch, match=r"weight has shape \[2, 7\], Linear needs \[2, 3\].*retrain"):
        ensure("tiny")


def test_changed_config_is_a_mismatch(tiny, monkeypatch):
    ensure("tiny")
    monkeypatch.setattr(TinyRecipe, "width", 4)
    with pytest.raises(CheckpointMismatch, match=r"width: stored 3, now 4"):
        ensure("tiny")


def test_prepare_retrains_a_stale_checkpoint_once_and_keeps_the_old_one(tiny, monkeypatch, capsys):
    """Out of date (the kit's config or data changed) is not damaged: prepare retrains it, once."""
    from kit.prepare import prepare

    ensure("tiny")
    old_weights = weights().read_bytes()
    monkeypatch.setattr(TinyRecipe, "width", 4)
    assert status("tiny")[0] == "stale"
    assert prepare(["tiny"]) == 0
    out = capsys.readouterr().out
    assert "[stale] tiny" in out and "width: stored 3, now 4" in out and "[done] tiny" in out
    assert TinyRecipe.trainings == 2 and status("tiny")[0] == "ready"
    assert (folder_for("tiny").with_name("tiny.previous") / "model.safetensors").read_bytes() == old_weights
    assert prepare(["tiny"]) == 0 and TinyRecipe.trainings == 2   # once
    assert "[ready] tiny" in capsys.readouterr().out


def test_prepare_does_not_overwrite_a_damaged_checkpoint_unasked(tiny, capsys):
    from kit.prepare import prepare

    ensure("tiny")
    weights().write_bytes(b"garbage")
    assert prepare(["tiny"]) == 1
    assert "[broken] tiny" in capsys.readouterr().out and weights().read_bytes() == b"garbage"


def test_changed_data_is_a_mismatch(tiny, monkeypatch):
    ensure("tiny")
    monkeypatch.setattr(TinyRecipe, "fingerprint", lambda self, config: "other")
    with pytest.raises(CheckpointMismatch, match="different data"):
        verify("tiny")


def test_unreadable_manifest_and_missing_manifest(tiny):
    folder = ensure("tiny").folder
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointCorrupted, match="unreadable"):
        ensure("tiny")
    (folder / "manifest.json").unlink()
    with pytest.raises(CheckpointCorrupted, match="no manifest.json"):
        ensure("tiny")


def test_force_retrains_and_keeps_the_old_copy(tiny):
    ensure("tiny")
    weights().write_bytes(b"garbage")
    fresh = ensure("tiny", force=True)
    assert fresh.trained_now and TinyRecipe.trainings == 2
    assert (fresh.folder.with_name("tiny.previous") / "model.safetensors").read_bytes() == b"garbage"
    assert not ensure("tiny").trained_now


def test_failed_training_leaves_nothing(tiny, monkeypatch):
    def boom(self, model, extra, config, resume=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(TinyRecipe, "train", boom)
    with pytest.raises(KeyboardInterrupt):
        ensure("tiny")
    assert not folder_for("tiny").parent.exists() or not any(folder_for("tiny").parent.iterdir())


def test_prepare_cli_trains_then_reports_ready(tiny, capsys):
    from kit.__main__ import main

    assert main(["prepare", "tiny"]) == 0
    assert "[done] tiny" in capsys.readouterr().out
    assert main(["prepare", "tiny"]) == 0
    assert "[ready] tiny" in capsys.readouterr().out and TinyRecipe.trainings == 1
    weights().write_bytes(b"x")
    assert main(["prepare", "tiny"]) == 1
    assert "[broken] tiny" in capsys.readouterr().out
    assert main(["prepare", "--force", "tiny"]) == 0
    assert main(["prepare", "nope"]) == 1


def test_unknown_checkpoint_and_option(tiny):
    with pytest.raises(ValueError, match="unknown checkpoint"):
        ensure("resnet")
    with pytest.raises(TypeError, match="no option base"):
        ensure("tiny", base="x")


def test_real_lenet_quick_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_PROGRESS", "off")
    trained = ensure("lenet-fashion", quick=True)
    assert trained.trained_now and trained.metrics["test_accuracy"] > 0.5
    loaded = ensure("lenet-fashion", quick=True)
    assert not loaded.trained_now
    x = torch.randn(4, 1, 32, 32)
    assert torch.equal(trained.model(x), loaded.model(x))


def test_bert_base_variants_get_their_own_folder(tmp_path):
    base = tmp_path / "bert-base-uncased"
    assert folder_for("bert-pairs", base="minilm") == folder_for("bert-pairs")
    assert folder_for("bert-pairs", base=base).name == "bert-pairs-bert-base-uncased"
    quick_mrpc = folder_for("bert-pairs", quick=True, data="mrpc", base=base)
    assert quick_mrpc.name == "bert-pairs-mrpc-bert-base-uncased-quick"
    assert folder_for("bert-pairs", base=tmp_path / "odd name!").name == "bert-pairs-odd-name"
