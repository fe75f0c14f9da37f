"""Training precision: bf16 autocast only where asked (and, for recipes, only where the CPU has native bf16),
with the loss in FP32 either way, and the precision used written into the checkpoint's manifest."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kit.train import precision
from kit.train.loop import train_steps


def test_resolve_follows_the_cpu_only_for_the_where_native_request(monkeypatch):
    assert precision.resolve("fp32") == "fp32" and precision.resolve("bf16") == "bf16"
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "amx_bf16": False})
    assert precision.resolve(precision.WHERE_NATIVE) == "fp32"
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert precision.resolve(precision.WHERE_NATIVE) == "bf16"
    with pytest.raises(ValueError, match="the training precision is one of 'fp32', 'bf16'"):
        precision.resolve("fp16")
    with pytest.raises(ValueError, match="resolve\\(\\) a recipe's request first"):
        precision.autocast(precision.WHERE_NATIVE)


def test_bf16_runs_the_forward_pass_in_bf16_and_the_loss_in_fp32():
    torch.manual_seed(0)
    model = nn.Linear(8, 3)
    batch = (torch.randn(16, 8), torch.randint(0, 3, (16,)))
    seen = {}

    def loss_fn(logits, targets):
        seen["loss input"] = logits.dtype
        return nn.functional.cross_entropy(logits, targets)

    def forward(m, x):
        out = m(x)
        seen["forward output"] = out.dtype
        return out

    train_steps(model, lambda: batch, steps=2, loss_fn=loss_fn, forward=forward, precision="bf16", desc=None)
    assert seen == {"forward output": torch.bfloat16, "loss input": torch.float32}
    assert model.weight.dtype == torch.float32   # the weights and the optimizer stay FP32
    train_steps(model, lambda: batch, steps=1, loss_fn=loss_fn, forward=forward, desc=None)
    assert seen == {"forward output": torch.float32, "loss input": torch.float32}


def test_fit_classifier_trains_in_the_precision_asked():
    from kit.train.classify import fit_classifier

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    seen = []
    model[1].register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    images, labels = torch.randn(32, 1, 4, 4), torch.randint(0, 3, (32,))
    fit_classifier(model, images, labels, epochs=1, batch_size=16, precision="bf16", desc=None)
    assert seen and set(seen) == {torch.bfloat16}
    seen.clear()
    fit_classifier(model, images, labels, epochs=1, batch_size=16, desc=None)
    assert set(seen) == {torch.float32}


def test_the_lstm_lm_keeps_its_recurrence_in_fp32_under_autocast():
    from kit.models.lstm_lm import LSTMModel

    model = LSTMModel(40, ninp=8, nhid=8, nlayers=2, dropout=0.0)
    seen = {}
    model.rnn.register_forward_hook(lambda module, args, out: seen.update(rnn=out[0].dtype))
    tokens = torch.randint(0, 40, (5, 2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, (h, c) = model(tokens, model.init_hidden(2))
    assert seen["rnn"] == torch.float32 and h.dtype == torch.float32   # the recurrence and its state: FP32
    assert logits.dtype == torch.bfloat16                               # the decoder's matmul: bf16
    logits, _ = model(tokens, model.init_hidden(2))
    assert logits.dtype == torch.float32
