"""Data that is well-formed but wrong is refused: labels outside the classes, edited shipped pairs, and a
checkpoint manifest whose metric was edited by hand."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from kit import checkpoints
from kit.checkpoints import CheckpointCorrupted, ensure, folder_for
from kit.data import images as images_module
from kit.data import pairs as pairs_module
from kit.data.images import ImageDataError, load_images, read_idx, write_idx
from kit.data.sources import DATASETS
from kit.shipped import AssetError, recorded_checksums
from tests.unit.test_checkpoints import TinyRecipe, tiny  # noqa: F401 (fixture)


def fetched_mnist_with_label(tmp_path, monkeypatch, label: int):
    """A well-formed 'fetched' MNIST folder (the shipped subset's files) with one label replaced."""
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    folder = DATASETS["mnist"].path()
    shutil.copytree(images_module.assets_dir() / images_module.EMBEDDED_FOLDER, folder)
    labels_path = folder / "train-labels-idx1-ubyte.gz"
    labels = read_idx(labels_path).copy()
    labels[17] = label
    write_idx(labels_path, labels)
    assert DATASETS["mnist"].ready()
    return labels_path


def test_a_label_outside_the_classes_is_rejected_with_its_position(tmp_path, monkeypatch):
    path = fetched_mnist_with_label(tmp_path, monkeypatch, 255)
    with pytest.raises(ImageDataError, match=rf"{path.name}: label 255 at position 17 .* classes 0-9.*fetch_data"):
        load_images("mnist")


def test_labels_inside_the_classes_load(tmp_path, monkeypatch):
    fetched_mnist_with_label(tmp_path, monkeypatch, 9)
    assert int(load_images("mnist").train_labels[17]) == 9


def test_edited_shipped_verse_pairs_are_refused(tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    shutil.copytree(pairs_module.assets_dir(), assets)
    dev = assets / "verse-pairs" / "dev.tsv"
    lines = dev.read_text(encoding="utf-8").splitlines(keepends=True)
    first = lines[1].split("\t")
    first[0] = "1" if first[0] == "0" else "0"  # a flipped label: still a valid MRPC file
    lines[1] = "\t".join(first)
    dev.write_text("".join(lines), encoding="utf-8")
    pairs_module.read_mrpc(dev)  # well-formed ...
    monkeypatch.setattr(pairs_module, "assets_dir", lambda: assets)
    monkeypatch.setattr("kit.shipped.assets_dir", lambda: assets)
    recorded_checksums.cache_clear()
    try:
        with pytest.raises(AssetError, match=r"dev.tsv is corrupted.*git checkout -- kit/assets"):
            pairs_module.load_pairs("verses", "dev")  # ... but not what was shipped
        assert len(pairs_module.load_pairs("verses", "train")) > 0
    finally:
        recorded_checksums.cache_clear()


def test_a_hand_edited_manifest_metric_is_reported(tiny):  # noqa: F811
    ensure("tiny")
    path = folder_for("tiny") / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["metrics"]["score"] = 0.99
    path.write_text(json.dumps(manifest, indent=1))
    with pytest.raises(CheckpointCorrupted, match=r"does not match its checksum.*metrics cannot be trusted.*--force"):
        ensure("tiny")
    assert checkpoints.status("tiny")[0] == "broken"


def test_an_older_manifest_without_checksum_asks_for_a_retrain(tiny):  # noqa: F811
    ensure("tiny")
    path = folder_for("tiny") / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["checksum"]
    manifest["format"] = 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(checkpoints.CheckpointMismatch, match="older version of the kit.*prepare --force tiny"):
        ensure("tiny")
    assert TinyRecipe.trainings == 1


def test_training_switched_off_names_the_prepare_command(tiny, monkeypatch):  # noqa: F811
    monkeypatch.setenv("KIT_TRAINING", "off")
    with pytest.raises(checkpoints.TrainingDisabled, match=r"python -m kit prepare --quick tiny"):
        ensure("tiny", quick=True)
    assert TinyRecipe.trainings == 0


def test_write_idx_labels_round_trip(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.arange(10, dtype=np.uint8))
    assert read_idx(path).tolist() == list(range(10))
