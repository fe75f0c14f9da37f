import math

import pytest
import torch
from torch import nn

from kit.data.pairs import SentencePair
from kit.models.lstm_lm import LSTMModel
from kit.train.batches import LengthBucketSampler, epoch_batches, in_chunks
from kit.train.classify import classification_metrics, fit_classifier
from kit.train.language_model import evaluate_language_model, perplexity, train_language_model
from kit.train.loop import warmup_then_decay


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")


def test_epoch_batches_visit_every_example_once_per_epoch():
    per_epoch, next_indices = epoch_batches(10, 4, seed=0)
    assert per_epoch == 3
    first = torch.cat([next_indices() for _ in range(per_epoch)])
    second = torch.cat([next_indices() for _ in range(per_epoch)])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert not torch.equal(first, second), "each epoch is reshuffled"
    assert [s.stop for s in in_chunks(10, 4)] == [4, 8, 10]


def test_length_buckets_visit_every_example_once_per_epoch_with_little_padding():
    lengths = torch.randint(5, 100, (200,), generator=torch.Generator().manual_seed(0))
    sampler = LengthBucketSampler(lengths, batch_size=8, seed=3, pool=5)
    assert sampler.per_epoch == 25
    epochs = [[sampler() for _ in range(sampler.per_epoch)] for _ in range(2)]
    for batches in epochs:
        assert sorted(torch.cat(batches).tolist()) == list(range(200))
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1])), "each epoch is reshuffled"

    def padded(batches):
        return sum(int(lengths[b].max()) * len(b) for b in batches)

    _, shuffled = epoch_batches(200, 8, seed=3)
    assert padded(epochs[0]) < 0.8 * padded([shuffled() for _ in range(25)])
    state = sampler.state_dict()                     # a resumed sampler continues with the same batches
    ahead = [sampler() for _ in range(30)]
    again = LengthBucketSampler(lengths, batch_size=8, seed=0, pool=5)
    again.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(ahead, [again() for _ in range(30)], strict=True))
    with pytest.raises(ValueError, match="1-D tensor of lengths"):
        LengthBucketSampler(torch.zeros(2, 3), 4, 0)


def test_warmup_then_decay_ramps_up_then_down_to_zero():
    factor = warmup_then_decay(100, 0.1)
    assert [factor(i) for i in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    assert factor(10) == pytest.approx(1.0) and factor(55) == pytest.approx(0.5) and factor(100) == 0.0
    assert all(factor(i) >= factor(i + 1) for i in range(9, 100))
    with pytest.raises(ValueError, match="warm-up fraction"):
        warmup_then_decay(100, 1.5)


def test_fit_classifier_learns_a_separable_task():
    torch.manual_seed(0)
    x = torch.randn(256, 2)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    history = fit_classifier(model, x, y, epochs=20, batch_size=32, lr=1e-2)
    assert len(history.losses) == 20 * 8
    metrics = classification_metrics(model, x, y)
    assert metrics["accuracy"] > 0.95 and 0 < metrics["f1_macro"] <= 1
    with pytest.raises(ValueError, match="labels"):
        fit_classifier(model, x, y[:5])


def test_language_model_learns_a_repeating_sequence():
    torch.manual_seed(0)
    ids = torch.arange(8).repeat(100)
    model = LSTMModel(8, ninp=16, nhid=16, nlayers=1, dropout=0.0)
    before = evaluate_language_model(model, ids, batch_size=4, bptt=10)
    history = train_language_model(model, ids, epochs=15, batch_size=4, bptt=10, lr=1e-2)
    after = evaluate_language_model(model, ids, batch_size=4, bptt=10)
    assert before > math.log(8) - 0.2 and after < 0.2 < before
    assert history.losses[-1] < history.losses[0] and all(n >= 0 for n in history.grad_norms)
    assert perplexity(after) == pytest.approx(math.exp(after))
    assert evaluate_language_model(model, ids, batch_size=1, bptt=25, max_tokens=100) < 0.5


def test_pair_fine_tuning_runs_and_scores():
    from kit.models.bert import load_pair_classifier
    from kit.train.pairs import encode_pairs, evaluate_pairs, fine_tune_pairs

    torch.manual_seed(0)
    model, tokenizer = load_pair_classifier("minilm")
    pairs = [SentencePair(i % 2, str(i), str(i), f"sentence number {i}", f"sentence {i}") for i in range(8)]
    encoded = encode_pairs(tokenizer, pairs, max_length=16)
    assert encoded["input_ids"].shape[0] == 8 and encoded["labels"].tolist() == [0, 1] * 4
    history = fine_tune_pairs(model, encoded, epochs=1, batch_size=4)
    assert len(history.losses) == 2
    metrics = evaluate_pairs(model, encoded)
    assert set(metrics) == {"f1", "accuracy"} and 0 <= metrics["accuracy"] <= 1


def test_pair_evaluation_works_with_quantized_word_embeddings():
    """The quantized embedding kernel needs contiguous ids: batches trimmed to their longest must be."""
    from torch import nn
    from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig, quantize_dynamic

    from kit.models.bert import load_pair_classifier
    from kit.train.pairs import encode_pairs, evaluate_pairs

    model, tokenizer = load_pair_classifier("minilm")
    longer = "and a much longer sentence "
    pairs = [SentencePair(i % 2, str(i), str(i), "a short one", longer * (i + 1)) for i in range(6)]
    encoded = encode_pairs(tokenizer, pairs, max_length=64)
    spec = {nn.Linear: default_dynamic_qconfig, nn.Embedding: float_qparams_weight_only_qconfig}
    quantized = quantize_dynamic(model, spec, dtype=torch.qint8)
    assert set(evaluate_pairs(quantized, encoded, batch_size=2)) == {"f1", "accuracy"}


def test_pair_batches_by_length_see_every_pair_once_per_epoch_with_less_padding():
    from kit.train.pairs import pair_sampler

    lengths = torch.tensor([5, 60, 7, 58, 6, 61, 8, 59] * 4)
    encoded = {"attention_mask": (torch.arange(64)[None, :] < lengths[:, None]).long(),
               "labels": torch.zeros(len(lengths), dtype=torch.long)}
    padded = {}
    for bucket in (False, True):
        sampler = pair_sampler(encoded, 4, seed=0, bucket=bucket)
        batches = [sampler() for _ in range(sampler.per_epoch)]
        assert sorted(torch.cat(batches).tolist()) == list(range(len(lengths)))   # each pair once per epoch
        padded[bucket] = sum(int(lengths[b].max()) * len(b) for b in batches)
    assert padded[True] < 0.75 * padded[False]
