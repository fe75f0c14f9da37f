"""Rewrite kit/assets/SHA256SUMS from the files under kit/assets (run after building an asset)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kit.paths import assets_dir  # noqa: E402
from kit.shipped import CHECKSUM_FILE  # noqa: E402

# Documentation beside the data is not checksummed.
UNCHECKED = {CHECKSUM_FILE, "README.md"}


def update_checksums() -> Path:
    root = assets_dir()
    lines = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        if path.name in UNCHECKED or "__pycache__" in relative:
            continue
        lines.append(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {relative}")
    table = root / CHECKSUM_FILE
    tmp = table.with_name(table.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, table)
    print(f"{table}: {len(lines)} files")
    return table


if __name__ == "__main__":
    update_checksums()
