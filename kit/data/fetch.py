"""Downloading data files: progress bar, checksum, atomic write, resume after an interruption.

A download goes to ``<name>.part`` beside its destination; only a complete file whose checksum
matches is renamed into place, so a learner never finds a half-written or corrupted file under the
real name. An interrupted download keeps its ``.part`` and the next call resumes it (HTTP Range),
or starts again when the server cannot resume.
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from kit.errors import KitError
from kit.files import file_digest
from kit.progress import byte_bar

CHUNK = 1 << 16


class FetchError(KitError, RuntimeError):
    """A download could not be completed; the message says what to do."""


class ChecksumMismatch(FetchError):
    """The downloaded bytes are not the published ones."""


def parse_checksum(checksum: str) -> tuple[str, str]:
    """'sha256:ab12...' -> ('sha256', 'ab12...'); md5 is accepted where only md5 is published."""
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("sha256", "md5") or not digest:
        raise ValueError(f"checksum must look like 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


def matches(path: Path, checksum: str | None) -> bool:
    """True when the file exists and has the checksum (any existing file when checksum is None)."""
    if not path.is_file():
        return False
    if checksum is None:
        return True
    algorithm, expected = parse_checksum(checksum)
    return file_digest(path, algorithm) == expected


def _offline_error(url: str, reason: object, dest: Path) -> FetchError:
    host = urlsplit(url).netloc
    return FetchError(
        f"could not download {url} ({reason}). This machine cannot reach {host}: run the fetch on a "
        f"connected machine (python data_scripts/fetch_data.py ...) and copy the data folder here, "
        f"or place the file at {dest} yourself. The chapters' embedded data needs no download."
    )


def download(url: str, dest: Path, *, checksum: str | None = None, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` atomically and verify it; returns `dest`.

    Skips the download when `dest` already has the checksum. Resumes a previous partial
    download (``dest.part``) when the server honours Range requests. On a checksum mismatch the
    partial file is deleted and ChecksumMismatch is raised; `dest` is never touched unless the new
    file is complete and verified.
    """
    dest = Path(dest)
    if checksum is not None:
        parse_checksum(checksum)  # reject a malformed checksum before any network traffic
    if matches(dest, checksum):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "compression-kit"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # the partial file is already complete
            return _finish(partial, dest, checksum, url)
        raise FetchError(f"{url} answered HTTP {error.code} {error.reason}: check the address or try later") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise _offline_error(url, getattr(error, "reason", error), dest) from None
    with response:
        if offset and response.status != 206:
            offset = 0  # the server ignored the Range header: start again
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        bar = byte_bar(total, initial=offset, desc=dest.name)
        try:
            with open(partial, "ab" if offset else "wb") as out:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    bar.update(len(block))
        except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError) as error:
            raise FetchError(
                f"the download of {url} was interrupted after {partial.stat().st_size} bytes ({error}); "
                "run the same command again to resume it"
            ) from None
        finally:
            bar.close()
    got = partial.stat().st_size
    if total is not None and got < total:
        raise FetchError(
            f"the download of {url} stopped at {got} of {total} bytes; run the same command again to resume it"
        )
    return _finish(partial, dest, checksum, url)


def _finish(partial: Path, dest: Path, checksum: str | None, url: str) -> Path:
    if checksum is not None:
        algorithm, expected = parse_checksum(checksum)
        actual = file_digest(partial, algorithm)
        if actual != expected:
            partial.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{url} does not have the published {algorithm} ({actual} instead of {expected}); the partial "
                "file was deleted. The server's copy changed or the transfer was corrupted: try again, or "
                "another mirror."
            )
    os.replace(partial, dest)
    return dest
