"""Training resumes: an interrupted run, continued from its saved state, ends with the weights of an
uninterrupted one (same seed); Ctrl-C saves at the end of the step; a foreign or damaged file is ignored."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from torch import nn

from kit.checkpoints import ensure, folder_for, resume_path
from kit.models.lstm_lm import LSTMModel
from kit.train import resume as resume_module
from kit.train.batches import epoch_batches
from kit.train.classify import fit_classifier
from kit.train.language_model import train_language_model
from kit.train.loop import train_steps
from kit.train.resume import ResumeFile


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setenv("KIT_PROGRESS", "off")


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Press Ctrl-C as a terminal would: a Python started with SIGINT ignored (a job started in the background,
    `nohup make test &`) keeps ignoring it, and the training loops rightly leave an ignored Ctrl-C ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def interrupt_at(monkeypatch, step: int) -> None:
    """Deliver a real SIGINT (Ctrl-C) to this process just after `step` steps are recorded."""
    record = resume_module.TrainingRun.record

    def record_then_interrupt(self, loss, grad_norm):
        record(self, loss, grad_norm)
        if self.step == step:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(resume_module.TrainingRun, "record", record_then_interrupt)


def classifier_data(n=96):
    generator = torch.Generator().manual_seed(1)
    return torch.randn(n, 6, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def fresh_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 3))


def test_ctrl_c_saves_and_the_resumed_run_matches_an_uninterrupted_one(tmp_path, monkeypatch):
    x, y = classifier_data()
    reference = fresh_mlp()
    full = fit_classifier(reference, x, y, epochs=3, batch_size=16, seed=0)  # 18 steps, dropout on

    resume = ResumeFile(tmp_path / "state.pt", {"run": 1}, every_s=3600)  # only the interrupt saves
    with monkeypatch.context() as patch:
        interrupt_at(patch, 7)
        with pytest.raises(KeyboardInterrupt, match="resume from step 7"):
            fit_classifier(fresh_mlp(), x, y, epochs=3, batch_size=16, seed=0, resume=resume)
    assert resume.path.is_file()
    model = fresh_mlp()
    model[0].weight.data.zero_()  # whatever it starts from, the saved state wins
    resumed = fit_classifier(model, x, y, epochs=3, batch_size=16, seed=0, resume=resume)
    assert resumed.losses == full.losses
    for a, b in zip(reference.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_adamw_with_warmup_schedule_resumes_exactly(tmp_path, monkeypatch):
    """Scheduler, AdamW moments and the sampler's shuffles are all part of the saved state."""
    x, y = classifier_data()

    def run(resume=None):
        model = fresh_mlp()
        _, sampler = epoch_batches(len(y), 16, seed=0)

        def next_batch():
            index = sampler()
            return x[index], y[index]

        history = train_steps(model, next_batch, steps=15, lr=1e-2, weight_decay=0.01, warmup=0.25,
                              resume=resume, sampler=sampler)
        return model, history

    reference, full = run()
    resume = ResumeFile(tmp_path / "state.pt", {"run": 2}, every_s=0)  # saves after every step
    with monkeypatch.context() as patch:
        interrupt_at(patch, 8)  # in the second epoch, after the warm-up
        with pytest.raises(KeyboardInterrupt):
            run(resume)
    model, resumed = run(resume)
    assert resumed.losses == full.losses
    for a, b in zip(reference.state_dict().values(), model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_language_model_resumes_with_its_carried_hidden_state(tmp_path, monkeypatch):
    ids = torch.randint(0, 50, (2000,), generator=torch.Generator().manual_seed(3))

    def model():
        torch.manual_seed(0)
        return LSTMModel(50, 16, 16, 2, dropout=0.2)

    reference = model()
    full = train_language_model(reference, ids, epochs=1.0, batch_size=4, bptt=20, lr=1e-2)
    resume = ResumeFile(tmp_path / "lm.pt", {"run": 3}, every_s=0)
    with monkeypatch.context() as patch:
        interrupt_at(patch, 9)
        with pytest.raises(KeyboardInterrupt):
            train_language_model(model(), ids, epochs=1.0, batch_size=4, bptt=20, lr=1e-2, resume=resume)
    resumed_model = model()
    resumed = train_language_model(resumed_model, ids, epochs=1.0, batch_size=4, bptt=20, lr=1e-2, resume=resume)
    assert resumed.losses == full.losses
    for a, b in zip(reference.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_state_for_another_configuration_or_a_damaged_file_is_ignored(tmp_path, capsys):
    path = tmp_path / "state.pt"
    ResumeFile(path, {"lr": 1}).save({"step": 3})
    assert ResumeFile(path, {"lr": 1}).load()["step"] == 3
    assert ResumeFile(path, {"lr": 2}).load() is None
    assert "another configuration" in capsys.readouterr().out
    path.write_bytes(b"not a torch file")
    assert ResumeFile(path, {"lr": 1}).load() is None
    assert "unreadable" in capsys.readouterr().out


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "state.pt"
    resume = ResumeFile(path, {"a": 1})
    resume.save({"step": 1})

    def crash(obj, f):
        with open(f, "wb") as handle:
            handle.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(resume_module.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        resume.save({"step": 2})
    assert ResumeFile(path, {"a": 1}).load()["step"] == 1, "the previous state survives a crash while saving"
    assert [p.name for p in tmp_path.iterdir()] == ["state.pt"], "no temporary file is left behind"


def test_interrupted_quick_checkpoint_resumes_to_the_same_manifest(tmp_path, monkeypatch):
    """The real recipe: LeNet (quick) interrupted mid-way by Ctrl-C, resumed by ensure(), same metrics."""
    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "straight"))
    straight = ensure("lenet-fashion", quick=True)

    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path / "interrupted"))
    with monkeypatch.context() as patch:
        interrupt_at(patch, 50)
        with pytest.raises(KeyboardInterrupt):
            ensure("lenet-fashion", quick=True)
    folder = folder_for("lenet-fashion", quick=True)
    assert resume_path(folder).is_file() and not folder.exists(), "a saved state, and no half-written checkpoint"
    resumed = ensure("lenet-fashion", quick=True)
    assert resumed.trained_now
    assert resumed.metrics == straight.metrics
    assert resumed.losses == straight.losses
    assert not resume_path(folder).exists(), "the state is removed once the checkpoint is stored"


def test_ctrl_c_in_the_cli_ends_with_one_line_and_status_130(monkeypatch, capsys):
    from kit import prepare as prepare_module
    from kit.__main__ import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("training interrupted at step 3 of 9; run the same command again to resume")

    monkeypatch.setattr(prepare_module, "prepare", interrupted)
    assert main(["prepare"]) == 130
    err = capsys.readouterr().err
    assert "stopped: training interrupted at step 3 of 9" in err and "Traceback" not in err


def test_an_ignored_ctrl_c_stays_ignored_during_training():
    """A grid worker ignores SIGINT (its parent stops it): the loop must not install its saving handler there."""
    import signal

    from kit.train.resume import deferred_interrupt

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with deferred_interrupt() as flag:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN and not flag.is_set()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with deferred_interrupt():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler   # the saving handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)
