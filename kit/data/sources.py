"""Where the real datasets come from, and how they are laid out in the data dir once fetched.

Only ``data_scripts/fetch_data.py`` (on a connected machine) downloads; the chapters read what is
already in the data dir. ``mirror`` replaces the base address of every file, for a local mirror
in a classroom (and for the tests, which serve fixture files on 127.0.0.1).
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kit.data.fetch import FetchError, download
from kit.data.mrpc import read_mrpc, write_mrpc
from kit.files import atomic_path
from kit.paths import data_dir


@dataclass(frozen=True)
class RemoteFile:
    base: str
    path: str
    checksum: str | None  # 'sha256:...' or 'md5:...' as the publisher gives it

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def url(self, mirror: str | None = None) -> str:
        return (mirror.rstrip("/") + "/" if mirror else self.base) + self.path


@dataclass(frozen=True)
class Dataset:
    name: str
    folder: str
    files: tuple[RemoteFile, ...]
    expected: tuple[str, ...]  # files that must exist in the folder once it is ready
    source: str  # who publishes it, and its terms
    unpack: Callable[[Path], None] | None = None

    def path(self, root: Path | None = None) -> Path:
        return (root or data_dir()) / self.folder

    def ready(self, root: Path | None = None) -> bool:
        folder = self.path(root)
        return all((folder / name).is_file() for name in self.expected)


def _unzip_wikitext(folder: Path) -> None:
    """wikitext-2-v1.zip holds wikitext-2/wiki.{train,valid,test}.tokens: move them up, atomically."""
    archive_path = folder / "wikitext-2-v1.zip"
    members = {split: f"wikitext-2/wiki.{split}.tokens" for split in ("train", "valid", "test")}
    with zipfile.ZipFile(archive_path) as archive:
        missing = [member for member in members.values() if member not in archive.namelist()]
        if missing:  # checked before any file is written
            raise FetchError(f"{archive_path} has no {missing[0]}: not the WikiText-2 archive")
        for split, member in members.items():
            with archive.open(member) as source, atomic_path(folder / f"wiki.{split}.tokens") as tmp, \
                    open(tmp, "wb") as out:
                shutil.copyfileobj(source, out)


def _split_mrpc(folder: Path) -> None:
    """Build GLUE's train.tsv / dev.tsv from the MSR training file and GLUE's list of dev ids."""
    dev_ids = set()
    for number, line in enumerate((folder / "mrpc_dev_ids.tsv").read_text(encoding="utf-8-sig").splitlines(), 1):
        fields = line.strip().split("\t")
        if len(fields) != 2:
            raise FetchError(f"mrpc_dev_ids.tsv line {number} should hold two ids, found {line!r}")
        dev_ids.add(tuple(fields))
    pairs = read_mrpc(folder / "msr_paraphrase_train.txt")
    dev = [p for p in pairs if (p.id1, p.id2) in dev_ids]
    train = [p for p in pairs if (p.id1, p.id2) not in dev_ids]
    if len(dev) != len(dev_ids):
        raise FetchError(f"only {len(dev)} of the {len(dev_ids)} MRPC dev ids are in msr_paraphrase_train.txt")
    write_mrpc(folder / "train.tsv", train)
    write_mrpc(folder / "dev.tsv", dev)


_MNIST_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz")



def _idx_dataset(name: str, base: str, md5s: tuple[str, ...], source: str) -> Dataset:
    """The four official .gz files of an MNIST-format dataset, with their published md5s."""
    files = tuple(RemoteFile(base, f, f"md5:{md5}") for f, md5 in zip(_MNIST_NAMES, md5s, strict=True))
    return Dataset(name, name, files, _MNIST_NAMES, source)


DATASETS: dict[str, Dataset] = {
    "wikitext-2": Dataset(
        "wikitext-2",
        "wikitext-2",
        (RemoteFile("https://wikitext.smerity.com/", "wikitext-2-v1.zip",
                    "sha256:92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c"),),
        ("wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"),
        "WikiText-2 (Merity et al., Salesforce), CC BY-SA 3.0",
        _unzip_wikitext,
    ),
    "mrpc": Dataset(
        "mrpc",
        "mrpc",
        (
            RemoteFile("https://dl.fbaipublicfiles.com/senteval/senteval_data/", "msr_paraphrase_train.txt",
                       "md5:793daf7b6224281e75fe61c1f80afe35"),
            RemoteFile("https://dl.fbaipublicfiles.com/senteval/senteval_data/", "msr_paraphrase_test.txt",
                       "md5:e437fdddb92535b820fe8852e2df8a49"),
            # GLUE publishes no checksum for its dev-id list; _split_mrpc checks every id is found.
            RemoteFile("https://dl.fbaipublicfiles.com/glue/data/", "mrpc_dev_ids.tsv", None),
        ),
        ("train.tsv", "dev.tsv", "msr_paraphrase_test.txt"),
        "Microsoft Research Paraphrase Corpus, research use (see the MSR licence)",
        _split_mrpc,
    ),
    "mnist": _idx_dataset(
        "mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/",
        ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
         "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        "MNIST (LeCun, Cortes, Burges), CC BY-SA 3.0",
    ),
    "fashion-mnist": _idx_dataset(
        "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
         "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12e480ee83cd310"),
        "Fashion-MNIST (Zalando Research), MIT",
    ),
}


def fetch_dataset(name: str, *, mirror: str | None = None, root: Path | None = None) -> Path:
    """Download (or resume) every file of a dataset into the data dir and unpack it; returns its folder."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    folder = dataset.path(root)
    for remote in dataset.files:
        download(remote.url(mirror), folder / remote.name, checksum=remote.checksum)
    if dataset.unpack is not None:
        dataset.unpack(folder)
    missing = [n for n in dataset.expected if not (folder / n).is_file()]
    if missing:
        raise FetchError(f"{name}: {', '.join(missing)} missing in {folder} after the download")
    return folder


# The pretrained BERT the PyTorch BERT dynamic quantization tutorial used;
# fetched with huggingface_hub into <data dir>/bert-base-uncased.
BERT_REPO = "google-bert/bert-base-uncased"
BERT_FILES = ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "model.safetensors")


def fetch_hf_model(
    repo_id: str = BERT_REPO,
    *,
    files: tuple[str, ...] = BERT_FILES,
    revision: str = "main",
    endpoint: str | None = None,
    root: Path | None = None,
) -> Path:
    """Download a Hugging Face model's files into <data dir>/<repo name> (huggingface_hub, resumable)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    folder = (root or data_dir()) / repo_id.rsplit("/", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    for filename in files:
        try:
            hf_hub_download(repo_id, filename, revision=revision, local_dir=folder, endpoint=endpoint)
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as error:
            raise FetchError(
                f"could not download {filename} of {repo_id} ({type(error).__name__}: {error}). "
                "Run this on a connected machine (unset HF_HUB_OFFLINE) and copy the folder here."
            ) from None
    return folder
