"""Each chapter's parameter rules, checked in-process (no kernel): every parameter has a rule that takes its
default and refuses values outside it with a message naming the parameter and its range; a misspelled name is
refused with the closest real one; and the check comes before any expensive work in the chapter's first code cell.

The rules are read from the chapter's `check_parameters` call without running it (kit.chapters), the same way
`python -m kit book --param` reads them. tests/notebooks/test_bad_parameters.py keeps one real papermill run per
kind of failure.
"""

from __future__ import annotations

import ast
import json
import math

import pytest

from kit.chapters import read_chapter
from kit.parameters import ParameterError, check_parameters
from tests.conftest import CHAPTER_IDS, CHAPTERS


def namespace(history=(), **values):
    return {"_ih": ["", *history], **values}


def shown(value):
    """How the refusal message shows a value (repr; nan is not equal to itself, so match its text)."""
    return "nan" if isinstance(value, float) and math.isnan(value) else repr(value)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_every_parameter_has_a_rule_that_takes_its_default(source):
    chapter = read_chapter(source)
    assert chapter.rules, f"{source.name} has no kit.check_parameters(globals(), NAME=rule(...)) call"
    assert set(chapter.rules) == set(chapter.defaults), (
        f"parameters without a rule: {sorted(set(chapter.defaults) - set(chapter.rules))}; "
        f"rules without a parameter: {sorted(set(chapter.rules) - set(chapter.defaults))}")
    check_parameters(namespace(**chapter.defaults), **chapter.rules)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_every_rule_refuses_values_outside_it_naming_the_parameter_and_its_range(source):
    chapter = read_chapter(source)
    cases = 0
    for name, rule in chapter.rules.items():
        assert rule.refused, f"{name}: its rule gives no value to refuse"
        for bad in rule.refused:
            with pytest.raises(ParameterError) as refused:
                check_parameters(namespace(**{**chapter.defaults, name: bad}), **chapter.rules)
            message = str(refused.value)
            assert message.startswith(f"{name} = ") and shown(bad) in message, message
            assert f"{name} must be {rule.description}" in message, message
            cases += 1
    assert cases >= 2 * len(chapter.rules)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_a_misspelled_name_is_refused_with_the_closest_real_one(source):
    chapter = read_chapter(source)
    for name in chapter.rules:
        for wrong in (name[:-1], name.lower()):
            injected = f"# Parameters\n{wrong} = {chapter.defaults[name]!r}\n"
            with pytest.raises(ParameterError, match=rf"unknown parameter {wrong}:.*Did you mean {name}\?"):
                check_parameters(namespace([injected], **chapter.defaults, **{wrong: chapter.defaults[name]}),
                                 **chapter.rules)


def _first_call_name(node: ast.AST) -> str | None:
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    if not calls:
        return None
    func = calls[0].func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


@pytest.mark.parametrize("source", CHAPTERS, ids=CHAPTER_IDS)
def test_the_check_comes_first_in_the_first_code_cell(source):
    """Only imports, definitions and setup_notebook may come before check_parameters: no data, no model."""
    cells = json.loads(source.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    parameters = next(i for i, c in enumerate(code) if "parameters" in c["metadata"].get("tags", []))
    first = "".join(code[parameters + 1]["source"])
    assert "check_parameters(globals()" in first, "the cell after the parameters cell must check them"
    for statement in ast.parse(first).body:
        if _first_call_name(statement) == "check_parameters":
            break
        allowed = isinstance(statement, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef) or \
            _first_call_name(statement) in ("setup_notebook", None)
        assert allowed, f"{source.name} runs `{ast.unparse(statement)[:80]}` before it checks its parameters"


BY_NAME = {c.stem[:2]: c for c in CHAPTERS}
# Values a learner is likely to try, with the words the refusal must contain (the real papermill runs of
# these cases moved here: the same rule, read from the same call, refuses them without a kernel).
KNOWN_CASES = [
    ("01", {"PAYOFF_LENGTH": 1}, r"PAYOFF_LENGTH = 1 is not allowed.*from 2 to 1000"),
    ("02", {"TARGET_SPARSITY": 1.5}, r"TARGET_SPARSITY = 1.5 is not allowed.*strictly between 0 and 1"),
    ("02", {"TARGET_SPARSITY": -0.1}, r"TARGET_SPARSITY = -0.1 is not allowed.*strictly between 0 and 1"),
    ("03", {"EVAL_TOKENS": -5}, r"EVAL_TOKENS = -5 is not allowed.*whole number >= 1000"),
    ("04", {"MAX_SEQ_LENGTH": 8}, r"MAX_SEQ_LENGTH = 8 is not allowed.*from 32 to 512"),
    ("05", {"CALIBRATION_BATCHES": 0}, r"CALIBRATION_BATCHES = 0 is not allowed.*from 1 to 100"),
    ("05", {"ENGINE": "qnnpack"}, r"ENGINE = 'qnnpack' is not allowed.*x86"),
    ("06", {"TEMPERATURE": 0}, r"TEMPERATURE = 0 is not allowed.*strictly between 0 and 100"),
    ("06", {"ALPHA": 1.5}, r"ALPHA = 1.5 is not allowed.*from 0 to 1"),
    ("06", {"LABELLED_FRACTION": 0.0}, r"LABELLED_FRACTION = 0.0 is not allowed.*strictly between 0 and 1"),
    ("07", {"MAX_NORM": 0}, r"MAX_NORM = 0 is not allowed.*strictly between 0 and 100"),
    ("08", {"IMAGES": "cifar"}, r"IMAGES = 'cifar' is not allowed.*fashion-embedded"),
    ("08", {"SEED": -2}, r"SEED = -2 is not allowed"),
]


@pytest.mark.parametrize("chapter, parameters, message", KNOWN_CASES,
                         ids=[f"{c}-{next(iter(p))}" for c, p, _ in KNOWN_CASES])
def test_known_bad_values_are_refused(chapter, parameters, message):
    read = read_chapter(BY_NAME[chapter])
    with pytest.raises(ParameterError, match=message):
        check_parameters(namespace(**{**read.defaults, **parameters}), **read.rules)
