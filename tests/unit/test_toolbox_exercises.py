"""Chapter 7's exercises: right answers pass, known wrong ones fail, and the APIs they rebuild are blocked."""

import math

import pytest
import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from kit.exercises import evaluate


def right_clip(parameters, max_norm):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    parameters = [p for p in parameters if p.grad is not None]
    total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in parameters))
    if total > max_norm:
        for p in parameters:
            p.grad.mul_(max_norm / (total + 1e-6))
    return total


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_clip_by_norm():
    assert evaluate("07-clip-by-norm", right_clip).passed

    def always_scales(parameters, max_norm):
        parameters = list(parameters)
        total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in parameters))
        for p in parameters:
            p.grad.mul_(max_norm / total)
        return total

    assert "already below" in evaluate("07-clip-by-norm", always_scales).message

    def returns_clipped_norm(parameters, max_norm):
        parameters = list(parameters)
        right_clip(parameters, max_norm)
        return math.sqrt(sum(float(p.grad.pow(2).sum()) for p in parameters))

    assert "before clipping" in evaluate("07-clip-by-norm", returns_clipped_norm).message

    def every_gradient(parameters, max_norm):   # crashes on a frozen layer (p.grad is None)
        parameters = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
        total = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in parameters))
        for p in parameters:
            p.grad.mul_(min(1.0, max_norm / (total + 1e-6)))
        return total

    frozen = evaluate("07-clip-by-norm", every_gradient)
    assert not frozen.passed and "frozen layer" in frozen.message and "p.grad is None" in frozen.message

    def iterates_a_tensor(parameters, max_norm):   # a single tensor iterated row by row: its rows have no .grad
        return right_clip(list(parameters), max_norm)

    single = evaluate("07-clip-by-norm", iterates_a_tensor)
    assert not single.passed and "single tensor" in single.message


def test_clip_by_norm_cannot_call_clip_grad_norm():
    verdict = evaluate("07-clip-by-norm", lambda params, m: float(nn.utils.clip_grad_norm_(params, m)))
    assert verdict.status == "not yet" and "rebuilds" in verdict.message
    # A name imported at the top of the learner's notebook (here: this module) is blocked too, then restored:
    imported = evaluate("07-clip-by-norm", lambda params, m: float(clip_grad_norm_(params, m)))
    assert imported.status == "not yet" and "rebuilds" in imported.message
    layer = nn.Linear(2, 2)
    layer(torch.ones(1, 2)).sum().backward()
    assert float(nn.utils.clip_grad_norm_(layer.parameters(), 1.0)) > 0 and clip_grad_norm_ is nn.utils.clip_grad_norm_


def right_to_vector(parameters):
    return torch.cat([p.reshape(-1) for p in parameters])


def right_from_vector(vector, parameters):
    start = 0
    for p in parameters:
        p.copy_(vector[start:start + p.numel()].view_as(p))
        start += p.numel()


def test_vector_round_trip():
    assert evaluate("07-vector-round-trip", (right_to_vector, right_from_vector)).passed
    reversed_order = evaluate("07-vector-round-trip",
                              (lambda ps: torch.cat([p.reshape(-1) for p in reversed(list(ps))]), right_from_vector))
    assert "order" in reversed_order.message

    def rebinds(vector, parameters):   # assigns new tensors to a local name: the model never changes
        start = 0
        for p in parameters:
            p = vector[start:start + p.numel()].view_as(p)   # noqa: PLW2901
            start += p.numel()

    assert "in place" in evaluate("07-vector-round-trip", (right_to_vector, rebinds)).message

    def makes_views(vector, parameters):   # what vector_to_parameters does: the model then aliases the vector
        start = 0
        for p in parameters:
            p.data = vector[start:start + p.numel()].view_as(p)
            start += p.numel()

    views = evaluate("07-vector-round-trip", (right_to_vector, makes_views))
    assert not views.passed and "views of the vector" in views.message
    shortcut = evaluate("07-vector-round-trip", (nn.utils.parameters_to_vector, nn.utils.vector_to_parameters))
    assert shortcut.status == "not yet" and "rebuilds" in shortcut.message


def test_last_real_output():
    right = evaluate("07-last-real-output", lambda out, lengths: out[torch.arange(len(lengths)), lengths - 1])
    assert right.passed
    last_step = evaluate("07-last-real-output", lambda out, lengths: out[:, -1])
    assert "padding" in last_step.message
    time_first = evaluate("07-last-real-output", lambda out, lengths: out[lengths - 1, torch.arange(len(lengths))])
    assert "batch_first" in time_first.message
    off_by_one = evaluate("07-last-real-output", lambda out, lengths: out[torch.arange(len(lengths)),
                                                                          (lengths - 2).clamp(min=0)])
    assert "lengths[i] - 1" in off_by_one.message

    def packs(out, lengths):
        from torch.nn.utils.rnn import pack_padded_sequence
        return pack_padded_sequence(out, lengths, batch_first=True, enforce_sorted=False)

    assert "packing is what the check uses" in evaluate("07-last-real-output", packs).message
