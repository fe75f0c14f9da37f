"""Sentence pairs in the MRPC format: the embedded verse-paraphrase set, or real GLUE MRPC.

Both are tab-separated files with MRPC's header (the format, its reader and writer: ``kit.data.mrpc``,
re-exported here).
"""

from __future__ import annotations

from pathlib import Path

from kit.data.mrpc import MRPC_COLUMNS, PairDataError, SentencePair, read_mrpc, write_mrpc
from kit.data.sources import DATASETS
from kit.paths import assets_dir
from kit.shipped import verify_asset

__all__ = ["MRPC_COLUMNS", "PAIR_SETS", "SPLITS", "PairDataError", "SentencePair", "checked_pair_file", "load_pairs",
           "pair_file", "positive_rate", "read_mrpc", "write_mrpc"]

SPLITS = ("train", "dev", "test")
PAIR_SETS = ("verses", "mrpc")


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
