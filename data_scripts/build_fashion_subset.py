"""Build the embedded Fashion-MNIST subset shipped in kit/assets/fashion-mnist-subset.

Source: Debian's `dataset-fashion-mnist` (installed here with apt when missing and run as root),
or a folder holding the four official .gz files (--source). The subset is class-balanced and
deterministic: the first N images of each class in file order. Checksums go to kit/assets/SHA256SUMS.

    python data_scripts/build_fashion_subset.py [--train-per-class 1000] [--test-per-class 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_scripts.asset_checksums import update_checksums  # noqa: E402
from kit.data.images import EMBEDDED_FOLDER, read_idx, write_idx  # noqa: E402
from kit.paths import assets_dir  # noqa: E402

DEBIAN_FOLDER = Path("/usr/share/datasets/fashion-mnist")


def ensure_debian_package() -> Path:
    """The Debian dataset folder, installing the package when apt is there and we are root."""
    if not DEBIAN_FOLDER.is_dir() and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], check=True)
    if not DEBIAN_FOLDER.is_dir():
        sys.exit(f"{DEBIAN_FOLDER} not found: `sudo apt-get install dataset-fashion-mnist`, or pass --source DIR")
    return DEBIAN_FOLDER


def balanced_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first `per_class` indices of every class, in file order."""
    chosen = []
    for c in np.unique(labels):
        found = np.flatnonzero(labels == c)
        if len(found) < per_class:
            raise ValueError(f"class {c} has only {len(found)} examples, {per_class} requested")
        chosen.append(found[:per_class])
    return np.sort(np.concatenate(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="folder with the four Fashion-MNIST .gz files")
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=200)
    args = parser.parse_args()
    source = args.source or ensure_debian_package()
    out = assets_dir() / EMBEDDED_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", args.train_per_class), ("t10k", args.test_per_class)):
        images = read_idx(source / f"{split}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{split}-labels-idx1-ubyte.gz")
        keep = balanced_indices(labels, per_class)
        write_idx(out / f"{split}-images-idx3-ubyte.gz", images[keep])
        write_idx(out / f"{split}-labels-idx1-ubyte.gz", labels[keep])
        print(f"{split}: {len(keep)} images ({per_class} per class)")
    update_checksums()


if __name__ == "__main__":
    main()
