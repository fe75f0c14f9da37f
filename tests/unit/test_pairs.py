import pytest

from kit.data.pairs import MRPC_COLUMNS, PairDataError, SentencePair, load_pairs, positive_rate, read_mrpc, write_mrpc

HEADER = "\t".join(MRPC_COLUMNS)


def test_round_trip(tmp_path):
    pairs = [SentencePair(1, "1", "2", "a b", "b a"), SentencePair(0, "3", "4", "c", "d")]
    write_mrpc(tmp_path / "x.tsv", pairs)
    assert read_mrpc(tmp_path / "x.tsv") == pairs


def test_missing_column_is_named(tmp_path):
    (tmp_path / "x.tsv").write_text("Quality\t#1 ID\t#2 ID\t#1 String\n1\t1\t2\ta\n")
    with pytest.raises(PairDataError, match=r"missing column\(s\): #2 String"):
        read_mrpc(tmp_path / "x.tsv")


def test_short_row_names_the_line(tmp_path):
    (tmp_path / "x.tsv").write_text(f"{HEADER}\n1\t1\t2\ta\tb\n0\t3\t4\tonly one sentence\n")
    with pytest.raises(PairDataError, match="line 3: expected 5 tab-separated columns, found 4"):
        read_mrpc(tmp_path / "x.tsv")


def test_bad_label(tmp_path):
    (tmp_path / "x.tsv").write_text(f"{HEADER}\nyes\t1\t2\ta\tb\n")
    with pytest.raises(PairDataError, match="Quality must be 0 or 1"):
        read_mrpc(tmp_path / "x.tsv")


def test_embedded_verse_pairs_are_mrpc_sized():
    sizes = {split: len(load_pairs("verses", split)) for split in ("train", "dev", "test")}
    assert sizes == {"train": 3668, "dev": 408, "test": 1725}
    for split in ("train", "dev"):
        assert 0.66 < positive_rate(load_pairs("verses", split)) < 0.69


def test_embedded_splits_share_no_sentence():
    seen = {split: {t for p in load_pairs("verses", split) for t in (p.text1, p.text2)} for split in ("train", "dev")}
    assert not seen["train"] & seen["dev"]


def test_mrpc_missing_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fetch_data.py mrpc"):
        load_pairs("mrpc", "train")
    with pytest.raises(ValueError, match="unknown split"):
        load_pairs("verses", "validation")
