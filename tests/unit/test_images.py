import gzip
import shutil

import numpy as np
import pytest
import torch

from kit.data import images as images_module
from kit.data.images import FASHION_CLASSES, ImageDataError, load_images, read_idx, write_idx
from kit.shipped import AssetError


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "raw").write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes()))
    assert np.array_equal(read_idx(tmp_path / "raw"), array), "uncompressed IDX files are read too"


def test_truncated_gzip_names_the_fix(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((50, 28, 28), dtype=np.uint8))
    data = (tmp_path / "a.gz").read_bytes()
    (tmp_path / "a.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDataError, match="truncated"):
        read_idx(tmp_path / "a.gz")


def test_truncated_idx_body_is_reported(tmp_path):
    write_idx(tmp_path / "a.gz", np.zeros((5, 28, 28), dtype=np.uint8))
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "b").write_bytes(raw[:-100])
    with pytest.raises(ImageDataError, match=r"truncated or padded.*Fetch it again"):
        read_idx(tmp_path / "b")


def test_not_an_idx_file(tmp_path):
    (tmp_path / "c").write_bytes(b"PK\x03\x04 a zip, not IDX")
    with pytest.raises(ImageDataError, match="not an IDX file"):
        read_idx(tmp_path / "c")


def test_missing_file(tmp_path):
    with pytest.raises(ImageDataError, match="does not exist"):
        read_idx(tmp_path / "nothing.gz")


def test_embedded_subset_is_lenet_ready_and_balanced():
    data = load_images("fashion-embedded")
    assert data.train_images.shape == (10_000, 1, 32, 32) and data.test_images.shape == (2_000, 1, 32, 32)
    assert data.train_images.dtype == torch.float32 and data.train_labels.dtype == torch.int64
    assert torch.bincount(data.train_labels).tolist() == [1000] * 10
    assert torch.bincount(data.test_labels).tolist() == [200] * 10
    assert data.classes == FASHION_CLASSES
    assert abs(data.train_images.mean().item()) < 1e-4 and abs(data.train_images.std().item() - 1) < 1e-3
    border = data.train_images[:, :, :2, :]
    assert torch.allclose(border, torch.full_like(border, -data.mean / data.std)), "padding is zero before normalising"


def test_full_sets_missing_give_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="data_scripts/fetch_data.py mnist"):
        load_images("mnist")
    with pytest.raises(ValueError, match="choose one of"):
        load_images("cifar")


def test_corrupted_asset_is_detected(tmp_path, monkeypatch):
    assets = tmp_path / "assets"
    shutil.copytree(images_module.assets_dir(), assets)
    target = assets / "fashion-mnist-subset" / "t10k-labels-idx1-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setattr(images_module, "assets_dir", lambda: assets)
    monkeypatch.setattr("kit.shipped.assets_dir", lambda: assets)
    from kit.shipped import recorded_checksums

    recorded_checksums.cache_clear()
    try:
        with pytest.raises(AssetError, match="corrupted"):
            load_images("fashion-embedded")
    finally:
        recorded_checksums.cache_clear()


def test_validation_images_are_held_out_from_the_fitting_split_with_the_same_count_per_class():
    from kit.data.images import load_images

    data = load_images("fashion-embedded")
    n = data.validation_size
    assert len(data.fit_labels) + n == len(data.train_labels)
    per_class = n // len(data.classes)
    assert data.class_counts(data.valid_labels) == [per_class] * len(data.classes)   # stratified, as test is
    assert len(set(data.class_counts(data.test_labels))) == 1
    fit, valid = data._split
    assert set(fit.tolist()).isdisjoint(valid.tolist()) and len(fit) + len(valid) == len(data.train_labels)
    assert torch.equal(data.valid_images, data.train_images[valid]) and torch.equal(data.fit_labels,
                                                                                    data.train_labels[fit])
    for label in range(len(data.classes)):   # the last per_class images of each class, in file order
        members = torch.nonzero(data.train_labels == label).flatten()
        assert members[-per_class:].tolist() == [i for i in valid.tolist() if data.train_labels[i] == label]
    assert "100 per class" in str(data) and "200 per class" in str(data)
