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


def _clip_cases() -> list[tuple[str, Any, Any]]:
    """(what, the parameters as the learner gets them, a twin for clip_grad_norm_, the learner's as a list), with
    gradients set: models (a generator, as training loops pass it), a model with a frozen layer (its gradients
    None) and a single tensor."""
    cases = []
    for seed, scale, frozen in ((1, 10.0, False), (2, 0.01, False), (3, 3.0, False), (4, 10.0, True)):
        model = _models(seed)[seed % 2]
        if frozen:
            model[0].requires_grad_(False)   # its gradients stay None: clip_grad_norm_ skips them
        (model(_inputs(model)).pow(2).sum() * scale).backward()
        reference = copy.deepcopy(model)
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            q.grad = None if p.grad is None else p.grad.clone()   # deepcopy does not copy gradients
        what = "a model with a frozen layer" if frozen else "a model"
        cases.append((what, model.parameters(), list(reference.parameters()), list(model.parameters())))
    torch.manual_seed(5)
    tensor = torch.randn(40, requires_grad=True)
    (tensor.pow(3).sum() * 2).backward()
    twin = tensor.detach().clone().requires_grad_(True)
    twin.grad = tensor.grad.clone()
    cases.append(("a single tensor", tensor, twin, [tensor]))
    return cases


@exercise("07-clip-by-norm")
def _clip_by_norm(answer: Any) -> str:
    expect_function(answer, "clip_by_norm(parameters, max_norm)")
    for (what, given, reference, mine), max_norm in zip(_clip_cases(), (1.0, 1.0, 0.25, 1.0, 5.0), strict=True):
        expected_norm = float(torch.nn.utils.clip_grad_norm_(reference, max_norm))
        reference = reference if isinstance(reference, list) else [reference]
        with forbidden(*_clipping_apis(), reason="compute the total norm and the scale yourself: the clipping "
                       "functions are what this exercise rebuilds.", learner=answer):
            try:
                returned = answer(given, max_norm)
            except (AttributeError, TypeError) as error:
                raise NotYet(f"on {what} your function raised {type(error).__name__}: {error}. Parameters may come "
                             "as one tensor, and a parameter without a gradient (p.grad is None) is skipped.") from None
        try:
            returned = float(returned)
        except (TypeError, ValueError):
            raise NotYet("return the total norm before clipping, as a number.") from None
        if abs(returned - expected_norm) > 1e-4 * max(1.0, expected_norm):
            raise NotYet(f"on {what} you returned {returned:.5g}, but the total norm before clipping was "
                         f"{expected_norm:.5g}: the L2 norm of all gradients together, sqrt(sum of every squared "
                         "entry)" + (", a single tensor's included." if what == "a single tensor" else "."))
        for p, q in zip(mine, reference, strict=True):
            if (p.grad is None) != (q.grad is None):
                raise NotYet(f"on {what} a parameter without a gradient got one: leave p.grad None where it is.")
            if p.grad is not None and not torch.allclose(p.grad, q.grad, rtol=1e-4, atol=1e-7):
                clipped = expected_norm > max_norm
                raise NotYet(f"on {what} the gradients were "
                             + ("not scaled by max_norm / total_norm (in place: p.grad.mul_)" if clipped
                                else "changed although their total norm was already below max_norm") + ".")
    return ("Your clipping matches clip_grad_norm_: same returned norm, same gradients, untouched when small, "
            "frozen parameters skipped, a single tensor accepted.")


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
        given = expected.clone()
        with forbidden(*apis, reason="concatenate and copy the slices yourself: parameters_to_vector and "
                       "vector_to_parameters are what this exercise rebuilds.", learner=answer), torch.no_grad():
            vector = to_vector(source.parameters())
            if not isinstance(vector, torch.Tensor) or vector.dim() != 1:
                raise NotYet("to_vector must return one flat (1-D) tensor.")
            if vector.numel() != expected.numel() or not torch.equal(vector.detach(), expected):
                raise NotYet("to_vector's result differs from the parameters in order: flatten each one "
                             "(p.reshape(-1)) and concatenate them in the order given.")
            from_vector(given, target.parameters())
        with torch.no_grad():
            if not torch.allclose(target(x), wanted):
                raise NotYet("after from_vector the target model does not compute what the source does: copy "
                             "each slice into its parameter in place (p.copy_(slice.view_as(p))).")
            given.add_(1.0)   # the learner's vector changes afterwards: a copied model must not notice
            if not torch.allclose(target(x), wanted):
                raise NotYet("your parameters are views of the vector, as vector_to_parameters makes them: "
                             "changing the vector afterwards changed the model. Copy the slices instead "
                             "(p.copy_(slice.view_as(p))).")
    return "Your round trip copies every parameter: the target model computes what the source does, on its own memory."


@exercise("07-last-real-output")
def _last_real_output(answer: Any) -> str:
    expect_function(answer, "last_real_output(output, lengths)")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

    torch.manual_seed(6)
    lstm = nn.LSTM(4, 6, batch_first=True)
    lengths = torch.tensor([5, 2, 6, 1, 6, 3])
    sequences = [torch.randn(n, 4) for n in lengths.tolist()]
    padded = pad_sequence(sequences, batch_first=True)         # (batch 6, time 6, features 4)
    with torch.no_grad():
        output, _ = lstm(padded)                                  # (batch 6, time 6, hidden 6)
        _, (h_n, _) = lstm(pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False))
    import torch.nn.utils.rnn as rnn_utils

    apis = [(rnn_utils, "pack_padded_sequence"), (rnn_utils, "pad_packed_sequence"),
            (rnn_utils, "pack_sequence")]
    with forbidden(*apis, reason="index the padded output with the lengths; packing is what the check uses to "
                   "verify you.", learner=answer):
        got = answer(output.clone(), lengths.clone())
    if not isinstance(got, torch.Tensor) or got.shape != (6, 6):
        raise NotYet(f"return a (batch, hidden) tensor, here (6, 6); got {getattr(got, 'shape', type(got))}.")
    if torch.allclose(got, output[:, -1]):
        raise NotYet("that is the output at the last time step, which is padding for the shorter sequences: "
                     "use each sequence's own length.")
    if torch.allclose(got, output[lengths - 1, torch.arange(6)]):
        raise NotYet("that indexes the output as (time, batch); with batch_first=True it is (batch, time, hidden).")
    if not torch.allclose(got, h_n[-1], atol=1e-6):
        raise NotYet("not each sequence's last real output: the last real token of sequence i is at time "
                     "lengths[i] - 1, in row i.")
    return "Your outputs are each sequence's final state, as the packed LSTM computes it."
