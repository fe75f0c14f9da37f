import pytest
import torch

from kit.data.corpus import (
    EOS,
    UNK,
    Corpus,
    CorpusError,
    batchify,
    cap_vocabulary,
    get_batch,
    load_corpus,
    wikitext_tokens,
)


def test_corpus_contract():
    corpus = Corpus({"train": ["a b", "b c"], "valid": ["a"], "test": ["c a"]})
    words = corpus.dictionary.idx2word
    assert words == ["a", "b", EOS, "c"]
    assert [words[i] for i in corpus.train] == ["a", "b", EOS, "b", "c", EOS]
    assert corpus.dictionary.word2idx["c"] == 3 and len(corpus.dictionary) == 4
    assert corpus.test.dtype == torch.int64


def test_batchify_and_get_batch_follow_the_seed():
    data = torch.arange(26)
    batched = batchify(data, 4)
    assert batched.shape == (6, 4) and batched[:, 1].tolist() == [6, 7, 8, 9, 10, 11]
    inputs, targets = get_batch(batched, 0, 3)
    assert inputs.shape == (3, 4) and torch.equal(targets, batched[1:4].reshape(-1))
    inputs, targets = get_batch(batched, 3, 5)  # shorter at the end
    assert inputs.shape == (2, 4)
    with pytest.raises(ValueError, match="batch_size"):
        batchify(data, 0)


def test_wikitext_style_tokens():
    tokens = wikitext_tokens("Profits rose 2% to $1,000.5bn at high-speed; it's Warner’s, don't")
    assert tokens == ["profits", "rose", "2", "%", "to", "$", "1", "@,@", "000", "@.@", "5bn", "at", "high", "@-@",
                      "speed", ";", "it", "'s", "warner", "'s", ",", "do", "n't"]


def test_vocabulary_cap_keeps_the_most_frequent():
    capped = cap_vocabulary({"train": ["a a a b b c"], "valid": ["c d"], "test": ["a"]}, size=4)
    assert capped["train"] == ["a a a b b " + UNK] and capped["valid"] == [f"{UNK} {UNK}"]


def test_bbc_default_corpus():
    corpus = load_corpus("bbc")
    assert len(corpus.dictionary) == 10_000
    assert 700_000 < len(corpus.train) < 900_000 and len(corpus.valid) > 80_000 and len(corpus.test) > 80_000
    assert corpus.fingerprint() == load_corpus("bbc").fingerprint(), "the split is deterministic"
    assert corpus.dictionary.idx2word[:3] == ["=", "ad", "sales"] or EOS in corpus.dictionary.word2idx


def test_missing_wikitext_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fetch_data.py wikitext-2"):
        load_corpus("wikitext-2")
    with pytest.raises(ValueError, match="choose one of"):
        load_corpus("ptb")


def test_empty_split_is_an_error():
    with pytest.raises(CorpusError, match="empty"):
        Corpus({"train": ["a"], "valid": [], "test": ["a"]})


def test_sentences_split_at_eos_cut_and_checked():
    import pytest
    import torch

    from kit.data.corpus import sentences

    tokens = torch.tensor([5, 6, 7, 0, 8, 0, 9, 9, 9, 9, 9, 0])
    lines = sentences(tokens, 0, 3, max_length=4, seed=1)
    assert sorted(len(s) for s in lines) == [1, 3, 4] and all((s != 0).all() for s in lines)
    assert [s.tolist() for s in sentences(tokens, 0, 3, max_length=4, seed=1)] == [s.tolist() for s in lines]
    assert len(sentences(tokens, 0, 2, max_length=9, min_length=3)) == 2
    with pytest.raises(ValueError, match="count must be at least 1"):
        sentences(tokens, 0, 0, max_length=4)
    with pytest.raises(ValueError, match="min_length <= max_length"):
        sentences(tokens, 0, 1, max_length=2, min_length=3)
    with pytest.raises(ValueError, match=r"no <eos> \(id 42\)"):
        sentences(tokens, 42, 1, max_length=4)
    with pytest.raises(ValueError, match="only 2 lines have at least 3 tokens"):
        sentences(tokens, 0, 3, max_length=9, min_length=3)
