"""Chapter 2 benchmark: widget update latency, and the chapter's own measured figures (full run).

    python benchmarks/bench_pruning.py            # writes benchmarks/results/pruning.{json,md}
    python benchmarks/bench_pruning.py --no-chapter   # widget latency only

Widget latency is the full work of one slider move as the widget does it: prune a copy, measure the
accuracy on 1,000 held-out images, move the figure's artists and render it to PNG; median, 90th
percentile, max and CPU time per update, for each control.

The chapter's figures come from its full run: prune -> fine-tune rounds over three seeds (each round's
difference to a dense model given the same steps, mean ± standard error, kit.stats), and the slim LeNets'
speed-ups against the fastest FP32 form of the dense LeNet (kit.best_fp32: eager or channels_last), split
into layout and pruning.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KIT_PROGRESS", "off")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import torch  # noqa: E402

from benchmarks.chapter_figures import fail_if_missed, run_full, update_latency, write_report  # noqa: E402
from kit import widgets  # noqa: E402
from kit.checkpoints import ensure  # noqa: E402
from kit.data.images import load_images  # noqa: E402
from kit.measure import cpu_description  # noqa: E402

UPDATES = 24  # per method, the issue asks for at least 20
# Targets (full run, default parameters): prune -> fine-tune keeps one point of a dense model given the same steps
# (mean of the chapter's seeds) up to this global sparsity, as iterative magnitude pruning does for LeNet-5 in the
# literature (Han et al., 2015: 92 % of LeNet-5's weights on MNIST without loss); at least one structured choice
# is >= 1.5x faster than the fastest dense FP32 form (the whole middle half of its rounds) for <= 1 point on
# average; a widget update (prune, score 1,000 images, draw) stays interactive.
TARGETS = {"imp sparsity within 1 point": 0.90, "structured speed-up": 1.5, "structured points": -1.0,
           "widget median ms": 100}


def widget_latency(quick: bool) -> dict[str, dict[str, float]]:
    """Each control's updates as the explorer runs them: prune a copy, score the images, move the figure's
    artists, render one PNG."""
    model = ensure("lenet-fashion", quick=quick).model
    data = load_images("fashion-embedded")
    images, labels = data.test_images[:1000], data.test_labels[:1000]
    figure = widgets.PruningFigure(model)

    def move(update):
        def run() -> None:
            figure.update(update())
            figure.png()
        return run

    amounts = [round(0.99 * i / (UPDATES - 1), 3) for i in range(UPDATES)]
    out = {}
    for method in widgets.METHOD_LABELS:
        out[method] = update_latency([move(lambda m=method, a=a: widgets.sparsity_update(model, m, a, images, labels))
                                      for a in amounts])
    largest = max(float(p.detach().abs().max()) for p in model.parameters())
    thresholds = [largest * i / (UPDATES - 1) * 0.5 for i in range(UPDATES)]
    out["threshold"] = update_latency([move(lambda t=t: widgets.threshold_update(model, t, images, labels))
                                       for t in thresholds])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-chapter", action="store_true", help="skip the full chapter run")
    parser.add_argument("--quick", action="store_true", help="use the quick checkpoint")
    args = parser.parse_args()
    result = {"cpu": cpu_description(), "threads": torch.get_num_threads(),
              "widget_latency": widget_latency(args.quick)}
    if not args.no_chapter:
        result["chapter"] = run_full("02_pruning")
    lines = [f"# Chapter 2 (pruning) — {result['cpu']}, {result['threads']} threads", "",
             "| widget update | median | p90 | max | CPU (median) | updates |", "|---|---|---|---|---|---|"]
    for name, row in result["widget_latency"].items():
        lines.append(f"| {name} | {row['median_ms']:.0f} ms | {row['p90_ms']:.0f} ms | {row['max_ms']:.0f} ms | "
                     f"{row['cpu_median_ms']:.0f} ms | {row['updates']} |")
    if "chapter" in result:
        f = result["chapter"]["figures"]
        lines += ["", "| chapter figure (full run) | value |", "|---|---|",
                  f"| dense accuracy | {f['dense_accuracy']:.2%} |",
                  f"| global sparsity chosen after prune → fine-tune ({len(f['imp_seeds'])} seeds) | "
                  f"{f['imp_best_sparsity_within_1pt']:.1%} |",
                  *(f"| round at {r['sparsity']:.0%}: pruned - dense, validation | {r['gap_points']:+.2f} ± "
                    f"{r['gap_se']:.2f} points |" for r in f["imp_rounds"]),
                  f"| masked / dense latency (1 thread) | {f['latency_ratio_masked']:.2f}x |",
                  f"| masked / dense size | {f['size_ratio_masked']:.2f}x |",
                  f"| removed (CSR) / dense size | {f['size_ratio_csr']:.2f}x |",
                  f"| fastest dense FP32 form (the reference) | {f['structured_dense_reference']}, "
                  f"{f['structured_layout_speedup']:.2f}x faster than eager |",
                  *(f"| slim LeNet, {r['choice']} {tuple(r['widths'])} | {r['speedup']:.2f}x faster than the reference "
                    f"({r['speedup_low']:.2f}-{r['speedup_high']:.2f}x; {r['speedup_vs_eager']:.2f}x vs eager), size "
                    f"{r['size_ratio']:.2f}x, validation {r['fine_tuned']:.2%} ({r['points']:+.2f} ± "
                    f"{r['points_se']:.2f} points vs dense, same steps) |" for r in f["structured"]),
                  f"| chapter run time, full | {result['chapter']['chapter_seconds_full']:.0f} s |"]
    write_report("pruning", result, lines)
    missed = [f"widget {name}: median {row['median_ms']:.0f} ms > {TARGETS['widget median ms']} ms"
              for name, row in result["widget_latency"].items() if row["median_ms"] > TARGETS["widget median ms"]]
    if "chapter" in result:
        f = result["chapter"]["figures"]
        if f["imp_best_sparsity_within_1pt"] < TARGETS["imp sparsity within 1 point"] - 1e-9:
            missed.append(f"prune -> fine-tune: {f['imp_best_sparsity_within_1pt']:.0%} sparsity within one point "
                          f"of the dense model trained as long (target {TARGETS['imp sparsity within 1 point']:.0%})")
        if not any(r["speedup_low"] >= TARGETS["structured speed-up"] and r["points"] >= TARGETS["structured points"]
                   for r in f["structured"]):
            missed.append("no structured choice is >= 1.5x faster than the fastest dense FP32 form (whole middle "
                          "half of its rounds) for <= 1 point (mean over seeds)")
    fail_if_missed("bench_pruning", missed)


if __name__ == "__main__":
    main()
