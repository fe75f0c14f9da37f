"""The data shipped in kit/assets: complete checksum list, every file intact, small, licensed in the READMEs."""

from pathlib import Path

from kit.paths import assets_dir
from kit.shipped import CHECKSUM_FILE, recorded_checksums, verify_asset

ROOT = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 15 * 1024 * 1024


def shipped_files():
    return sorted(p for p in assets_dir().rglob("*") if p.is_file() and p.name not in (CHECKSUM_FILE, "README.md"))


def test_every_shipped_file_is_listed_and_intact():
    listed = set(recorded_checksums())
    on_disk = {p.relative_to(assets_dir()).as_posix() for p in shipped_files()}
    assert listed == on_disk, "run `python data_scripts/asset_checksums.py` after changing kit/assets"
    for path in shipped_files():
        verify_asset(path)


def test_assets_stay_small():
    total = sum(p.stat().st_size for p in shipped_files())
    assert total <= LIMIT_BYTES, f"kit/assets holds {total / 2**20:.1f} MiB, the limit is 15 MiB"


def test_licences_are_stated():
    notes = (assets_dir() / "README.md").read_text() + (ROOT / "README.md").read_text()
    for folder in {p.relative_to(assets_dir()).parts[0] for p in shipped_files()}:
        assert f"`{folder}/`" in notes, f"kit/assets/README.md does not describe {folder}/"
    for licence in ("MIT", "public domain"):
        assert licence in notes
