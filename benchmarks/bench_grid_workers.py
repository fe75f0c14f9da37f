"""Chapter 8's grid: one process of all threads against worker processes of one thread each (kit.grid_workers).

    python benchmarks/bench_grid_workers.py [--scale 0.05] [--rounds 2]
    # writes benchmarks/results/grid_workers.{json,md}

Needs the full `cnn-fashion` checkpoint (trained first otherwise). Every one of the full grid's 58 models, in the
full grid's plan (its budgets' shapes from the sensitivity scan, every way and seed), with every run's epochs
multiplied by `--scale`, so the mix of shapes and ways is the full grid's and one pass takes a minute or two. The
two ways alternate (A B B A ...) in this one process; the ratio per round is the one-process time over the
workers' time. Work that does not shrink with the epochs (building each model, BatchNorm recalibration, scoring
on 2,000 images, starting the workers) weighs more here than in the full grid. Target: the workers at least 1.1x
faster, else `kit.grid_workers` is not worth its processes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, write_report  # noqa: E402

TARGET = 1.1   # workers' speed-up over one process, at least


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05, help="fraction of every run's epochs (0 < s <= 1)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of (one process, workers), order alternating")
    args = parser.parse_args()
    if not 0 < args.scale <= 1 or args.rounds < 1:
        parser.error(f"--scale is in (0, 1] and --rounds >= 1, got {args.scale} and {args.rounds}")

    import torch

    from kit.checkpoints import ensure
    from kit.compression_grid import GridData, later_members, plan_shapes, selection_members, train_here
    from kit.data.images import load_images
    from kit.distillation import teacher_logits
    from kit.grid_workers import pool_size, threads_per_model, train_members
    from kit.measure import cpu_description
    from kit.recipes import RECIPES
    from kit.static_quantization import select_engine

    threads = torch.get_num_threads()
    workers = pool_size()
    if workers < 2:
        raise SystemExit(f"torch uses {threads} thread(s) here: with one worker there is nothing to compare")
    config = RECIPES["cnn-grid"].config(False, "fashion-embedded")
    config = dict(config, epochs=config["epochs"] * args.scale, scratch_epochs=config["scratch_epochs"] * args.scale)
    select_engine(config["engine"])
    d = load_images(config["data"])
    data = GridData(ensure("cnn-fashion").model, d.fit_images, d.fit_labels, d.valid_images, d.valid_labels,
                    d.test_images, d.test_labels)
    _, keeps = plan_shapes(data, config)
    logits = teacher_logits(data.teacher, data.fit_images)
    first = selection_members(config)
    members = first + later_members(config, {m.key: 0.0 for m in first})   # ties: the first rate (speed only)

    def one_process() -> None:
        for _ in train_here(members, keeps, data, logits, config):
            pass

    def in_workers() -> None:
        for _ in train_members(members, keeps, data, logits, config, workers=workers):
            pass

    seconds: dict[str, list[float]] = {"one process": [], "workers": []}
    ways = {"one process": one_process, "workers": in_workers}
    for r in range(args.rounds):
        for name in (("one process", "workers") if r % 2 == 0 else ("workers", "one process")):
            start = time.perf_counter()
            ways[name]()
            seconds[name].append(time.perf_counter() - start)
            print(f"round {r + 1}: {name} {seconds[name][-1]:.1f} s", flush=True)
    ratios = [a / b for a, b in zip(seconds["one process"], seconds["workers"], strict=True)]
    ratio = statistics.median(ratios)
    cpu = cpu_description()
    result = {"cpu": cpu, "threads": threads, "workers": workers, "scale": args.scale, "members": len(members),
              "seconds": seconds, "ratios": ratios, "ratio": ratio, "target": TARGET}
    lines = [f"# Chapter 8's grid: one process against {workers} workers — {cpu}", "",
             f"The full grid's {len(members)} models at {args.scale:g} of their epochs; one process on {threads} "
             f"threads against {workers} worker processes of {threads_per_model(workers)} thread(s) each, "
             f"{args.rounds} round(s), order alternating.", "",
             "| round | one process | workers | ratio |", "|---|---|---|---|"]
    lines += [f"| {i + 1} | {a:.1f} s | {b:.1f} s | {a / b:.2f}x |"
              for i, (a, b) in enumerate(zip(seconds["one process"], seconds["workers"], strict=True))]
    lines += ["", f"Median ratio {ratio:.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x); target at least "
              f"{TARGET}x."]
    write_report("grid_workers", result, lines)
    fail_if_missed("grid workers", [f"workers {ratio:.2f}x faster than one process, under {TARGET}x"]
                   if ratio < TARGET else [])


if __name__ == "__main__":
    main()
