"""Rewrite kit/assets/SHA256SUMS from the files under kit/assets (run after building an asset)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kit.files import write_sha256sums  # noqa: E402
from kit.paths import assets_dir  # noqa: E402
from kit.shipped import CHECKSUM_FILE  # noqa: E402

# Documentation beside the data is not checksummed.
UNCHECKED = {CHECKSUM_FILE, "README.md"}


def update_checksums() -> Path:
    root = assets_dir()
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and p.name not in UNCHECKED
             and "__pycache__" not in p.relative_to(root).parts]
    table = root / CHECKSUM_FILE
    sums = write_sha256sums(table, files)
    print(f"{table}: {len(sums)} files")
    return table


if __name__ == "__main__":
    update_checksums()
