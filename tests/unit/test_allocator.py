"""kit.allocator: training processes reuse freed memory instead of faulting large tensors in again each step."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from kit import allocator
from kit.allocator import AllocatorSettingError, keep_freed_memory

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Twenty "training steps", each allocating two 45 MB tensors (over glibc's largest mmap threshold, 32 MB) and freeing
# them, as a language model's logits and their softmax: the page faults of each step.
STEPS = """
import json, resource
import torch
from kit import allocator
applied = allocator.keep_freed_memory()
hidden, weight = torch.ones(1120, 256), torch.full((256, 10000), 1e-3)
faults, totals = [], []
for _ in range(20):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    logits = hidden @ weight
    probabilities = torch.softmax(logits, dim=1)
    totals.append(float(probabilities.sum()))
    del logits, probabilities
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
def resident_mb():
    return int(open("/proc/self/statm").read().split()[1]) * resource.getpagesize() / 2**20
held = resident_mb()
allocator.give_back_freed_memory()
print(json.dumps({"applied": applied, "in_use": allocator.in_use(), "faults": faults, "totals": totals,
                  "held_mb": held, "after_give_back_mb": resident_mb()}))
"""
PAGES_PER_STEP = 2 * 1120 * 10000 * 4 // 4096


def run_steps(setting: str) -> dict:
    env = {"KIT_ALLOCATOR": setting, "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's (Linux)")
def test_reuse_stops_the_page_faults_of_repeated_large_allocations():
    system, reuse = run_steps("system"), run_steps("reuse")
    assert system["applied"] is False and system["in_use"] == allocator.SYSTEM
    assert reuse["applied"] is True and reuse["in_use"] == allocator.REUSE
    assert system["totals"] == reuse["totals"], "the same numbers either way"
    assert min(system["faults"][10:]) > 0.8 * PAGES_PER_STEP, "glibc's default faults both blocks in every step"
    assert max(reuse["faults"][10:]) < 0.05 * PAGES_PER_STEP, "once the heap is warm (a few steps), it is reused"
    assert reuse["held_mb"] - reuse["after_give_back_mb"] > 80, "the freed heap (at least two blocks) is handed back"


def test_an_unknown_setting_names_both_choices(monkeypatch):
    monkeypatch.setenv("KIT_ALLOCATOR", "jemalloc")
    with pytest.raises(AllocatorSettingError, match=r"KIT_ALLOCATOR='jemalloc'.*'reuse'.*'system'"):
        keep_freed_memory()


def test_prepare_reports_an_unknown_setting_before_training(tmp_path, monkeypatch, capsys):
    from kit.chapters import Need
    from kit.prepare import prepare_needs

    monkeypatch.setenv("KIT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KIT_ALLOCATOR", "fast")
    trained = []
    monkeypatch.setattr("kit.prepare.ensure", lambda *a, **k: trained.append(a))
    failures = prepare_needs([Need("lenet-fashion")], quick=True)
    assert not trained
    assert "KIT_ALLOCATOR='fast'" in failures[Need("lenet-fashion")]
    assert "[failed] lenet-fashion" in capsys.readouterr().out
