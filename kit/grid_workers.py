"""Chapter 8's grid trained by several worker processes at once, torch's threads shared among them (one each on
two cores).

A grid model is a small CNN (12 to 256 channels) trained on batches of 64: a second thread speeds one of its
steps up far less than twofold, so on two cores two processes of one thread each can train more models per
minute than one process of two threads (`benchmarks/bench_grid_workers.py` measures by how much). Each model is
trained from its own seed in whichever process takes it, on the same number of threads (`threads_per_model`),
so what it learns does not depend on the scheduling. The parent hands every finished model on as it arrives
(to the resume file), the longest runs start first, and the data reach the workers as one `torch.save` file
each worker reads (no shared memory, which containers limit; no large write to a worker's start-up pipe). A
worker ends with its parent.
"""

from __future__ import annotations

import io
import multiprocessing
import queue
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from kit import allocator
from kit.compression_grid import GridData, Member, member_epochs, member_keep, member_model, train_here
from kit.models.cnn import SmallCNN
from kit.train import phases

MAX_WORKERS = 4   # each worker imports torch and holds the grid's data: a cap keeps a many-core server's RAM in bounds


def pool_size(threads: int | None = None) -> int:
    """How many workers train the grid: one per thread torch may use (`threads`, default torch's setting), at most
    MAX_WORKERS; 1 means train in this process."""
    threads = torch.get_num_threads() if threads is None else threads
    return max(1, min(MAX_WORKERS, int(threads)))


def threads_per_model(workers: int, threads: int | None = None) -> int:
    """The threads each grid model trains on when `workers` processes share `threads` (default torch's setting):
    what a later run must use to train one of them again bit for bit."""
    threads = torch.get_num_threads() if threads is None else threads
    return max(1, int(threads) // max(1, int(workers)))


def longest_first(members: list[Member], keeps: list[list[int]], data: GridData,
                  config: dict[str, Any]) -> list[Member]:
    """The members in the order their runs should start: most epochs first (Scratch-B of the smallest budget),
    so that no long run starts last while the other workers sit idle."""
    widths, classes = data.teacher.widths, data.teacher.classifier.out_features

    def epochs(member: Member) -> float:
        return member_epochs(member, member_keep(member, keeps, widths), widths, config, classes)

    return sorted(members, key=lambda m: -epochs(m))


def _write_payload(path: Path, data: GridData, logits: torch.Tensor, keeps: list[list[int]],
                   config: dict[str, Any]) -> None:
    """What every worker needs, as plain tensors, lists and numbers (loadable with weights_only=True), in a file:
    a worker reads it itself, so starting one writes only a few bytes to its pipe."""
    teacher = data.teacher
    fields = ("fit_images", "fit_labels", "valid_images", "valid_labels", "test_images", "test_labels")
    torch.save({"teacher": teacher.state_dict(), "widths": list(teacher.widths),
                "classes": teacher.classifier.out_features, "in_channels": teacher.in_channels,
                "tensors": {name: getattr(data, name) for name in fields}, "logits": logits, "keeps": keeps,
                "config": config}, path)


def _exit_with_parent() -> None:
    """In a worker: end this process as soon as its parent ends (killed, a closed kernel), whatever it is doing:
    a worker left alone would train the rest of the grid for no one."""
    import os
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="kit-grid-parent-watch", daemon=True).start()


def _work(payload: str, threads: int, reuse_memory: bool, tasks: Any, results: Any) -> None:
    """A worker process: one thread (or the share it was given), the grid's data read from `payload`, progress
    bars as labelled lines (workers share the terminal: redrawn bars would overwrite each other); it says when it
    is ready, then trains the members it takes from `tasks` until it takes None, putting each result, or the
    error, on `results`. `reuse_memory`: set the allocator as the parent's (kit.allocator)."""
    import os
    import signal
    import traceback

    from kit.allocator import keep_freed_memory
    from kit.progress import PROGRESS_ENV_VAR
    from kit.static_quantization import select_engine

    _exit_with_parent()
    if reuse_memory:
        keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the parent's to handle: it stops the workers
    if os.environ.get(PROGRESS_ENV_VAR, "auto") != "off":
        os.environ[PROGRESS_ENV_VAR] = "lines"
    torch.set_num_threads(threads)
    given = torch.load(payload, weights_only=True)
    teacher = SmallCNN(given["classes"], widths=tuple(given["widths"]), in_channels=given["in_channels"])
    teacher.load_state_dict(given["teacher"])
    config, keeps, logits = given["config"], given["keeps"], given["logits"]
    select_engine(config["engine"])
    data = GridData(teacher.eval(), **given["tensors"])
    results.put(("ready", None, None, None))
    while (member := tasks.get()) is not None:
        phases.reset()
        try:
            _, result = next(train_here([member], keeps, data, logits, config, named=True))
        except Exception as error:   # the parent names the model that failed, with this traceback
            results.put(("failed", member, f"{type(error).__name__}: {error}", traceback.format_exc()))
            return
        buffer = io.BytesIO()
        torch.save(result["model"].state_dict(), buffer)
        results.put(("done", member, buffer.getvalue(), (result["valid"], result["test"], phases.totals())))


def _stopped_words(processes: list[Any], ready: int, waiting: int) -> str:
    """Why the grid cannot go on: which workers stopped and how, and what to do about it."""
    stopped = [p for p in processes if p.exitcode is not None]
    codes = ", ".join(f"killed by signal {-p.exitcode}" if p.exitcode < 0 else f"exit code {p.exitcode}"
                      for p in stopped)
    words = f"a worker process training chapter 8's grid stopped ({codes}) with {waiting} model(s) not yet trained"
    if any(p.exitcode < 0 for p in stopped):
        return words + ": something outside it ended it (out of memory? see `dmesg`); run the same command again"
    if ready < len(processes):   # it stopped before it could read the data
        return (words + "; its error is printed above. Called from a script? Python starts each worker by "
                "importing that script: put the call under `if __name__ == \"__main__\":`")
    return words + "; its error is printed above"


def _next_result(results: Any, processes: list[Any], waiting: int, ready: list[int]) -> tuple:
    """The next finished member from `results` (counting the workers that said they are ready in `ready[0]`),
    checking every second that the workers still live: a worker that stopped with work left is an error, never a
    wait without end."""
    while True:
        try:
            item = results.get(timeout=1.0)
        except queue.Empty:
            stopped = [p for p in processes if p.exitcode is not None]
            crashed = any(p.exitcode != 0 for p in stopped)
            if not crashed and len(stopped) < len(processes):
                continue
            try:   # every worker is done: what one put just before it stopped may still be arriving
                item = None if crashed else results.get(timeout=2.0)
            except queue.Empty:
                item = None
            if item is None:
                raise RuntimeError(_stopped_words(processes, ready[0], waiting)) from None
        if item[0] == "ready":
            ready[0] += 1
            continue
        return item


def train_members(members: list[Member], keeps: list[list[int]], data: GridData, logits: torch.Tensor,
                  config: dict[str, Any], workers: int) -> Iterator[tuple[Member, dict[str, Any]]]:
    """Train `members` in up to `workers` processes; yield (member, {"model", "valid", "test"}) as each finishes.
    Each trains on `threads_per_model(workers)` threads; with one member or one worker, in this process.

    Leaving the loop early (an error, Ctrl-C) and closing the generator stops the workers; models already
    yielded are the caller's. The workers' loop phases are added to this process's sums (`kit.train.phases`),
    so they count worker-seconds: with N workers up to N times the wall time.
    """
    from kit.measure import torch_threads

    threads = threads_per_model(workers)
    workers = min(workers, len(members))
    if workers < 2:   # on the threads a worker would have: the same model whichever way it is trained
        for member in members:
            with torch_threads(threads):
                finished = next(train_here([member], keeps, data, logits, config))
            yield finished
        return
    classes, engine = data.teacher.classifier.out_features, config["engine"]
    context = multiprocessing.get_context("spawn")   # a fresh interpreter: no forked OpenMP or Jupyter state
    tasks, results = context.Queue(), context.Queue()
    for member in longest_first(members, keeps, data, config):
        tasks.put(member)
    for _ in range(workers):
        tasks.put(None)   # one stop per worker, after the work
    with tempfile.TemporaryDirectory(prefix="kit-grid-") as folder:
        payload = Path(folder) / "grid-data.pt"
        _write_payload(payload, data, logits, keeps, config)
        reuse_memory = allocator.in_use() == allocator.REUSE
        processes = [context.Process(target=_work, args=(str(payload), threads, reuse_memory, tasks, results),
                                     daemon=True, name=f"kit-grid-worker-{i}") for i in range(workers)]
        try:
            for process in processes:
                process.start()
            ready = [0]
            for waiting in range(len(members), 0, -1):
                outcome, member, blob, figures = _next_result(results, processes, waiting, ready)
                if outcome == "failed":
                    raise RuntimeError(f"training the grid model {member.key} failed in a worker process: {blob}\n"
                                       f"(its traceback there:)\n{figures}")
                valid, test, spent = figures
                phases.add(spent, processes=workers)
                with warnings.catch_warnings():   # torch's own rebuild of a quantized tensor (QAT's int8 weights)
                    warnings.filterwarnings("ignore", message="TypedStorage is deprecated")
                    state = torch.load(io.BytesIO(blob), weights_only=True)
                model = member_model(member.way, state, member_keep(member, keeps, data.teacher.widths), classes,
                                     engine)
                yield member, {"model": model, "valid": valid, "test": test}
        finally:   # done, failed or stopped: no worker outlives the loop
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                if process.pid is not None:
                    process.join(timeout=10)
            for channel in (tasks, results):
                channel.cancel_join_thread()   # items left behind must not block this process's exit
                channel.close()
