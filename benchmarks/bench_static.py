"""Chapter 5 benchmark: static int8, PT2E and QAT on the shared CNN (full run), ratios with the CPU recorded.

    python benchmarks/bench_static.py      # writes benchmarks/results/static_quantization.{json,md}

Needs the full `cnn-fashion` checkpoint (`python -m kit prepare cnn-fashion`; trained first otherwise).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, write_report  # noqa: E402

CHAPTER = "05_static_quantization_and_qat"
TARGETS = {"static time ratio batch 64": 0.35, "static size ratio": 0.27, "static accuracy drop (points)": 0.5,
           "PT2E lowered time ratio batch 64": 0.5, "QAT 4-bit drop vs FP32 (points)": 1.0, "chapter seconds": 480}


def main() -> None:
    result = run_full(CHAPTER)
    seconds = result["chapter_seconds_full"]
    f = result["figures"]
    drop = (f["fp32_test_accuracy"] - f["static_test_accuracy"]) * 100
    qat4 = [v * 100 for v in f["bits_test"]["4-bit QAT"]]
    ptq4 = [v * 100 for v in f["bits_test"]["4-bit PTQ"]]
    qat4_drop = f["fp32_test_accuracy"] * 100 - statistics.mean(qat4)
    low, high = f["static_time_ratio_batch64_range"]
    p_low, p_high = f["pt2e_lowered_time_ratio_batch64_range"]
    lines = [f"# Chapter 5 (static quantization and QAT) — {result['cpu']}", "",
             f"CNN on {f['data']}, engine {f['engine']}, {f['calibration_batches']} calibration batches of 64; "
             "latency at 1 thread, candidates interleaved, medians (middle half of the round ratios).", "",
             "| figure | this run | target |", "|---|---|---|",
             f"| static int8 / FP32 time, batch 64 | {f['static_time_ratio_batch64']:.2f}x ({low:.2f}-{high:.2f}) "
             "| <= 0.35x |",
             f"| static int8 / FP32 time, batch 1 | {f['static_time_ratio_batch1']:.2f}x | |",
             f"| static int8 / FP32 size | {f['static_size_ratio']:.3f}x | <= 0.27x |",
             f"| test accuracy FP32 -> static int8 | {f['fp32_test_accuracy']:.2%} -> {f['static_test_accuracy']:.2%} "
             f"({-drop:+.2f} points) | drop <= 0.5 |",
             f"| PT2E lowered / FP32 time, batch 64 | {f['pt2e_lowered_time_ratio_batch64']:.2f}x "
             f"({p_low:.2f}-{p_high:.2f}) | <= 0.5x |",
             f"| PT2E reference / FP32 time, batch 64 | {f['pt2e_reference_time_ratio_batch64']:.2f}x | |",
             f"| 4-bit weights: PTQ / QAT test accuracy ({f['qat_seeds']} seeds) | "
             f"{statistics.mean(ptq4):.2f} / {statistics.mean(qat4):.2f} ± {statistics.pstdev(qat4):.2f} % | "
             "QAT within 1 point of FP32 |",
             f"| chapter run time, full | {seconds:.0f} s | <= 480 s |"]
    write_report("static_quantization", result, lines)
    checks = [("static int8 / FP32 time, batch 64", f["static_time_ratio_batch64"],
               TARGETS["static time ratio batch 64"]),
              ("static int8 / FP32 size", f["static_size_ratio"], TARGETS["static size ratio"]),
              ("static int8 accuracy drop (points)", drop, TARGETS["static accuracy drop (points)"]),
              ("PT2E lowered / FP32 time, batch 64", f["pt2e_lowered_time_ratio_batch64"],
               TARGETS["PT2E lowered time ratio batch 64"]),
              ("QAT 4-bit accuracy drop vs FP32 (points)", qat4_drop, TARGETS["QAT 4-bit drop vs FP32 (points)"]),
              ("chapter run time, full (s)", seconds, TARGETS["chapter seconds"])]
    fail_if_missed("bench_static", over_target(checks))


if __name__ == "__main__":
    main()
