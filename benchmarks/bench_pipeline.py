"""Chapter 8 benchmark: the combined compression pipeline against the dense FP32 CNN, and the grid explorer.

    python benchmarks/bench_pipeline.py                # writes benchmarks/results/pipeline.{json,md}
    python benchmarks/bench_pipeline.py --widget-only  # the explorer's update latency alone

Needs the full `cnn-fashion` and `cnn-grid` checkpoints (trained first when missing:
`python -m kit prepare cnn-fashion cnn-grid`). Every figure comes from the chapter's own full run, timed
side by side at 1 thread, batch 64. The best combined model is chosen as the chapter's recipe card chooses:
the fastest pruned int8 variant whose every seed is within 1 point of the dense model's *validation*
accuracy, and its mean drop within 1 point even with its standard error added; its *test* accuracy (mean
over its seeds) is what the target checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, update_latency, write_report  # noqa: E402

CHAPTER = "08_compression_pipeline"
TARGETS = {"combined speed-up": 3.0, "combined size ratio": 8.0, "combined test drop (points)": 1.0,
           "prune + distill speed-up": 1.5, "prune + distill test drop (points)": 1.0, "chapter seconds": 900,
           "widget median ms": 100}


def widget_latency(variants: list | None = None, updates: int = 60) -> dict[str, dict[str, float]]:
    """Each control's updates as the explorer runs them (1 thread): the variant looked up, the highlight
    moved, one PNG rendered."""
    import torch

    from kit.pareto import Variant
    from kit.widgets import ParetoFigure, pipeline_update

    torch.set_num_threads(1)
    if variants is None:   # the widget alone: a grid of the chapter's shape with made-up figures
        variants = [Variant("dense FP32", "dense", "none", "fp32", 0.9, 0.9, 1.0, 1_600_000, 14_000_000)]
        for b, budget in enumerate(("50% MACs", "30% MACs", "15% MACs")):
            for way in ("labels", "distill", "scratch"):
                for precision, speed in (("fp32", 1.0), ("int8 PTQ", 0.2)):
                    variants.append(Variant(f"{budget} {way} {precision}", budget, way, precision, 0.88 - b / 50,
                                            0.88, speed * (0.6 - b / 6), 400_000 >> b, 7_000_000 >> b))
    figure = ParetoFigure(variants, dense_accuracy=variants[0].valid_accuracy)
    budgets = list(dict.fromkeys(v.budget for v in variants))

    def move(budget: str, recovery: str, precision: str):
        def run() -> None:
            figure.update(pipeline_update(variants, budget, recovery, precision))
            figure.png()
        return run

    ways, precisions = ("labels", "distill", "scratch"), ("fp32", "int8 PTQ", "int8 QAT")
    return {"budget": update_latency([move(budgets[i % len(budgets)], "distill", "int8 PTQ") for i in range(updates)]),
            "recovery": update_latency([move(budgets[1], ways[i % 3], "fp32") for i in range(updates)]),
            "precision": update_latency([move(budgets[1], "distill", precisions[i % 3]) for i in range(updates)])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widget-only", action="store_true")
    args = parser.parse_args()
    if args.widget_only:
        widget = widget_latency()
        print("\n".join(f"{name}: median {row['median_ms']:.0f} ms, p90 {row['p90_ms']:.0f} ms"
                        for name, row in widget.items()))
        fail_if_missed("bench_pipeline", over_target([(f"explorer update ({n}), median ms", r["median_ms"],
                                                       TARGETS["widget median ms"]) for n, r in widget.items()]))
        return
    from kit.pareto import Variant, fastest_within

    result = run_full(CHAPTER)
    f = result["figures"]
    variants = [Variant(v["name"], v["budget"], v["recovery"], v["precision"], v["valid"], v["test"],
                        v["time_ratio"], v["bytes"], v["macs"], valid_worst=v["valid_worst"], seeds=v["seeds"],
                        valid_drop_se=v["valid_drop_se"]) for v in f["variants"]]
    dense = variants[0]
    widget = widget_latency(variants)
    result["widget_latency"] = widget
    # as the recipe card chooses (kit.pareto.fastest_within): every seed within 1 point of the dense model's
    # validation accuracy, and the mean drop within it with its standard error added
    combined = fastest_within([dense] + [v for v in variants if v.budget != "dense" and v.precision != "fp32"],
                              dense, 1)
    distilled = fastest_within([dense] + [v for v in variants if v.recovery == "distill" and v.precision == "fp32"],
                               dense, 1)
    combined, distilled = (None if v is dense else v for v in (combined, distilled))
    lines = [f"# Chapter 8 (compression pipeline) — {result['cpu']}", "",
             f"Against the dense FP32 CNN (validation {dense.valid_accuracy:.2%}, test {dense.test_accuracy:.2%}, "
             f"{dense.size_bytes / 1024:.0f} KiB); time at 1 thread, batch 64, measured side by side in the "
             "chapter's full run. Choices on validation accuracy; test accuracy reported once.", "",
             "| variant | seeds | validation (worst seed) | test | speed-up | smaller | on the front |",
             "|---|---|---|---|---|---|---|"]
    for v in sorted(variants, key=lambda v: v.time_ratio):
        lines.append(f"| {v.name} | {v.seeds} | {v.valid_accuracy:.2%} ({v.worst_valid_accuracy:.2%}) | "
                     f"{v.test_accuracy:.2%} | {1 / v.time_ratio:.2f}x | {dense.size_bytes / v.size_bytes:.1f}x | "
                     f"{'yes' if v.name in f['front'] else ''} |")
    checks = []
    for label, pick, speed_key, drop_key in (("best combined (pruned + int8)", combined, "combined speed-up",
                                              "combined test drop (points)"),
                                             ("pruning + distillation (FP32)", distilled, "prune + distill speed-up",
                                              "prune + distill test drop (points)")):
        if pick is None:
            lines += ["", f"{label}: no variant within 1 validation point of the dense model (every seed, and the "
                      "mean with its standard error)"]
            checks.append((f"{label}: a variant within 1 validation point exists (1 = missing)", 1.0, 0.0))
            continue
        drop = 100 * (dense.test_accuracy - pick.test_accuracy)
        lines += ["", f"{label}: {pick.name} — {1 / pick.time_ratio:.2f}x faster, "
                  f"{dense.size_bytes / pick.size_bytes:.1f}x smaller, test {pick.test_accuracy:.2%} "
                  f"({-drop:+.2f} points)"]
        checks += [(f"{label}: 1 / speed-up", pick.time_ratio, 1 / TARGETS[speed_key]),
                   (f"{label}: test accuracy drop (points)", drop, TARGETS[drop_key])]
        if pick is combined:
            checks.append((f"{label}: 1 / size ratio", pick.size_bytes / dense.size_bytes,
                           1 / TARGETS["combined size ratio"]))
    lines += ["", "Recovery, validation accuracy, distill − labels over seeds: " + "; ".join(f["recovery_verdicts"]),
              "", "Explorer updates, 1 thread (target: median <= 100 ms):", "",
              "| control | median | p90 | max | CPU (median) | updates |", "|---|---|---|---|---|---|",
              *(f"| {name} | {row['median_ms']:.0f} ms | {row['p90_ms']:.0f} ms | {row['max_ms']:.0f} ms | "
                f"{row['cpu_median_ms']:.0f} ms | {row['updates']} |" for name, row in widget.items()),
              "", f"chapter run (full, from prepared checkpoints): {result['chapter_seconds_full']:.0f} s "
              f"(target <= {TARGETS['chapter seconds']} s)"]
    write_report("pipeline", result, lines)
    checks += [(f"explorer update ({name}), median ms", row["median_ms"], TARGETS["widget median ms"])
               for name, row in widget.items()]
    checks.append(("chapter run (s)", result["chapter_seconds_full"], TARGETS["chapter seconds"]))
    fail_if_missed("bench_pipeline", over_target(checks))


if __name__ == "__main__":
    main()
