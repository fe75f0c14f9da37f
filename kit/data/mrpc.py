"""The MRPC file format: tab-separated sentence pairs with MRPC's header and a 0/1 paraphrase label.

The header is ``Quality  #1 ID  #2 ID  #1 String  #2 String`` (``msr_paraphrase_train.txt``, GLUE's
``train.tsv`` / ``dev.tsv``); Quality 1 means "paraphrase". ``kit.data.pairs`` chooses which file to read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kit.errors import KitError
from kit.files import atomic_write

MRPC_COLUMNS = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")


class PairDataError(KitError, ValueError):
    """A sentence-pair file is missing or not in the MRPC format."""


@dataclass(frozen=True)
class SentencePair:
    label: int
    id1: str
    id2: str
    text1: str
    text2: str


def read_mrpc(path: Path) -> list[SentencePair]:
    """Read an MRPC-format TSV, checking the header and every row (errors name the file and line)."""
    path = Path(path)
    if not path.is_file():
        raise PairDataError(f"{path} does not exist")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if not lines:
        raise PairDataError(f"{path} is empty")
    header = tuple(lines[0].split("\t"))
    if header != MRPC_COLUMNS:
        missing = [c for c in MRPC_COLUMNS if c not in header]
        raise PairDataError(
            f"{path}: the header should be {' | '.join(MRPC_COLUMNS)}"
            + (f"; missing column(s): {', '.join(missing)}" if missing else f", found {' | '.join(header)}")
        )
    pairs = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(MRPC_COLUMNS):
            raise PairDataError(f"{path} line {number}: expected {len(MRPC_COLUMNS)} tab-separated columns, "
                                f"found {len(fields)}")
        if fields[0] not in ("0", "1"):
            raise PairDataError(f"{path} line {number}: Quality must be 0 or 1, found {fields[0]!r}")
        pairs.append(SentencePair(int(fields[0]), fields[1], fields[2], fields[3], fields[4]))
    if not pairs:
        raise PairDataError(f"{path} has a header but no pairs")
    return pairs


def write_mrpc(path: Path, pairs: Iterable[SentencePair]) -> None:
    """Write pairs in the MRPC format, atomically."""
    path = Path(path)
    rows = ["\t".join(MRPC_COLUMNS)]
    for p in pairs:
        for text in (p.text1, p.text2):
            if "\t" in text or "\n" in text:
                raise ValueError(f"pair {p.id1}/{p.id2}: sentences may not contain tabs or newlines")
        rows.append("\t".join((str(p.label), p.id1, p.id2, p.text1, p.text2)))
    atomic_write(path, "\n".join(rows) + "\n", encoding="utf-8")
