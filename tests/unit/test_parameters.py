"""Chapter parameters: out-of-range values and misspelled names are rejected with the fix in the message."""

from __future__ import annotations

import pytest

from kit.chapters import assign_parameters, needs, parse_assignment
from kit.parameters import ParameterError, check_parameters, flag, injected_names, number, one_of, text, whole
from kit.prepare import Need
from tests.conftest import CHAPTERS

BY_NAME = {c.stem[:2]: c for c in CHAPTERS}


def namespace(history=(), **values):
    return {"_ih": ["", *history], **values}


def test_values_in_range_pass_and_out_of_range_name_the_parameter_and_range():
    rules = {"QUICK": flag(), "SEED": whole(0), "TARGET_SPARSITY": number(0, 1, open=True),
             "IMAGES": one_of("a", "b"), "MODEL": text()}
    good = dict(QUICK=False, SEED=3, TARGET_SPARSITY=0.9, IMAGES="a", MODEL="minilm")
    check_parameters(namespace(**good), **rules)
    for name, bad, words in [("TARGET_SPARSITY", 1.5, "strictly between 0 and 1"),
                             ("TARGET_SPARSITY", -0.1, "strictly between 0 and 1"),
                             ("TARGET_SPARSITY", True, "strictly between"),
                             ("SEED", -1, "whole number >= 0"), ("SEED", 2.5, "whole number"),
                             ("QUICK", 1, "True or False"), ("IMAGES", "c", "one of 'a', 'b'"),
                             ("MODEL", "", "non-empty")]:
        with pytest.raises(ParameterError, match=rf"{name} = .* must be .*{words}"):
            check_parameters(namespace(**{**good, name: bad}), **rules)


def test_a_name_papermill_injected_but_the_chapter_lacks_is_rejected_with_the_closest_name():
    rules = {"QUICK": flag(), "PAYOFF_STEPS": whole(1)}
    injected = "# Parameters\nPAYOFF_STEP = 10\n"
    with pytest.raises(ParameterError, match="unknown parameter PAYOFF_STEP.*Did you mean PAYOFF_STEPS"):
        check_parameters(namespace([injected], QUICK=False, PAYOFF_STEPS=4, PAYOFF_STEP=10), **rules)
    with pytest.raises(ParameterError, match="unknown parameter quick.*Did you mean QUICK"):
        check_parameters(namespace(["# Parameters\nquick = True\n"], QUICK=False, PAYOFF_STEPS=4, quick=True),
                         **rules)
    # the chapter's own parameters cell is not papermill's: its first line says more
    own = "# Parameters (papermill overrides these)\nQUICK = False\nOTHER = 1\n"
    assert injected_names([own]) == []
    check_parameters(namespace([own, "# Parameters\nQUICK = True\n"], QUICK=True, PAYOFF_STEPS=4), **rules)


def test_book_parameters_go_to_the_chapters_that_define_them_and_unknown_names_are_refused():
    chapters = [BY_NAME["01"], BY_NAME["02"]]
    assigned = assign_parameters(chapters, {"SEED": 7, "TARGET_SPARSITY": 0.8})
    assert assigned[BY_NAME["01"]] == {"SEED": 7}
    assert assigned[BY_NAME["02"]] == {"SEED": 7, "TARGET_SPARSITY": 0.8}
    with pytest.raises(ParameterError, match="unknown parameter PAYOFF_STEP.*Did you mean PAYOFF_STEPS"):
        assign_parameters(chapters, {"PAYOFF_STEP": 10})
    with pytest.raises(ParameterError, match="Did you mean QUICK"):
        assign_parameters(chapters, {"quick": True})


def test_parse_assignment():
    assert parse_assignment("SEED=7") == ("SEED", 7)
    assert parse_assignment("TARGET_SPARSITY=0.8") == ("TARGET_SPARSITY", 0.8)
    assert parse_assignment("IMAGES=mnist") == ("IMAGES", "mnist")
    assert parse_assignment("QUICK=True") == ("QUICK", True)
    with pytest.raises(ParameterError, match="NAME=VALUE"):
        parse_assignment("SEED")


def test_chapters_declare_their_checkpoints_in_metadata():
    assert needs(BY_NAME["01"]) == []
    assert needs(BY_NAME["02"]) == [Need("lenet-fashion", (("data", "fashion-embedded"),))]
    assert needs(BY_NAME["03"], {"CORPUS": "wikitext-2"}) == [Need("lstm-lm", (("data", "wikitext-2"),))]
    assert needs(BY_NAME["04"]) == [Need("bert-pairs", (("data", "verses"), ("base", "minilm")))]


def test_book_cli_refuses_an_unknown_parameter_before_any_work(capsys):
    from kit.__main__ import main

    assert main(["book", "01", "--param", "PAYOFF_STEP=10"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter PAYOFF_STEP" in err and "PAYOFF_STEPS" in err


def test_a_need_can_ask_for_the_full_checkpoint_in_every_mode():
    assert needs(BY_NAME["06"]) == [Need("cnn-fashion", (("data", "fashion-embedded"),), full=True),
                                    Need("cnn-few-labels", (("data", "fashion-embedded"), ("fraction", 0.1))),
                                    Need("bert-pairs", (("data", "verses"),)),
                                    Need("bert-student", (("data", "verses"), ("seed", 0)))]
    assert needs(BY_NAME["06"], {"SEED": 7})[3] == Need("bert-student", (("data", "verses"), ("seed", 7)))
    assert str(needs(BY_NAME["06"])[0]) == "cnn-fashion (data=fashion-embedded, full in every mode)"


def test_chapter_8_asks_for_the_full_cnn_and_a_grid_of_its_own_seed():
    assert needs(BY_NAME["08"]) == [Need("cnn-fashion", (("data", "fashion-embedded"),), full=True),
                                    Need("cnn-grid", (("data", "fashion-embedded"), ("seed", 0)))]
    assert needs(BY_NAME["08"], {"SEED": 7})[1] == Need("cnn-grid", (("data", "fashion-embedded"), ("seed", 7)))


def test_book_cli_refuses_a_value_out_of_range_before_preparing_anything(capsys, monkeypatch):
    """The rules are read from the chapter's check_parameters call, so no checkpoint is trained for nothing."""
    import time

    from kit import prepare
    from kit.__main__ import main

    def must_not_prepare(*args, **kwargs):
        raise AssertionError("prepare_needs ran before the bad value was refused")

    monkeypatch.setattr(prepare, "prepare_needs", must_not_prepare)
    start = time.perf_counter()
    assert main(["book", "--param", "TEMPERATURE=0", "06"]) == 2
    err = capsys.readouterr().err
    assert "TEMPERATURE = 0 is not allowed: TEMPERATURE must be a number strictly between 0 and 100" in err
    assert "06_knowledge_distillation" in err
    assert time.perf_counter() - start < 5

