"""kit.files: a file is replaced whole or not at all; digests and sha256sum lists agree with hashlib."""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from kit.files import atomic_path, atomic_write, file_digest, read_sha256sums, write_sha256sums


def test_atomic_write_writes_text_and_bytes(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo\n") == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    atomic_write(tmp_path / "a.txt", b"\x00\x01")
    assert (tmp_path / "a.txt").read_bytes() == b"\x00\x01"
    assert os.listdir(tmp_path) == ["a.txt"], "no temporary file is left beside the target"


def test_a_failure_leaves_neither_a_partial_target_nor_a_temporary_file(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(tmp_path / "new.bin") as tmp:
        tmp.write_bytes(b"half of it")
        raise RuntimeError("disk full")
    assert os.listdir(tmp_path) == []


def test_a_failure_leaves_an_existing_target_untouched(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("the old figures")
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".results.json.") and tmp != target
        tmp.write_text("the new fig")
        raise KeyboardInterrupt
    assert target.read_text() == "the old figures" and os.listdir(tmp_path) == ["results.json"]


def test_a_block_that_writes_nothing_changes_nothing(tmp_path):
    target = tmp_path / "kept"
    target.write_text("as it was")
    with pytest.raises(FileNotFoundError), atomic_path(target):
        pass
    assert target.read_text() == "as it was"


def test_the_written_file_has_the_usual_permissions(tmp_path):
    plain = tmp_path / "plain"
    plain.write_text("x")
    atomic_write(tmp_path / "atomic", "x")
    assert (tmp_path / "atomic").stat().st_mode == plain.stat().st_mode


def test_file_digest_equals_hashlibs(tmp_path):
    path = tmp_path / "blob"
    data = os.urandom(3 * (1 << 20) + 17)   # more than one chunk
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
    assert file_digest(path, "md5") == hashlib.md5(data).hexdigest()


def test_a_sha256sum_list_round_trips_and_sha256sum_accepts_it(tmp_path):
    (tmp_path / "sub").mkdir()
    files = [tmp_path / "a b.txt", tmp_path / "sub" / "c.bin"]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 10)
    written = write_sha256sums(tmp_path / "SHA256SUMS", files)
    assert written == {"a b.txt": hashlib.sha256(b"\x00" * 10).hexdigest(),
                       "sub/c.bin": hashlib.sha256(b"\x01" * 10).hexdigest()}
    assert read_sha256sums(tmp_path / "SHA256SUMS") == written
    assert (tmp_path / "SHA256SUMS").read_text().splitlines()[0] == f"{written['a b.txt']}  a b.txt"
    check = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=tmp_path, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_binary_mode_marker_and_blank_lines_are_read(tmp_path):
    (tmp_path / "SUMS").write_text("ab12 *wheel.whl\n\ncd34  data/x.tsv\n")
    assert read_sha256sums(tmp_path / "SUMS") == {"wheel.whl": "ab12", "data/x.tsv": "cd34"}
