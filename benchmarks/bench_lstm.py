"""Chapter 3 benchmark: the LSTM chapter's measured figures (full run), as ratios with the CPU recorded.

    python benchmarks/bench_lstm.py        # writes benchmarks/results/lstm_dynamic_quantization.{json,md}

Needs the full `lstm-lm` checkpoint (`python -m kit prepare lstm-lm`; the chapter trains it otherwise).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, write_report  # noqa: E402

CHAPTER = "03_lstm_dynamic_quantization"
# The PyTorch LSTM dynamic quantization tutorial's own figures, for reference (its model, its machine).
TUTORIAL = {"size ratio": 0.70, "time ratio (1 thread)": 0.57, "loss change": 0.001}
TARGETS = {"size ratio with embedding": 0.30, "time ratio (1 thread)": 0.50, "loss change (nats)": 0.01,
           "chapter seconds": 600}


def main() -> None:
    result = run_full(CHAPTER)
    seconds = result["chapter_seconds_full"]
    f = result["figures"]
    lines = [f"# Chapter 3 (LSTM dynamic quantization) — {result['cpu']}", "",
             f"Corpus {f['corpus']}: loss on the first {f['eval_tokens']:,} test tokens (batch 1, bptt 25); time of "
             f"{f['timed_call']}, 1 thread, ratios the median of round-by-round ratios.", "",
             "| figure | this run | target | PyTorch tutorial |", "|---|---|---|---|",
             f"| size INT8 (LSTM+Linear) / FP32 | {f['size_ratio_lstm_linear']:.2f}x | | {TUTORIAL['size ratio']}x |",
             f"| size INT8 + embedding / FP32 | {f['size_ratio_with_embedding']:.2f}x | <= 0.30x | |",
             f"| time INT8 / FP32, 1 thread, batch 1 | {f['time_ratio_1_thread']:.2f}x | <= 0.50x | "
             f"{TUTORIAL['time ratio (1 thread)']}x |",
             f"| loss change INT8 (nats) | {f['int8_loss'] - f['fp32_loss']:+.4f} | <= 0.01 | "
             f"{TUTORIAL['loss change']} |",
             f"| loss change INT8 + embedding (nats) | {f['int8_all_loss'] - f['fp32_loss']:+.4f} | <= 0.01 | |",
             f"| FP32 loss / perplexity | {f['fp32_loss']:.3f} / {2.718281828 ** f['fp32_loss']:.0f} | | |",
             f"| chapter run time, full | {seconds:.0f} s | <= 600 s | |"]
    lines += ["", "| threads, batch | INT8 / FP32 time |", "|---|---|"]
    lines += [f"| {k} | {v['ratio']:.2f}x |" for k, v in f["sweep"].items()]
    write_report("lstm_dynamic_quantization", result, lines)
    checks = [("size INT8 + embedding / FP32", f["size_ratio_with_embedding"], TARGETS["size ratio with embedding"]),
              ("time INT8 / FP32, 1 thread, batch 1", f["time_ratio_1_thread"], TARGETS["time ratio (1 thread)"]),
              ("|loss change| INT8", abs(f["int8_loss"] - f["fp32_loss"]), TARGETS["loss change (nats)"]),
              ("|loss change| INT8 + embedding", abs(f["int8_all_loss"] - f["fp32_loss"]),
               TARGETS["loss change (nats)"]),
              ("chapter run time, full (s)", seconds, TARGETS["chapter seconds"])]
    fail_if_missed("bench_lstm", over_target(checks))


if __name__ == "__main__":
    main()
