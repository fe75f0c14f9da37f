"""Chapter 5 benchmark: static int8, PT2E and QAT on the shared CNN (full run), against the best FP32 form.

    python benchmarks/bench_static.py      # writes benchmarks/results/static_quantization.{json,md}

Needs the full `cnn-fashion` checkpoint (`python -m kit prepare cnn-fashion`; trained first otherwise).

Every time ratio is against the fastest FP32 form the chapter measured in the same comparison (eager, BatchNorm
folded, folded + channels_last, folded + compiled: kit.best_fp32), never against FP32 as trained. The targets
are what the methods should reach on an x86 CPU with int8 dot-product instructions (VNNI): eager static int8 at
least twice as fast as the best FP32 at batch 64; the maintained PT2E path faster than the best FP32 by the
course's one verdict rule; int8 at a quarter of the bytes, within half a point; 4-bit QAT within a point of FP32
given the same fine-tuning.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, write_report  # noqa: E402
from kit import stats  # noqa: E402
from kit.measure import VERDICT_MARGIN  # noqa: E402

CHAPTER = "05_static_quantization_and_qat"
TARGETS = {"static vs best FP32, batch 64": 0.5, "static size ratio": 0.27, "static accuracy drop (points)": 0.5,
           "PT2E lowered vs best FP32, batch 64 (upper quartile)": 1 - VERDICT_MARGIN,
           "QAT 4-bit below FP32 with the same fine-tuning (points)": 1.0, "chapter seconds": 480}


def ratio_cell(f: dict, key: str, batch: int) -> str:
    low, high = f[f"{key}_vs_best_fp32_batch{batch}_range"]
    return (f"{f[f'{key}_vs_best_fp32_batch{batch}']:.2f}x ({low:.2f}-{high:.2f}), "
            f"{f[f'{key}_vs_best_fp32_batch{batch}_verdict']}")


def main() -> None:
    result = run_full(CHAPTER)
    seconds = result["chapter_seconds_full"]
    f = result["figures"]
    drop = (f["fp32_test_accuracy"] - f["static_test_accuracy"]) * 100
    qat4 = [v * 100 for v in f["bits_test"]["4-bit QAT"]]
    ptq4 = [v * 100 for v in f["bits_test"]["4-bit PTQ"]]
    tuned = [v * 100 for v in f["fp32_same_steps_test"]]
    qat4_vs_tuned = stats.paired(qat4, tuned)   # per seed: 4-bit QAT minus FP32 given the same fine-tuning
    qat4_below_tuned = -qat4_vs_tuned.mean
    lines = [f"# Chapter 5 (static quantization and QAT) — {result['cpu']}", "",
             f"CNN on {f['data']}, engine {f['engine']}, {f['calibration_batches']} calibration batches of 64; "
             "latency at 1 thread, every candidate in one interleaved comparison per batch size; ratios are the "
             "median of the per-round time ratios (middle half of the rounds), against the fastest FP32 form.", "",
             "| figure | this run | target |", "|---|---|---|"]
    for b in (1, 64):
        lines += [f"| batch {b}: fastest FP32 form | {f[f'best_fp32_batch{b}']} "
                  f"({f[f'best_fp32_vs_eager_batch{b}']:.2f}x FP32 eager; compiled in "
                  f"{f[f'fp32_compile_seconds_batch{b}']:.1f} s) | |",
                  f"| batch {b}: eager static int8 / best FP32 time | {ratio_cell(f, 'static', b)} | "
                  f"{'<= 0.5x' if b == 64 else ''} |",
                  f"| batch {b}: PT2E lowered / best FP32 time | {ratio_cell(f, 'pt2e_lowered', b)} | "
                  f"{'faster' if b == 64 else ''} |",
                  f"| batch {b}: eager static int8 / FP32 eager (for reference) | "
                  f"{f[f'static_vs_eager_fp32_batch{b}']:.2f}x | |"]
    lines += [f"| static int8 / folded FP32 size | {f['static_size_ratio']:.3f}x | <= 0.27x |",
              f"| test accuracy FP32 -> static int8 | {f['fp32_test_accuracy']:.2%} -> {f['static_test_accuracy']:.2%} "
              f"({-drop:+.2f} points) | drop <= 0.5 |",
              f"| 4-bit weights: PTQ / QAT / FP32 same fine-tuning, test ({f['qat_seeds']} seeds, means) | "
              f"{statistics.mean(ptq4):.2f} / {statistics.mean(qat4):.2f} / {statistics.mean(tuned):.2f} % | "
              "QAT within 1 point of FP32 same fine-tuning |",
              f"| 4-bit QAT - FP32 same fine-tuning, paired per seed | {qat4_vs_tuned.describe(' points')}: "
              f"{qat4_vs_tuned.verdict()} | |",
              f"| chapter run time, full | {seconds:.0f} s | <= 480 s |"]
    write_report("static_quantization", result, lines)
    checks = [("static int8 / best FP32 time, batch 64", f["static_vs_best_fp32_batch64"],
               TARGETS["static vs best FP32, batch 64"]),
              ("static int8 / folded FP32 size", f["static_size_ratio"], TARGETS["static size ratio"]),
              ("static int8 accuracy drop (points)", drop, TARGETS["static accuracy drop (points)"]),
              ("PT2E lowered / best FP32 time, batch 64, upper quartile",
               f["pt2e_lowered_vs_best_fp32_batch64_range"][1],
               TARGETS["PT2E lowered vs best FP32, batch 64 (upper quartile)"]),
              ("4-bit QAT below FP32 with the same fine-tuning (points)", qat4_below_tuned,
               TARGETS["QAT 4-bit below FP32 with the same fine-tuning (points)"]),
              ("chapter run time, full (s)", seconds, TARGETS["chapter seconds"])]
    fail_if_missed("bench_static", over_target(checks))


if __name__ == "__main__":
    main()
