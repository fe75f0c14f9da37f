"""Images in the IDX format of MNIST / Fashion-MNIST, returned LeNet-ready (1x32x32, normalised).

Three sets: ``fashion-embedded`` (a class-balanced Fashion-MNIST subset shipped in kit/assets,
works offline), and the full ``fashion-mnist`` / ``mnist`` once fetched into the data dir.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from kit.data.sources import DATASETS
from kit.errors import KitError
from kit.files import atomic_path
from kit.paths import assets_dir
from kit.shipped import verify_asset

IMAGE_SETS = ("fashion-embedded", "fashion-mnist", "mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
EMBEDDED_FOLDER = "fashion-mnist-subset"
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"),
               0x0E: np.dtype(">f8")}


class ImageDataError(KitError, ValueError):
    """An image or label file is missing, truncated or not in the IDX format."""


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into a NumPy array, checking its header and length."""
    path = Path(path)
    if not path.is_file():
        raise ImageDataError(f"{path} does not exist")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as error:
            raise ImageDataError(f"{path} is a damaged or truncated gzip file ({error}): fetch it again") from None
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise ImageDataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ImageDataError(f"{path} is truncated inside its header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ImageDataError(
            f"{path} is truncated or padded: its header promises {dims} ({expected} bytes of data), "
            f"the file holds {len(raw) - header}. Fetch it again."
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def check_labels(labels: np.ndarray, classes: int, path: Path) -> None:
    """Raise ImageDataError when a label is not one of the classes 0..classes-1 (a damaged or wrong file)."""
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        raise ImageDataError(
            f"{path}: label {int(labels[bad[0]])} at position {int(bad[0])} (and {bad.size - 1} more) is not one of "
            f"the {classes} classes 0-{classes - 1}: the file is damaged or is not this dataset's labels. "
            "Fetch it again (python data_scripts/fetch_data.py)."
        )


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file (deterministic bytes: no timestamp)."""
    if array.dtype != np.uint8:
        raise ValueError(f"only uint8 arrays are written, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(header + np.ascontiguousarray(array).tobytes())


@dataclass(frozen=True)
class ImageData:
    """Train and test tensors, ready for LeNet: images (N, 1, 32, 32) float32, labels (N,) int64.

    The fit / validation split of the train images is computed once (and the split tensors kept), on first use.
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: tuple[str, ...]
    mean: float
    std: float

    @property
    def validation_size(self) -> int:
        """How many train images are held out for choices: 1,000, or 1/12 of a larger set, the same number from
        every class (rounded down to a multiple of the class count)."""
        per_class = max(1000, len(self.train_labels) // 12) // len(self.classes)
        return per_class * len(self.classes)

    @cached_property
    def _split(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(fit indices, validation indices): the last validation_size / classes train images of each class, in
        file order, are held out; the rest, in file order, are fitted on. The validation split is stratified
        (the same count per class), as the test split of these data sets is, so choices made on it mirror test.
        """
        per_class = self.validation_size // len(self.classes)
        held = torch.zeros(len(self.train_labels), dtype=torch.bool)
        for label in range(len(self.classes)):
            members = torch.nonzero(self.train_labels == label).flatten()
            if len(members) <= per_class:
                raise ImageDataError(f"{self.name}: class {self.classes[label]!r} has {len(members)} train images, "
                                     f"too few to hold out {per_class} for validation")
            held[members[-per_class:]] = True
        return torch.nonzero(~held).flatten(), torch.nonzero(held).flatten()

    @cached_property
    def fit_images(self) -> torch.Tensor:
        """The train images models are fitted on: all but the held-out validation images."""
        return self.train_images[self._split[0]]

    @cached_property
    def fit_labels(self) -> torch.Tensor:
        return self.train_labels[self._split[0]]

    @cached_property
    def valid_images(self) -> torch.Tensor:
        """Held-out train images for choosing (sparsity, amounts, learning rates); the test images are reported
        once. Stratified: every class has the same number."""
        return self.train_images[self._split[1]]

    @cached_property
    def valid_labels(self) -> torch.Tensor:
        return self.train_labels[self._split[1]]

    def class_counts(self, labels: torch.Tensor) -> list[int]:
        """How many of `labels` fall in each class, in class order."""
        return torch.bincount(labels, minlength=len(self.classes)).tolist()

    def __str__(self) -> str:
        valid = self.class_counts(self.valid_labels)
        test = self.class_counts(self.test_labels)
        same = (f"{valid[0]} per class" if len(set(valid)) == 1 else "per class " + "/".join(map(str, valid)))
        test_words = (f"{test[0]} per class" if len(set(test)) == 1 else "per class " + "/".join(map(str, test)))
        return (f"{self.name}: {len(self.fit_labels)} train / {self.validation_size} validation (held out from "
                f"train, {same}) / {len(self.test_labels)} test images ({test_words}), {len(self.classes)} classes")


def image_folder(name: str) -> Path:
    """Folder with the four IDX files of an image set (raises with the fix when it is missing)."""
    if name not in IMAGE_SETS:
        raise ValueError(f"unknown image set {name!r}; choose one of {', '.join(IMAGE_SETS)}")
    if name == "fashion-embedded":
        return assets_dir() / EMBEDDED_FOLDER
    dataset = DATASETS[name]
    if not dataset.ready():
        raise FileNotFoundError(
            f"{name} is not in {dataset.path()}. On a connected machine run "
            f"`python data_scripts/fetch_data.py {name}` (or set KIT_DATA_DIR to a folder that has it), "
            "or use the embedded subset: images='fashion-embedded'."
        )
    return dataset.path()


def to_lenet_input(images: np.ndarray, mean: float, std: float) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float32 (N, 1, 32, 32): scaled to [0, 1], zero-padded by 2, normalised."""
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0).unsqueeze(1)
    x = F.pad(x, (2, 2, 2, 2))
    return (x - mean) / std


def load_images(name: str = "fashion-embedded") -> ImageData:
    """Load an image set, LeNet-ready. The mean/std used for normalising come from its train split."""
    folder = image_folder(name)
    arrays = {}
    for split in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            path = folder / f"{split}-{kind}-ubyte.gz"
            if name == "fashion-embedded":
                verify_asset(path)
            arrays[split, kind] = read_idx(path)
    for split in ("train", "t10k"):
        images, labels = arrays[split, "images-idx3"], arrays[split, "labels-idx1"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ImageDataError(f"{folder}: {split} images {images.shape} and labels {labels.shape} do not match")
    classes = DIGIT_CLASSES if name == "mnist" else FASHION_CLASSES
    for split in ("train", "t10k"):
        check_labels(arrays[split, "labels-idx1"], len(classes), folder / f"{split}-labels-idx1-ubyte.gz")
    train = arrays["train", "images-idx3"]
    padded = np.pad(train, ((0, 0), (2, 2), (2, 2))).astype(np.float32) / 255.0
    mean, std = float(padded.mean()), float(padded.std())
    return ImageData(
        name,
        to_lenet_input(train, mean, std),
        torch.from_numpy(arrays["train", "labels-idx1"].astype(np.int64)),
        to_lenet_input(arrays["t10k", "images-idx3"], mean, std),
        torch.from_numpy(arrays["t10k", "labels-idx1"].astype(np.int64)),
        classes,
        mean,
        std,
    )
