"""Training time is split into the phases of a step, summed across loops until the checkpoint store resets it."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

from kit.train import phases
from kit.train.loop import train_steps


def test_a_mark_adds_the_time_since_the_last_one_to_its_phase():
    phases.reset()
    clock = phases.PhaseClock()
    time.sleep(0.02)
    clock.mark("data")
    clock.mark("forward")
    totals = phases.totals()
    assert list(totals) == ["data", "forward"] and totals["data"] >= 0.02 and totals["forward"] < 0.01
    with pytest.raises(ValueError, match="unknown training phase 'loading'; the phases are data, forward"):
        clock.mark("loading")
    phases.reset()
    assert phases.totals() == {}


def test_the_generic_loop_marks_every_phase_of_a_step_and_sums_across_runs():
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    batch = (torch.randn(8, 4), torch.randint(0, 2, (8,)))

    def slow_batch():
        time.sleep(0.005)   # a slow data loader shows as data time
        return batch

    phases.reset()
    train_steps(model, slow_batch, steps=6, desc=None, on_step=lambda step, m: None)
    first = phases.totals()
    assert set(first) == {"data", "forward", "backward", "optimizer", "step hook", "bookkeeping", "checkpoint"}
    assert first["data"] >= 6 * 0.005 and first["data"] == max(first.values())
    train_steps(model, lambda: batch, steps=2, desc=None)
    assert phases.totals()["forward"] >= first["forward"]   # a second loop adds to the same sums


def test_a_worker_process_sums_are_added_and_counted_as_worker_seconds():
    phases.reset()
    assert phases.processes() == 1
    phases.add({"forward": 1.5, "backward": 2.0}, processes=2)
    phases.add({"forward": 0.5}, processes=2)
    assert phases.totals() == {"forward": 2.0, "backward": 2.0} and phases.processes() == 2
    with pytest.raises(ValueError, match="unknown training phase 'loading'"):
        phases.add({"loading": 1.0}, processes=2)
    phases.reset()
    assert phases.totals() == {} and phases.processes() == 1
