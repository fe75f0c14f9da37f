import os
import warnings

import pytest
import torch

import kit


def test_setup_is_deterministic_and_offline(monkeypatch, capsys):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    try:
        setup = kit.setup_notebook(seed=3, threads=1)
        first = torch.rand(3)
        kit.setup_notebook(seed=3, threads=1, verbose=False)
        assert torch.equal(first, torch.rand(3))
        assert setup.threads == 1 and torch.get_num_threads() == 1
        assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
        printed = capsys.readouterr().out
        assert "1 thread" in printed and "deprecation warning" in printed
    finally:
        torch.set_num_threads(before)


def test_known_quantization_warning_is_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kit.setup_notebook(verbose=False)
        warnings.warn("torch.ao.quantization is deprecated and will be removed", DeprecationWarning, stacklevel=1)
        warnings.warn("something else", DeprecationWarning, stacklevel=1)
    messages = [str(w.message) for w in caught]
    assert messages == ["something else"]


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"seed": -1}, "seed"), ({"threads": -1}, "threads"), ({"threads": 1.5}, "threads")]
)
def test_setup_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kit.setup_notebook(verbose=False, **kwargs)


def test_known_log_lines_are_dropped_and_others_kept(caplog):
    import logging

    kit.setup_notebook(verbose=False)
    kit.setup_notebook(verbose=False)  # idempotent: one filter per logger
    assert len(logging.getLogger("torchao").filters) == 1
    with caplog.at_level(logging.WARNING):
        logging.getLogger("torchao").warning("Failed to load /x/_C_mxfp8.abi3.so: Could not load this library")
        logging.getLogger("torchao").warning("a real problem")
        logging.getLogger("torch.utils._pytree").warning("<enum 'X'> is an Enum subclass and is now natively supported")
    assert [r.getMessage() for r in caplog.records] == ["a real problem"]
