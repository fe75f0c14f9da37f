"""kit.grid_workers: the grid's models trained in worker processes are the models this process trains."""

import pytest
import torch

from kit.compression_grid import GridData, Member, train_here
from kit.distillation import teacher_logits
from kit.grid_workers import longest_first, pool_size, threads_per_model, train_members
from kit.models.cnn import SmallCNN
from kit.train import phases

KEEPS = [[4, 4, 8, 8]]
CONFIG = {"seed": 0, "criterion": "bn-scale", "calibration_batches": 1, "epochs": 0.5, "dense_epochs": 1,
          "scratch_epochs": 1.0, "train_memory_format": "channels_last", "warmup": 0.05, "temperature": 4.0,
          "alpha": 0.5, "qat_freeze": 0.8, "engine": "x86"}
MEMBERS = [Member(None, "labels", 3e-3, 0), Member(0, "distill", 3e-3, 1), Member(0, "qat", 3e-3, 0),
           Member(0, "scratch_b", 3e-3, 2)]


def tiny_data() -> GridData:
    torch.manual_seed(0)
    teacher = SmallCNN(10, widths=(8, 8, 16, 16)).eval()
    images, labels = torch.randn(192, 1, 32, 32), torch.randint(0, 10, (192,))
    return GridData(teacher, images[:128], labels[:128], images[128:160], labels[128:160], images[160:],
                    labels[160:])


def test_a_worker_trains_the_model_this_process_trains_on_one_thread():
    """Same seed, same data, one thread: every weight equal, QAT's int8 model included; accuracies equal too."""
    from kit.static_quantization import select_engine

    select_engine("x86")
    data = tiny_data()
    logits = teacher_logits(data.teacher, data.fit_images)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = dict(train_here(MEMBERS, KEEPS, data, logits, CONFIG))
    finally:
        torch.set_num_threads(threads)
    torch.set_num_threads(2)   # two workers of one thread each
    phases.reset()
    try:
        there = dict(train_members(MEMBERS, KEEPS, data, logits, CONFIG, workers=2))
    finally:
        torch.set_num_threads(threads)
    assert set(here) == set(there) == set(MEMBERS)
    for member in MEMBERS:
        a, b = here[member], there[member]
        assert (a["valid"], a["test"]) == (b["valid"], b["test"]), member.key
        state_a, state_b = a["model"].state_dict(), b["model"].state_dict()
        assert state_a.keys() == state_b.keys(), member.key
        for name, tensor in state_a.items():
            if isinstance(tensor, torch.Tensor):
                other = state_b[name]
                same = (torch.equal(tensor.int_repr(), other.int_repr()) and tensor.q_per_channel_scales().equal(
                    other.q_per_channel_scales()) if tensor.is_quantized and tensor.qscheme() in (
                    torch.per_channel_affine, torch.per_channel_symmetric) else torch.equal(tensor, other))
                assert same, (member.key, name)
    assert there[MEMBERS[2]]["model"].__class__ is not SmallCNN   # QAT came back converted (int8)
    assert phases.processes() == 2 and phases.totals()["forward"] > 0   # the workers' loop phases were added
    phases.reset()


def test_a_failing_model_names_itself_and_longest_runs_start_first():
    data = tiny_data()
    logits = teacher_logits(data.teacher, data.fit_images)
    broken = Member(0, "labels", -1.0, 0)   # a negative learning rate: Adam refuses it
    with pytest.raises(RuntimeError, match="training the grid model b0-labels-lr-1-s0 failed"):
        list(train_members([broken, MEMBERS[0]], KEEPS, data, logits, CONFIG, workers=2))
    order = longest_first(MEMBERS, KEEPS, data, CONFIG)
    assert order[0].way == "scratch_b"   # 1 epoch x the dense-to-small MAC ratio: the longest run
    assert pool_size(2) == 2 and pool_size(1) == 1 and pool_size(64) == 4


def test_a_worker_that_stops_early_is_an_error_not_a_wait(monkeypatch):
    import kit.grid_workers as workers_module

    monkeypatch.setattr(workers_module, "_write_payload", lambda path, *args: None)   # workers find no data file
    data = tiny_data()
    logits = teacher_logits(data.teacher, data.fit_images)
    with pytest.raises(RuntimeError, match=r"stopped \(exit code 1.*\) with 2 model\(s\) not yet trained.*main"):
        list(train_members(MEMBERS[:2], KEEPS, data, logits, CONFIG, workers=2))


def grid_workers_alive() -> list:
    import multiprocessing

    return [p for p in multiprocessing.active_children() if p.name.startswith("kit-grid-worker-")]


def test_an_interrupted_grid_stops_its_workers_and_resumes_without_its_finished_models():
    """Ctrl-C (or an error) in the caller's hands closes the stage: no worker outlives it; a second run trains
    only what the first did not finish, none twice."""
    from kit.compression_grid import train_grid

    data = tiny_data()
    config = dict(CONFIG, budgets=[0.5], lrs=[3e-3], seeds=[0, 1])
    scan = {"drops": {}, "keeps": KEEPS}
    done, finished = {}, []

    def stop_after_three(member, result):
        finished.append(member.key)
        if len(finished) == 3:
            raise KeyboardInterrupt("stopped by the test")

    def in_workers(*args):
        return train_members(*args, workers=2)

    with pytest.raises(KeyboardInterrupt):
        train_grid(data, config, done, stop_after_three, scan=scan, train_many=in_workers)
    assert len(done) == 3 and grid_workers_alive() == []
    grid = train_grid(data, config, done, lambda member, result: finished.append(member.key), scan=scan,
                      train_many=in_workers)
    assert len(finished) == len(set(finished)) == len(grid["members"]) == len(done)


WATCHED_SCRIPT = """
import threading, time, torch
from tests.unit.test_grid_workers import CONFIG, KEEPS, MEMBERS, grid_workers_alive, tiny_data
from kit.distillation import teacher_logits
from kit.grid_workers import train_members

if __name__ == "__main__":
    torch.set_num_threads(2)
    data = tiny_data()
    long = dict(CONFIG, epochs=2000.0, scratch_epochs=2000.0)
    trained = train_members(MEMBERS, KEEPS, data, teacher_logits(data.teacher, data.fit_images), long, workers=2)
    threading.Thread(target=lambda: next(trained), daemon=True).start()
    while len(grid_workers_alive()) < 2:
        time.sleep(0.1)
    print(" ".join(str(p.pid) for p in grid_workers_alive()), flush=True)
    time.sleep(600)
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    """A killed parent (a closed kernel, kill -9) takes its workers with it instead of leaving them training."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time
    from pathlib import Path

    def gone(pid):
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "ZX"
        except (FileNotFoundError, ProcessLookupError):
            return True

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "watched.py"
    script.write_text(WATCHED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(root), "KIT_PROGRESS": "off"}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, cwd=root)
    guard = threading.Timer(120, parent.kill)
    guard.start()
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and not any(gone(pid) for pid in pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while not all(gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert all(gone(pid) for pid in pids)
    finally:
        guard.cancel()
        parent.kill()


UNGUARDED_SCRIPT = """
import torch
from tests.unit.test_grid_workers import CONFIG, KEEPS, MEMBERS, tiny_data
from kit.distillation import teacher_logits
from kit.grid_workers import train_members

torch.set_num_threads(2)
data = tiny_data()
list(train_members(MEMBERS[:2], KEEPS, data, teacher_logits(data.teacher, data.fit_images), CONFIG, workers=2))
"""


def test_a_script_without_a_main_guard_gets_an_error_that_names_the_fix(tmp_path):
    """Spawned workers import the calling script again; without `if __name__ == "__main__":` each one tries to
    start workers of its own and stops. The script must end with an error that says so, not wait for ever."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(root), "KIT_PROGRESS": "off"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=240, env=env,
                          cwd=root)
    assert done.returncode != 0
    assert "put the call under `if __name__ == \"__main__\":`" in done.stderr, done.stderr[-2000:]


def test_one_worker_or_one_model_trains_in_this_process(monkeypatch):
    import kit.grid_workers as workers_module

    monkeypatch.setattr(workers_module.multiprocessing, "get_context",
                        lambda *a: (_ for _ in ()).throw(AssertionError("no pool for one model")))
    data = tiny_data()
    logits = teacher_logits(data.teacher, data.fit_images)
    assert [m for m, _ in train_members(MEMBERS[:1], KEEPS, data, logits, CONFIG, workers=2)] == MEMBERS[:1]
    assert [m for m, _ in train_members(MEMBERS[:2], KEEPS, data, logits, CONFIG, workers=1)] == MEMBERS[:2]
    seen = []
    monkeypatch.setattr(workers_module, "train_here",
                        lambda members, *args: iter([(members[0], seen.append(torch.get_num_threads()))]))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:   # one model left for two workers: trained here, on the one thread a worker would have used
        assert [m for m, _ in train_members(MEMBERS[:1], KEEPS, data, logits, CONFIG, workers=2)] == MEMBERS[:1]
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert threads_per_model(2, threads=2) == 1 and threads_per_model(1, threads=2) == 2
