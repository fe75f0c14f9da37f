from pathlib import Path

import pytest
import torch
from torch import nn

from kit.models.bert import is_pair_classifier, load_pair_classifier, model_folder
from kit.models.lenet import LeNet
from kit.models.lstm_lm import LSTMModel, repackage_hidden


def test_lenet_shapes():
    model = LeNet()
    assert model(torch.zeros(3, 1, 32, 32)).shape == (3, 10)
    assert model.conv1.weight.shape == (6, 1, 5, 5) and model.fc1.in_features == 400
    with pytest.raises(ValueError, match=r"\(N, 1, 32, 32\)"):
        model(torch.zeros(3, 1, 28, 28))


def test_lstm_lm_forward_and_hidden():
    model = LSTMModel(50, ninp=16, nhid=8, nlayers=2, dropout=0.0).eval()
    hidden = model.init_hidden(3)
    assert hidden[0].shape == (2, 3, 8)
    logits, hidden = model(torch.zeros(5, 3, dtype=torch.long), hidden)
    assert logits.shape == (5, 3, 50)
    assert not repackage_hidden(hidden)[0].requires_grad


def test_init_hidden_survives_quantizing_every_layer():
    from torch.ao.quantization import default_dynamic_qconfig, float_qparams_weight_only_qconfig, quantize_dynamic

    model = LSTMModel(50, ninp=16, nhid=8, nlayers=2, dropout=0.0).eval()
    quantized = quantize_dynamic(
        model,
        {nn.LSTM: default_dynamic_qconfig, nn.Linear: default_dynamic_qconfig,
         nn.Embedding: float_qparams_weight_only_qconfig},
        dtype=torch.qint8,
    )
    assert list(quantized.parameters()) == [], "nothing float left: the PyTorch LSTM tutorial's init_hidden would fail"
    logits, _ = quantized(torch.zeros(4, 2, dtype=torch.long), quantized.init_hidden(2))
    reference, _ = model(torch.zeros(4, 2, dtype=torch.long), model.init_hidden(2))
    assert logits.shape == (4, 2, 50) and (logits - reference).abs().max() < 0.05


def test_packaged_minilm_loads_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer = load_pair_classifier("minilm")
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384 and model.config.num_labels == 2
    encoded = tokenizer(["the cat sat"], ["a cat was sitting"], return_tensors="pt")
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    assert encoded["token_type_ids"][0].tolist() == [0] * (tokens.index("[SEP]") + 1) + [1] * (
        len(tokens) - tokens.index("[SEP]") - 1
    )
    assert model(**encoded).logits.shape == (1, 2)


def test_is_pair_classifier_tells_fine_tuned_from_base(tmp_path):
    import json

    assert not is_pair_classifier("minilm")
    for name, config, expected in [
        ("mrpc", {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "a", "1": "b"}}, True),
        ("default-labels", {"architectures": ["BertForSequenceClassification"]}, True),  # as save_pretrained writes
        ("base", {"architectures": ["BertForMaskedLM"]}, False),
        ("three", {"architectures": ["BertForSequenceClassification"], "num_labels": 3}, False),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps(config))
        assert is_pair_classifier(tmp_path / name) is expected
    with pytest.raises(FileNotFoundError, match="fetch_data.py"):
        is_pair_classifier(tmp_path / "missing")


def test_not_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_data.py bert-base-uncased"):
        model_folder(tmp_path)


def test_model_folder_finds_a_name_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "bert-base-uncased").mkdir(parents=True)
    (tmp_path / "data" / "bert-base-uncased" / "config.json").write_text("{}")
    assert model_folder("bert-base-uncased") == tmp_path / "data" / "bert-base-uncased"
    (tmp_path / "bert-base-uncased").mkdir()
    (tmp_path / "bert-base-uncased" / "config.json").write_text("{}")
    assert model_folder("bert-base-uncased") == Path("bert-base-uncased")  # a path that exists wins
