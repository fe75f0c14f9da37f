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
