"""Sentence pairs in the MRPC format: the embedded verse-paraphrase set, or real GLUE MRPC.

Both are tab-separated files with MRPC's header ``Quality  #1 ID  #2 ID  #1 String  #2 String``
(``msr_paraphrase_train.txt``, GLUE's ``train.tsv`` / ``dev.tsv``). Quality 1 means "paraphrase".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kit.data.sources import DATASETS
from kit.errors import KitError
from kit.files import atomic_write
from kit.paths import assets_dir
from kit.shipped import verify_asset

MRPC_COLUMNS = ("Quality", "#1 ID", "#2 ID", "#1 String", "#2 String")
SPLITS = ("train", "dev", "test")
PAIR_SETS = ("verses", "mrpc")


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


def pair_file(name: str = "verses", split: str = "train") -> Path:
    """The file holding one split of a pair set (embedded verses, or MRPC in the data dir)."""
    if name not in PAIR_SETS:
        raise ValueError(f"unknown pair set {name!r}; choose one of {', '.join(PAIR_SETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if name == "verses":
        return assets_dir() / "verse-pairs" / f"{split}.tsv"
    mrpc = DATASETS["mrpc"]
    folder = mrpc.path()
    if not mrpc.ready():
        raise FileNotFoundError(
            f"GLUE MRPC is not in {folder}. On a connected machine run `python data_scripts/fetch_data.py mrpc` "
            f"(or set KIT_DATA_DIR to a folder that has it), or use the embedded set: pairs='verses'."
        )
    return folder / ("msr_paraphrase_test.txt" if split == "test" else f"{split}.tsv")


def load_pairs(name: str = "verses", split: str = "train") -> list[SentencePair]:
    """One split of a sentence-pair set: 'verses' (embedded, offline) or 'mrpc' (fetched GLUE MRPC).

    The shipped verse pairs are checked against kit/assets/SHA256SUMS first (AssetError names the fix).
    """
    return read_mrpc(checked_pair_file(name, split))


def checked_pair_file(name: str = "verses", split: str = "train") -> Path:
    """pair_file, with a shipped (verses) file verified against its recorded checksum."""
    path = pair_file(name, split)
    return verify_asset(path) if name == "verses" else path


def positive_rate(pairs: list[SentencePair]) -> float:
    """Share of pairs labelled as paraphrases."""
    return sum(p.label for p in pairs) / len(pairs)
