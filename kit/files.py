"""Files written whole or not at all, and checked by their digest.

``atomic_path`` hands out a temporary path beside the target and renames it into place only when the
block succeeds, so a reader never finds a half-written file under the real name, and a failure leaves the
old file (if any) as it was and no temporary file behind. ``file_digest`` hashes a file of any size;
``read_sha256sums`` / ``write_sha256sums`` read and write ``sha256sum``'s list format
(``<hex>  <relative path>`` per line), which ``sha256sum -c`` checks.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

CHUNK = 1 << 20


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in `path`'s folder; on success it replaces `path`, on failure it is removed.

    The temporary name is hidden and unique (``.<name>.<pid>.<random>.tmp``), so concurrent writers do not
    collide; the file gets the usual permissions (umask), unlike tempfile.mkstemp's owner-only ones.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write `data` (text is encoded with `encoding`) to `path` atomically; returns the path."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (any algorithm hashlib knows), read in chunks of 1 MiB."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_sha256sums(table: str | os.PathLike) -> dict[str, str]:
    """Relative path -> sha256 from a ``sha256sum`` list (text or binary mode ``*name``; blank lines skipped)."""
    out = {}
    for line in Path(table).read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.lstrip("*")] = digest
    return out


def write_sha256sums(table: str | os.PathLike, files: Iterable[str | os.PathLike]) -> dict[str, str]:
    """Write the sha256 of each file, named relative to the table's folder, atomically; returns what it wrote."""
    table = Path(table)
    sums = {Path(f).relative_to(table.parent).as_posix(): file_digest(f) for f in files}
    atomic_write(table, "".join(f"{digest}  {name}\n" for name, digest in sums.items()))
    return sums
