"""Read the verses of a SWORD zText Bible module (as Debian's sword-text-* packages install them).

Layout of one testament (``ot`` or ``nt``):
- ``.bzs``: 12-byte little-endian records (offset, compressed size, uncompressed size) of zlib
  blocks stored in ``.bzz``;
- ``.bzv``: 10-byte records (block, start, size), one per verse slot, in versification order;
  the slots before a chapter's first verse hold headings (the chapter heading carries
  ``<chapter osisID="Book.N"/>``), so verse numbers are counted from those markers rather than
  from a versification table; this keeps two modules with different versifications aligned by
  book/chapter/verse.
Verse text is OSIS markup: footnotes and titles are dropped, the rest reduced to plain text.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

MODULES = Path("/usr/share/sword/modules/texts/ztext")
_CHAPTER = re.compile(r'<chapter\b[^>]*\bosisID="([^".]+)\.(\d+)"[^>]*\bsID=')
_BOOK_START = re.compile(r'<div\b(?=[^>]*\btype="book")(?=[^>]*\bsID=)[^>]*>')
_DROP = re.compile(r"<(note|title)\b[^>]*?(?<!/)>.*?</\1>", re.DOTALL)
_BREAK = re.compile(r"</?(?:l|lg|div|p|milestone|lb|chapter|verse)\b[^>]*>")  # separate what they split
_TAG = re.compile(r"<[^>]+>")  # inline markup (words, added words, names): glued to its neighbours

Key = tuple[str, int, int]  # (OSIS book, chapter, verse)


class SwordFormatError(ValueError):
    """The module files are not a zText module we can read."""


def read_slots(folder: Path, testament: str) -> list[str]:
    """The raw text of every verse slot of one testament ('' for empty slots)."""
    try:
        blocks_raw = (folder / f"{testament}.bzs").read_bytes()
        slots_raw = (folder / f"{testament}.bzv").read_bytes()
        data = (folder / f"{testament}.bzz").read_bytes()
    except FileNotFoundError as error:
        raise SwordFormatError(f"{error.filename} missing: is {folder} a zText module?") from None
    if len(blocks_raw) % 12 or len(slots_raw) % 10:
        raise SwordFormatError(f"{folder}: index sizes are not multiples of 12 / 10 bytes")
    blocks = [struct.unpack_from("<III", blocks_raw, i) for i in range(0, len(blocks_raw), 12)]
    cache: dict[int, bytes] = {}
    texts = []
    for i in range(0, len(slots_raw), 10):
        block, start, size = struct.unpack_from("<IIH", slots_raw, i)
        if size == 0:
            texts.append("")
            continue
        if block not in cache:
            if block >= len(blocks):
                raise SwordFormatError(f"{folder}: slot {i // 10} points to missing block {block}")
            offset, length, _ = blocks[block]
            cache[block] = zlib.decompress(data[offset : offset + length])
        texts.append(cache[block][start : start + size].decode("utf-8", errors="replace"))
    return texts


def plain_text(markup: str) -> str:
    """OSIS verse markup -> plain text (footnotes and titles removed, paragraph marks dropped)."""
    text = _DROP.sub(" ", markup)
    text = _BREAK.sub(" ", text)
    text = _TAG.sub("", text)
    text = html.unescape(text).replace("\u00b6", " ")
    text = re.sub(r"\s+([,.;:!?\u2019\u201d)\]])", r"\1", text)
    text = re.sub(r"([\u2018\u201c(\[])\s+", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def verses(folder: Path) -> Iterator[tuple[Key, str]]:
    """(book, chapter, verse) and plain text of every non-empty verse of a module, both testaments."""
    for testament in ("ot", "nt"):
        if not (folder / f"{testament}.bzv").exists():
            continue
        book, chapter, verse = None, 0, 0
        for raw in read_slots(folder, testament):
            marker = _CHAPTER.search(raw)
            if marker:
                book, chapter, verse = marker.group(1), int(marker.group(2)), 0
                continue
            if _BOOK_START.search(raw):
                book = None  # a book heading: its introduction is not a verse
                continue
            if book is None:
                continue  # module, testament and book introductions before the first chapter
            verse += 1
            text = plain_text(raw)
            if text:
                yield (book, chapter, verse), text


def module_verses(name: str, root: Path = MODULES) -> dict[Key, str]:
    """All verses of an installed module, e.g. 'engKJV2006eb' or 'engWEB2015eb'."""
    folder = root / name
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: sudo apt-get install sword-text-kjv sword-text-web")
    return dict(verses(folder))
