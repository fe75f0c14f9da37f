"""The small data files shipped in kit/assets, each checked against kit/assets/SHA256SUMS."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from kit.errors import KitError
from kit.files import file_digest, read_sha256sums
from kit.paths import assets_dir

CHECKSUM_FILE = "SHA256SUMS"


class AssetError(KitError, ValueError):
    """A shipped file is missing or does not have its recorded checksum."""


@cache
def recorded_checksums() -> dict[str, str]:
    """Relative path -> sha256, from kit/assets/SHA256SUMS (sha256sum's format)."""
    table = assets_dir() / CHECKSUM_FILE
    if not table.is_file():
        raise AssetError(f"{table} is missing: the kit is installed incompletely; reinstall it (make setup)")
    return read_sha256sums(table)


def verify_asset(path: Path) -> Path:
    """Check one shipped file against its recorded sha256; returns the path."""
    path = Path(path)
    relative = path.resolve().relative_to(assets_dir().resolve()).as_posix()
    expected = recorded_checksums().get(relative)
    if expected is None:
        raise AssetError(f"{relative} is not listed in kit/assets/{CHECKSUM_FILE}")
    if not path.is_file():
        raise AssetError(f"shipped file {path} is missing: restore it with `git checkout -- kit/assets` or reinstall")
    actual = file_digest(path)
    if actual != expected:
        raise AssetError(
            f"shipped file {path} is corrupted (sha256 {actual[:12]}..., expected {expected[:12]}...): "
            "restore it with `git checkout -- kit/assets` or reinstall the kit"
        )
    return path
