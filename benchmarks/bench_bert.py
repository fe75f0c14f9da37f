"""Chapter 4 benchmark: the BERT chapter's measured figures (full run), as ratios with the CPU recorded.

    python benchmarks/bench_bert.py        # writes benchmarks/results/bert_dynamic_quantization.{json,md}

Needs the full `bert-pairs` checkpoint (`python -m kit prepare bert-pairs`; the chapter trains it otherwise,
about 10 minutes on two cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.chapter_figures import fail_if_missed, over_target, run_full, write_report  # noqa: E402

CHAPTER = "04_bert_dynamic_quantization"
# The removed upstream tutorial (bert-base-uncased on MRPC), for reference: its figures, not ours.
TUTORIAL = {"f1": "0.9019 -> 0.902", "size ratio": 0.41, "time ratio (1 thread)": 0.56,
              "time ratio (4 threads)": 0.54}
TARGETS = {"time ratio (1 thread)": 0.45, "size ratio": 0.30, "f1 drop (points)": 0.5, "chapter seconds": 600}


def main() -> None:
    result = run_full(CHAPTER)
    seconds = result["chapter_seconds_full"]
    f = result["figures"]
    drop = (f["fp32_f1"] - f["int8_f1"]) * 100
    drop_all = (f["fp32_f1"] - f["int8_all_f1"]) * 100
    torchao = "not importable" if f["torchao_time_ratio"] is None else f"{f['torchao_time_ratio']:.2f}x"
    lines = [f"# Chapter 4 (BERT dynamic quantization) — {result['cpu']}", "",
             f"Model {f['model']} on {f['data']}: {f['dev_pairs']} dev pairs scored, {f['timed_pairs']} timed "
             f"(padding to each batch's longest, batch 64).", "",
             "| figure | this run | target | PyTorch tutorial |", "|---|---|---|---|",
             f"| dev F1 FP32 -> INT8 (Linear) | {f['fp32_f1']:.4f} -> {f['int8_f1']:.4f} | | {TUTORIAL['f1']} |",
             f"| F1 drop, INT8 (Linear) / + embeddings (points) | {drop:+.2f} / {drop_all:+.2f} | "
             f"<= {TARGETS['f1 drop (points)']} | |",
             f"| dev accuracy FP32 -> INT8 (Linear) | {f['fp32_accuracy']:.2%} -> {f['int8_accuracy']:.2%} | | |",
             f"| size INT8 (Linear) / FP32 | {f['size_ratio_linear']:.2f}x | | {TUTORIAL['size ratio']}x |",
             f"| size INT8 + embeddings / FP32 | {f['size_ratio_with_embeddings']:.2f}x | "
             f"<= {TARGETS['size ratio']}x | |",
             f"| eval time INT8 / FP32, 1 thread | {f['time_ratio_1_thread']:.2f}x | "
             f"<= {TARGETS['time ratio (1 thread)']}x | {TUTORIAL['time ratio (1 thread)']}x |",
             f"| eval time INT8 / FP32, {f['threads_all']} threads | {f['time_ratio_all_cores']:.2f}x | | "
             f"{TUTORIAL['time ratio (4 threads)']}x (4 threads) |",
             f"| torchao int8 dynamic / FP32, 1 thread | {torchao} | | |",
             f"| FP32 time in Linear layers, their int8 speed-up | {f['linear_share']:.0%}, "
             f"{f['linear_speedup']:.1f}x | | |",
             f"| FP32 eval time, 1 thread / {f['threads_all']} threads | {f['fp32_seconds_1_thread']:.1f} s / "
             f"{f['fp32_seconds_all_cores']:.1f} s | | 160 s / 85 s (bert-base) |",
             f"| chapter run time, full | {seconds:.0f} s | <= 600 s | |"]
    lines += ["", "| 1 thread | FP32 ms (median) | INT8 ms (median) | INT8 / FP32 (median of round-by-round ratios) |",
              "|---|---|---|---|"]
    lines += [f"| {k} | {v['FP32']:.1f} | {v['INT8']:.1f} | {v['ratio']:.2f}x |" for k, v in f["latency_ms"].items()]
    write_report("bert_dynamic_quantization", result, lines)
    checks = [("eval time INT8 / FP32, 1 thread", f["time_ratio_1_thread"], TARGETS["time ratio (1 thread)"]),
              ("size INT8 + embeddings / FP32", f["size_ratio_with_embeddings"], TARGETS["size ratio"]),
              ("F1 drop, INT8 (Linear), points", drop, TARGETS["f1 drop (points)"]),
              ("F1 drop, INT8 + embeddings, points", drop_all, TARGETS["f1 drop (points)"]),
              ("chapter run time, full (s)", seconds, TARGETS["chapter seconds"])]
    fail_if_missed("bench_bert", over_target(checks))


if __name__ == "__main__":
    main()
