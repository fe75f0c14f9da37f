import pytest
import torch
from torch import nn

from kit.exercises import NotYet, available, check, evaluate, exercise


class UpperTriangular(nn.Module):
    def forward(self, X):
        return X.triu()


class LowerTriangular(nn.Module):
    def forward(self, X):
        return X.tril()


class SymmetricSum(nn.Module):
    def forward(self, X):
        return X + X.mT

    def right_inverse(self, A):
        return A / 2


class SymmetricSumIdentity(SymmetricSum):
    def right_inverse(self, A):
        return A


class IdentityShortcut(nn.Module):
    """Passes the layer test (weight == A) by changing forward instead of inverting it."""

    def forward(self, X):
        return X

    def right_inverse(self, A):
        return A


class Unwritten(nn.Module):
    def forward(self, X):
        raise NotImplementedError


def test_chapter_one_exercises_are_registered():
    assert {"01-upper-triangular", "01-symmetric-right-inverse", "01-cached-calls"} <= set(available())


@pytest.mark.parametrize(
    ("name", "right", "wrong"),
    [
        ("01-upper-triangular", UpperTriangular, LowerTriangular),
        ("01-symmetric-right-inverse", SymmetricSum, SymmetricSumIdentity),
        ("01-cached-calls", (12, 1, 4), (12, 4, 1)),
    ],
)
def test_right_answers_pass_and_wrong_ones_get_a_hint(name, right, wrong):
    assert evaluate(name, right).passed
    verdict = evaluate(name, wrong)
    assert verdict.status == "not yet" and "Hint:" in verdict.message


def test_instances_are_accepted_too():
    assert evaluate("01-upper-triangular", UpperTriangular()).passed


@pytest.mark.parametrize("placeholder", [..., None, Unwritten])
def test_placeholders_are_not_attempted(placeholder):
    assert evaluate("01-upper-triangular", placeholder).status == "not attempted"


def test_answers_that_crash_are_reported_not_raised():
    class Broken(nn.Module):
        def forward(self, X):
            return X @ torch.ones(2, 7)

    verdict = evaluate("01-upper-triangular", Broken)
    assert verdict.status == "not yet" and "raised" in verdict.message


def test_non_modules_get_a_hint():
    assert "nn.Module" in evaluate("01-upper-triangular", lambda X: X.triu()).message


def test_malformed_counts_get_a_hint():
    assert "three whole numbers" in evaluate("01-cached-calls", "twelve").message


def test_check_prints_the_verdict(capsys):
    check("01-cached-calls", (12, 1, 4))
    assert capsys.readouterr().out.startswith("[ok] 01-cached-calls: correct.")


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(KeyError, match="01-upper-triangular"):
        evaluate("no-such-exercise", 1)


def test_duplicate_registration_is_refused():
    @exercise("test-only-unique")
    def _first(answer):
        raise NotYet("never")

    with pytest.raises(ValueError, match="twice"):
        exercise("test-only-unique")(_first)


def test_symmetric_right_inverse_must_keep_the_given_forward():
    verdict = evaluate("01-symmetric-right-inverse", IdentityShortcut)
    assert verdict.status == "not yet" and "keep forward" in verdict.message


def test_forbidden_api_raises_a_hint_and_is_restored():
    from kit.exercises import forbidden

    with forbidden((torch, "quantize_per_tensor"), reason="write it yourself"):
        with pytest.raises(NotYet, match="write it yourself"):
            torch.quantize_per_tensor(torch.ones(1), 1.0, 0, torch.quint8)
    assert torch.quantize_per_tensor(torch.ones(1), 1.0, 0, torch.quint8).int_repr().item() == 1

    class Base:
        def go(self):
            return "base"

    class Child(Base):
        pass

    with forbidden((Child, "go"), reason="no"):
        with pytest.raises(NotYet):
            Child().go()
    assert "go" not in vars(Child) and Child().go() == "base"   # an inherited method is not copied onto the class


def test_a_check_that_cannot_set_itself_up_does_not_blame_the_answer(monkeypatch):
    """A missing checkpoint or data set raised by the kit inside a check is "not checked", never "your answer"."""
    from kit import exercises
    from kit.errors import TrainingDisabled

    def needs_a_checkpoint(answer):
        raise TrainingDisabled("the lenet-fashion checkpoint is not trained: run `python -m kit prepare`")

    monkeypatch.setitem(exercises._REGISTRY, "99-needs-data", needs_a_checkpoint)
    verdict = evaluate("99-needs-data", lambda: 1)
    assert verdict.status == "not checked" and not verdict.passed
    assert "could not run" in verdict.message and "python -m kit prepare" in verdict.message
    assert "Your answer raised" not in verdict.message and str(verdict).startswith("[!]")
