"""Checks for chapter 7 (the torch.nn.utils toolbox)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from kit.exercises import NotYet, exercise, forbidden
from kit.exercises.answers import expect_function, unpack


def _models(seed: int) -> list[nn.Module]:
    torch.manual_seed(seed)
    return [nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 3)),
            nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 4 * 4, 2, bias=False))]


def _inputs(model: nn.Module) -> torch.Tensor:
    return torch.randn(6, 7) if isinstance(model[0], nn.Linear) else torch.randn(6, 2, 6, 6)


def _clipping_apis() -> list[tuple[object, str]]:
    import torch.nn.utils.clip_grad as clip_grad

    return [(torch.nn.utils, name) for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_",
                                                "get_total_norm")] + \
           [(clip_grad, name) for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grads_with_norm_",
                                            "get_total_norm", "_clip_grads_with_norm_", "_get_total_norm")
            if hasattr(clip_grad, name)]


@exercise("07-clip-by-norm")
def _clip_by_norm(answer: Any) -> str:
    expect_function(answer, "clip_by_norm(parameters, max_norm)")
    for seed, scale, max_norm in ((1, 10.0, 1.0), (2, 0.01, 1.0), (3, 3.0, 0.25)):
        model = _models(seed)[seed % 2]
        (model(_inputs(model)).pow(2).sum() * scale).backward()
        reference = copy.deepcopy(model)
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            q.grad = p.grad.clone()   # deepcopy does not copy gradients
        expected_norm = float(torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm))
        with forbidden(*_clipping_apis(), reason="compute the total norm and the scale yourself: the clipping "
                       "functions are what this exercise rebuilds.", learner=answer):
            returned = answer(model.parameters(), max_norm)   # a generator, as training loops pass it
        try:
            returned = float(returned)
        except (TypeError, ValueError):
            raise NotYet("return the total norm before clipping, as a number.") from None
        if abs(returned - expected_norm) > 1e-4 * max(1.0, expected_norm):
            raise NotYet(f"returned {returned:.5g}, but the total norm before clipping was {expected_norm:.5g}: the "
                         "L2 norm of all gradients together, sqrt(sum of every squared entry).")
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            if not torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-7):
                clipped = expected_norm > max_norm
                raise NotYet("the gradients were " + ("not scaled by max_norm / total_norm (in place: p.grad.mul_)"
                             if clipped else "changed although their total norm was already below max_norm")
                             + ".")
    return "Your clipping matches clip_grad_norm_: same returned norm, same gradients, untouched when small."


@exercise("07-vector-round-trip")
def _vector_round_trip(answer: Any) -> str:
    to_vector, from_vector = unpack(answer, 2, "answer with the pair (to_vector, from_vector).")
    if not callable(to_vector) or not callable(from_vector):
        raise NotYet("both items must be your functions.")
    from torch.nn.utils import convert_parameters

    apis = [(torch.nn.utils, "parameters_to_vector"), (torch.nn.utils, "vector_to_parameters"),
            (convert_parameters, "parameters_to_vector"), (convert_parameters, "vector_to_parameters")]
    for source, target in zip(_models(4), _models(5), strict=True):
        expected = torch.nn.utils.parameters_to_vector(source.parameters()).detach()
        x = _inputs(source)
        with torch.no_grad():
            wanted = source(x)
        with forbidden(*apis, reason="concatenate and copy the slices yourself: parameters_to_vector and "
                       "vector_to_parameters are what this exercise rebuilds.", learner=answer), torch.no_grad():
            vector = to_vector(source.parameters())
            if not isinstance(vector, torch.Tensor) or vector.dim() != 1:
                raise NotYet("to_vector must return one flat (1-D) tensor.")
            if vector.numel() != expected.numel() or not torch.equal(vector.detach(), expected):
                raise NotYet("to_vector's result differs from the parameters in order: flatten each one "
                             "(p.reshape(-1)) and concatenate them in the order given.")
            from_vector(vector.detach().clone(), target.parameters())
        with torch.no_grad():
            if not torch.allclose(target(x), wanted):
                raise NotYet("after from_vector the target model does not compute what the source does: copy "
                             "each slice into its parameter in place (p.copy_(slice.view_as(p))).")
    return "Your round trip copies every parameter: the target model computes exactly what the source does."


@exercise("07-last-real-output")
def _last_real_output(answer: Any) -> str:
    expect_function(answer, "last_real_output(output, lengths)")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    torch.manual_seed(6)
    lstm = nn.LSTM(4, 6)
    lengths = torch.tensor([5, 2, 7, 1, 7, 3])
    sequences = [torch.randn(n, 4) for n in lengths.tolist()]
    padded = pad_sequence(sequences)
    with torch.no_grad():
        output, _ = lstm(padded)
        _, (h_n, _) = lstm(pack_padded_sequence(padded, lengths, enforce_sorted=False))
    import torch.nn.utils.rnn as rnn_utils

    apis = [(rnn_utils, "pack_padded_sequence"), (rnn_utils, "pad_packed_sequence"),
            (rnn_utils, "pack_sequence")]
    with forbidden(*apis, reason="index the padded output with the lengths; packing is what the check uses to "
                   "verify you.", learner=answer):
        got = answer(output.clone(), lengths.clone())
    if not isinstance(got, torch.Tensor) or got.shape != (6, 6):
        raise NotYet(f"return a (batch, hidden) tensor, here (6, 6); got {getattr(got, 'shape', type(got))}.")
    if torch.allclose(got, output[-1]):
        raise NotYet("that is the output at the last time step, which is padding for the shorter sequences: "
                     "use each sequence's own length.")
    if not torch.allclose(got, h_n[-1], atol=1e-6):
        raise NotYet("not each sequence's last real output: the last real token of sequence i is at time "
                     "lengths[i] - 1.")
    return "Your outputs are each sequence's final state, as the packed LSTM computes it."
