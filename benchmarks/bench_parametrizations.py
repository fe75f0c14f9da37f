"""Chapter 1 benchmark: section 10 (orthogonal kernel vs orthogonal init) over several seeds, full runs.

    python benchmarks/bench_parametrizations.py              # seeds 0, 1, 2 -> benchmarks/results/parametrizations.*
    python benchmarks/bench_parametrizations.py --seeds 0 1 2 3 4

One run is one seed, and the ordering of the variants moves from seed to seed; this script runs the whole
chapter once per seed and reports each variant's final loss as mean ± standard deviation, per setting.
Target: in the "harder" setting the parametrization ends below orthogonal init on average.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.chapter_figures import fail_if_missed, run_full, write_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="values of the chapter's SEED")
    args = parser.parse_args()
    if len(args.seeds) < 2 or any(s < 0 for s in args.seeds):
        parser.error("give at least two seeds, each >= 0 (a spread needs two runs)")
    runs = [run_full("01_parametrizations", {"SEED": seed}) for seed in args.seeds]
    keys = list(runs[0]["figures"]["payoff_final_loss"])
    summary = {}
    for key in keys:
        values = [run["figures"]["payoff_final_loss"][key] for run in runs]
        summary[key] = {"mean": statistics.mean(values), "stdev": statistics.stdev(values), "values": values}
    lines = [f"# Chapter 1 (parametrizations) — {runs[0]['cpu']}, {runs[0]['threads']} threads, seeds {args.seeds}",
             "", "| setting: variant | final loss, mean ± sd (nats) | per seed |", "|---|---|---|"]
    for key, row in summary.items():
        lines.append(f"| {key} | {row['mean']:.3f} ± {row['stdev']:.3f} | "
                     + ", ".join(f"{v:.3f}" for v in row["values"]) + " |")
    write_report("parametrizations", {"seeds": args.seeds, "final_loss": summary,
                                      "chapter_seconds_full": [r["chapter_seconds_full"] for r in runs]}, lines)
    missed = []
    constrained, init = summary["harder: orthogonal parametrization"], summary["harder: orthogonal init"]
    if not constrained["mean"] < init["mean"]:
        missed.append(f"harder setting: parametrization {constrained['mean']:.3f} is not below orthogonal init "
                      f"{init['mean']:.3f} on average")
    fail_if_missed("bench_parametrizations", missed)


if __name__ == "__main__":
    main()
