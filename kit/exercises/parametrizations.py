"""Checks for chapter 1 (parametrizations)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.utils.parametrize as parametrize
from torch import nn

from kit.exercises import NotYet, exercise
from kit.exercises.answers import unpack


def _instantiate(answer: Any, what: str) -> nn.Module:
    module = answer() if isinstance(answer, type) else answer
    if not isinstance(module, nn.Module):
        raise NotYet(f"{what} must be an nn.Module subclass (or an instance of one).")
    return module


@exercise("01-upper-triangular")
def _upper_triangular(answer: Any) -> str:
    torch.manual_seed(0)
    layer = nn.Linear(5, 5)
    parametrize.register_parametrization(layer, "weight", _instantiate(answer, "UpperTriangular"))
    original = layer.parametrizations.weight.original
    if not torch.equal(layer.weight, original.triu()):
        raise NotYet("forward(X) should keep the diagonal and everything above it: look up Tensor.triu().")
    layer(torch.randn(3, 5)).sum().backward()
    if original.grad is None or torch.count_nonzero(original.grad.tril(-1)) != 0:
        raise NotYet("entries below the diagonal should get no gradient, and the rest should.")
    return "The entries below the diagonal never reach the layer, so they never get a gradient."


@exercise("01-symmetric-right-inverse")
def _symmetric_right_inverse(answer: Any) -> str:
    module = _instantiate(answer, "SymmetricSum")
    if not hasattr(module, "right_inverse"):
        raise NotYet("add a method right_inverse(self, A) that returns a tensor X with forward(X) == A.")
    probe = torch.randn(4, 4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        if not torch.allclose(module(probe), probe + probe.mT, atol=1e-6):
            raise NotYet("keep forward(X) = X + X.mT as given: the exercise is to invert that map, not to change it.")
        target = probe + probe.mT
        preimage = module.right_inverse(target)
        if not isinstance(preimage, torch.Tensor) or preimage.shape != target.shape:
            raise NotYet("right_inverse(A) must return a tensor of A's shape.")
        if not torch.allclose(preimage + preimage.mT, target, atol=1e-6):
            raise NotYet("with the given forward, X + X.mT must equal A for X = right_inverse(A). What does "
                         "forward(X) = X + X.mT do to a matrix that is already symmetric?")
    torch.manual_seed(1)
    layer = nn.Linear(4, 4)
    parametrize.register_parametrization(layer, "weight", module)
    a = torch.randn(4, 4)
    a = a + a.T
    with torch.no_grad():
        layer.weight = a  # calls right_inverse
    if not torch.allclose(layer.weight, a, atol=1e-6):
        raise NotYet(
            "after layer.weight = A (A symmetric), layer.weight should equal A. What does "
            "forward(X) = X + X.mT do to a matrix that is already symmetric?"
        )
    return "Assigning to layer.weight went through right_inverse and landed exactly on A."


@exercise("01-cached-calls")
def _cached_calls(answer: Any) -> str:
    uncached, cached_loop, cached_each = unpack(
        answer, 3, "answer with three whole numbers: (without cache, cached loop, cached per call).", each=int)
    measured = _count_cached_calls(uses_per_call=3, calls=4)
    if (uncached, cached_loop, cached_each) != measured:
        raise NotYet(
            "each access of layer.weight runs the parametrization unless a cached() block is "
            "active; the cache lives for the whole with-block and is dropped when it ends."
        )
    return f"Measured just now: {measured}."


class _Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return x


def _count_cached_calls(uses_per_call: int, calls: int) -> tuple[int, int, int]:
    """Run the exercise's experiment for real and count parametrization calls."""
    layer = nn.Linear(3, 3)
    counter = _Counting()
    parametrize.register_parametrization(layer, "weight", counter)

    def model_call() -> None:
        for _ in range(uses_per_call):
            _ = layer.weight

    counts = []
    counter.calls = 0
    for _ in range(calls):
        model_call()
    counts.append(counter.calls)
    counter.calls = 0
    with parametrize.cached():
        for _ in range(calls):
            model_call()
    counts.append(counter.calls)
    counter.calls = 0
    for _ in range(calls):
        with parametrize.cached():
            model_call()
    counts.append(counter.calls)
    return counts[0], counts[1], counts[2]
