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

