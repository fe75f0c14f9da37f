"""Chapter 6 benchmark: students over seeds, the omitted class, the smaller BERT (full run), the explorer's latency.

    python benchmarks/bench_distillation.py                # writes benchmarks/results/distillation.{json,md}
    python benchmarks/bench_distillation.py --widget-only  # the explorer's update latency alone

Needs the full `cnn-fashion`, `bert-pairs` and `bert-student` checkpoints (trained first when missing:
`python -m kit prepare cnn-fashion bert-pairs bert-student`). An explorer update is everything one slider
move does: the soft targets and loss terms, the bars moved, one PNG rendered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, update_latency, write_report  # noqa: E402

CHAPTER = "06_knowledge_distillation"
TARGETS = {"widget median ms": 100, "BERT student time ratio": 0.5, "BERT student F1 drop (points)": 2.0,
           "BERT student int8 time ratio": 0.25, "chapter + student training seconds": 900}


def widget_latency(updates: int = 60) -> dict[str, dict[str, float]]:
    """Each control's updates as the explorer runs them (1 thread): soft targets and loss terms, bars moved,
    one PNG rendered — moving the image, T or alpha."""
    import torch

    from kit.checkpoints import ensure
    from kit.data.images import load_images
    from kit.distillation import teacher_logits
    from kit.widgets import SoftTargetFigure, soft_target_update

    torch.set_num_threads(1)
    images = load_images("fashion-embedded")
    logits = teacher_logits(ensure("cnn-fashion").model, images.valid_images[:updates])
    student = torch.randn_like(logits) * 2
    figure = SoftTargetFigure(images.classes)

    def move(i: int, temperature: float, alpha: float, image: bool):
        def run() -> None:
            view = soft_target_update(logits[i], student[i], int(images.valid_labels[i]), temperature, alpha)
            figure.update(view, images.valid_images[i] if image else None)
            figure.png()
        return run

    return {"image": update_latency([move(i, 4.0, 0.5, True) for i in range(updates)]),
            "T": update_latency([move(0, 0.5 + (i % 40) / 2, 0.5, False) for i in range(updates)]),
            "alpha": update_latency([move(0, 4.0, (i % 21) / 20, False) for i in range(updates)])}


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widget-only", action="store_true")
    args = parser.parse_args()
    widget = widget_latency()
    checks = [(f"explorer update ({name}), median ms", row["median_ms"], TARGETS["widget median ms"])
              for name, row in widget.items()]
    lines = ["# Chapter 6 (knowledge distillation)", "",
             f"Explorer updates, 1 thread (target: median <= {TARGETS['widget median ms']} ms):", "",
             "| control | median | p90 | max | CPU (median) | updates |", "|---|---|---|---|---|---|",
             *(f"| {name} | {row['median_ms']:.0f} ms | {row['p90_ms']:.0f} ms | {row['max_ms']:.0f} ms | "
               f"{row['cpu_median_ms']:.0f} ms | {row['updates']} |" for name, row in widget.items()), ""]
    if args.widget_only:
        print("\n".join(lines))
        fail_if_missed("bench_distillation", over_target(checks))
        return
    from kit.checkpoints import verify

    result = run_full(CHAPTER)
    result["widget_latency"] = widget
    f = result["figures"]
    student_seconds = verify("bert-student")["train_seconds"]
    total_seconds = result["chapter_seconds_full"] + student_seconds
    lines[0] = f"# Chapter 6 (knowledge distillation) — {result['cpu']}"
    seeds = len(f["seeds"])
    lines += [f"Student CNN, {seeds} seeds, {f['epochs']} epochs each, T = {f['temperature']:g}, "
              f"α = {f['alpha']:g}; test accuracy, mean ± standard deviation over seeds; teacher "
              f"{f['teacher_test_accuracy']:.2%}.", "",
              "| student | test accuracy | gain over its baseline (paired, points) |", "|---|---|---|"]
    for name, values, baseline in (("labels only", f["response_test"]["labels only"], None),
                                   ("distilled", f["response_test"]["distilled"], "labels only"),
                                   ("teacher only", f["response_test"]["teacher only"], "labels only"),
                                   ("distilled + hint", f["extra_test"]["distilled + hint"], "distilled"),
                                   ("distilled + relation", f["extra_test"]["distilled + relation"], "distilled")):
        m, s = mean_std(values)
        gain = ""
        if baseline:
            g, gs = mean_std([100 * (a - b) for a, b in zip(values, f["response_test"][baseline], strict=True)])
            gain = f"{g:+.2f} ± {gs:.2f} vs {baseline}"
        lines.append(f"| {name} | {100 * m:.2f} ± {100 * s:.2f} | {gain} |")
    few = f["few_test"]
    few_gains = [100 * (a - b) for a, b in zip(few["distilled"], few["labels only"], strict=True)]
    few_gain, few_gain_std = mean_std(few_gains)
    spread = max(100 * mean_std(few["distilled"])[1], 100 * mean_std(few["labels only"])[1], few_gain_std)
    for name in ("labels only", "distilled"):
        m, s = mean_std(few[name])
        lines.append(f"| {name}, {f['few_labels_fraction']:.0%} labels | {100 * m:.2f} ± {100 * s:.2f} | "
                     + (f"{few_gain:+.2f} ± {few_gain_std:.2f} vs labels only |" if name == "distilled" else " |"))
    raw = [r["raw"] for r in f["omitted"]]
    corrected = [r["corrected"] for r in f["omitted"]]
    lines += ["", f"Omitted class ({f['omitted_class']}, never in the transfer set): recognised "
              f"{100 * mean_std(raw)[0]:.1f} ± {100 * mean_std(raw)[1]:.1f} % of its test images before the bias "
              f"correction, {100 * mean_std(corrected)[0]:.1f} ± {100 * mean_std(corrected)[1]:.1f} % after.", "",
              "| BERT | dev F1 | size | 1-thread time / teacher (middle half) |", "|---|---|---|---|"]
    bert = f["bert"]
    for name, row in bert.items():
        timing = (f"{row['time_ratio']:.2f}x ({row['time_ratio_range'][0]:.2f}-{row['time_ratio_range'][1]:.2f})"
                  if row["time_ratio"] is not None else "")
        lines.append(f"| {name} | {row['f1']:.4f} | {row['bytes'] / 2**20:.1f} MiB | {timing} |")
    f1_drop = 100 * (bert["teacher"]["f1"] - bert["student"]["f1"])
    lines += ["", f"chapter run (full): {result['chapter_seconds_full']:.0f} s; the BERT student's training: "
              f"{student_seconds:.0f} s; together {total_seconds:.0f} s (target <= "
              f"{TARGETS['chapter + student training seconds']} s)"]
    write_report("distillation", result, lines)
    checks += [("few labels: spread minus distilled gain (points, must be < 0)", spread - few_gain, 0.0),
               ("BERT student / teacher time", bert["student"]["time_ratio"], TARGETS["BERT student time ratio"]),
               ("BERT student F1 drop (points)", f1_drop, TARGETS["BERT student F1 drop (points)"]),
               ("BERT student int8 / teacher time", bert["student int8"]["time_ratio"],
                TARGETS["BERT student int8 time ratio"]),
               ("chapter + student training (s)", total_seconds, TARGETS["chapter + student training seconds"])]
    fail_if_missed("bench_distillation", over_target(checks))


if __name__ == "__main__":
    main()
