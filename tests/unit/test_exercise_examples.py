"""The examples each check declares beside itself (kit.exercises.Examples): right answers pass, known wrong ones
are "not yet" with the expected hint. A new chapter's checks are tested here without a test file of their own."""

from __future__ import annotations

import pytest

from kit.exercises import available, evaluate, examples_of

DECLARED = [name for name in available() if examples_of(name) is not None]


@pytest.mark.parametrize("name", DECLARED)
def test_declared_examples(name):
    examples = examples_of(name)
    assert examples.right and examples.wrong, f"{name}: declare at least one right and one wrong answer"
    for answer in examples.right:
        verdict = evaluate(name, answer)
        assert verdict.passed, f"{name}: a right answer failed: {verdict}"
    for answer, words in examples.wrong:
        verdict = evaluate(name, answer)
        assert verdict.status == "not yet" and words in verdict.message, f"{name}: expected {words!r}: {verdict}"
