"""Downloads against fixture files served on 127.0.0.1: checksums, atomic writes, resume, offline errors."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import socket
import zipfile

import numpy as np
import pytest

from kit.data import sources
from kit.data.fetch import ChecksumMismatch, FetchError, download, parse_checksum
from kit.data.images import load_images, write_idx
from kit.data.pairs import MRPC_COLUMNS, load_pairs
from tests.fixture_server import FixtureServer

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, several read chunks


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    (root / "blob.bin").write_bytes(PAYLOAD)
    with FixtureServer(root) as server:
        yield server, root


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_download_verifies_and_writes(served, tmp_path):
    server, _ = served
    dest = download(server.url + "blob.bin", tmp_path / "out" / "blob.bin", checksum=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("blob.bin.part").exists()


def test_present_file_is_not_downloaded_again(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    dest.write_bytes(PAYLOAD)
    download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    assert server.behaviour.requests == []


def test_wrong_checksum_is_rejected_and_nothing_is_left(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    with pytest.raises(ChecksumMismatch, match="published sha256"):
        download(server.url + "blob.bin", dest, checksum=sha(b"something else"))
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "served"], "no half-written file may remain"


def test_wrong_checksum_never_replaces_a_good_file(served, tmp_path):
    server, root = served
    dest = tmp_path / "blob.bin"
    dest.write_bytes(b"the learner's copy")
    (root / "blob.bin").write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatch):
        download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    assert dest.read_bytes() == b"the learner's copy"


def test_interrupted_download_resumes_with_a_range_request(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    server.behaviour.cut_after = 300_000
    with pytest.raises(FetchError, match="run the same command again"):
        download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    partial = dest.with_name("blob.bin.part")
    assert not dest.exists() and partial.exists() and 0 < partial.stat().st_size < len(PAYLOAD)
    kept = partial.stat().st_size
    download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and not partial.exists()
    assert server.behaviour.requests[-1][2] == f"bytes={kept}-"


def test_server_without_range_support_restarts_from_zero(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(PAYLOAD[:1000])
    server.behaviour.honour_range = False
    download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_complete_partial_file_is_finished_without_a_body(served, tmp_path):
    server, _ = served
    dest = tmp_path / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(PAYLOAD)
    download(server.url + "blob.bin", dest, checksum=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_offline_error_names_the_fix(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(FetchError, match="connected machine"):
        download(f"http://127.0.0.1:{port}/x.zip", tmp_path / "x.zip", checksum=None, timeout=5)


def test_missing_file_reports_http_status(served, tmp_path):
    server, _ = served
    with pytest.raises(FetchError, match="HTTP 404"):
        download(server.url + "nope.bin", tmp_path / "nope.bin")


@pytest.mark.parametrize("bad", ["abc", "sha1:00", "sha256:"])
def test_malformed_checksum_is_rejected(bad):
    with pytest.raises(ValueError, match="checksum"):
        parse_checksum(bad)


# --- whole datasets, in the official layouts --------------------------------------------------
def _with_fixture_checksums(name: str, root) -> sources.Dataset:
    dataset = sources.DATASETS[name]
    files = tuple(
        dataclasses.replace(f, checksum="sha256:" + hashlib.sha256((root / f.path).read_bytes()).hexdigest())
        for f in dataset.files
    )
    return dataclasses.replace(dataset, files=files)


def test_fetch_fashion_mnist_layout(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        write_idx(served / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(served / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    monkeypatch.setitem(sources.DATASETS, "fashion-mnist", _with_fixture_checksums("fashion-mnist", served))
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "data"))
    with FixtureServer(served) as server:
        sources.fetch_dataset("fashion-mnist", mirror=server.url)
    images = load_images("fashion-mnist")
    assert images.train_images.shape == (40, 1, 32, 32) and images.test_labels.shape == (20,)


def test_fetch_wikitext_unpacks_the_official_zip(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for split in ("train", "valid", "test"):
            archive.writestr(f"wikitext-2/wiki.{split}.tokens", f" = Title = \n\n the {split} text . \n")
    (served / "wikitext-2-v1.zip").write_bytes(buffer.getvalue())
    monkeypatch.setitem(sources.DATASETS, "wikitext-2", _with_fixture_checksums("wikitext-2", served))
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "data"))
    with FixtureServer(served) as server:
        folder = sources.fetch_dataset("wikitext-2", mirror=server.url)
    assert (folder / "wiki.valid.tokens").read_text().strip().endswith("valid text .")
    from kit.data.corpus import load_corpus

    corpus = load_corpus("wikitext-2")
    assert corpus.dictionary.idx2word[:4] == ["=", "Title", "<eos>", "the"]


def test_fetch_mrpc_builds_glue_train_and_dev(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    header = "\t".join(MRPC_COLUMNS)
    rows = [f"{i % 2}\t{i}\t{i + 100}\tsentence {i} .\tphrase {i} ." for i in range(10)]
    (served / "msr_paraphrase_train.txt").write_text("\ufeff" + "\n".join([header, *rows]) + "\n")
    (served / "msr_paraphrase_test.txt").write_text("\n".join([header, *rows[:3]]) + "\n")
    (served / "mrpc_dev_ids.tsv").write_text("2\t102\n5\t105\n")
    monkeypatch.setitem(sources.DATASETS, "mrpc", _with_fixture_checksums("mrpc", served))
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "data"))
    with FixtureServer(served) as server:
        sources.fetch_dataset("mrpc", mirror=server.url)
    assert [p.id1 for p in load_pairs("mrpc", "dev")] == ["2", "5"]
    assert len(load_pairs("mrpc", "train")) == 8 and len(load_pairs("mrpc", "test")) == 3


def test_fetch_bert_through_huggingface_hub(tmp_path, monkeypatch):
    served = tmp_path / "served" / "google-bert" / "bert-base-uncased" / "resolve" / "main"
    served.mkdir(parents=True)
    for name in sources.BERT_FILES:
        (served / name).write_bytes(f"fixture {name}".encode())
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with FixtureServer(tmp_path / "served") as server:
        folder = sources.fetch_hf_model(endpoint=server.url.rstrip("/"), root=tmp_path / "data")
    assert (folder / "config.json").read_bytes() == b"fixture config.json"
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(sources.BERT_FILES)


def test_fetch_script_reports_offline_failure(tmp_path, capsys):
    from data_scripts.fetch_data import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["mnist", "--mirror", f"http://127.0.0.1:{port}/", "--data-dir", str(tmp_path)]) == 1
    assert "connected machine" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*.gz"))


def test_gzip_fixture_helper_is_deterministic(tmp_path):
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    write_idx(a, np.zeros((2, 2), dtype=np.uint8))
    write_idx(b, np.zeros((2, 2), dtype=np.uint8))
    assert a.read_bytes() == b.read_bytes() and gzip.decompress(a.read_bytes())[:4] == b"\x00\x00\x08\x02"
