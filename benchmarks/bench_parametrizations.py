"""Chapter 1 benchmark: section 10 (orthogonal kernel vs orthogonal init) over several seeds, full runs.

    python benchmarks/bench_parametrizations.py              # seeds 0, 1, 2 -> benchmarks/results/parametrizations.*
    python benchmarks/bench_parametrizations.py --seeds 0 1 2 3 4

One run is one seed, and the ordering of the variants moves from seed to seed; this script runs the whole
chapter once per seed and reports each variant's final loss as mean ± standard error per setting, and the
parametrization against orthogonal init as paired differences over the seeds (kit.stats: the same seed gives
both variants the same initial weights and the same batches).
Target: in the "harder" setting the parametrization ends below orthogonal init on average (a mean paired
difference below zero), the advantage the orthogonal constraint is used for on long-memory tasks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.chapter_figures import fail_if_missed, run_full, write_report  # noqa: E402
from kit import stats  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="values of the chapter's SEED")
    args = parser.parse_args()
    if len(args.seeds) < 2 or any(s < 0 for s in args.seeds) or len(set(args.seeds)) != len(args.seeds):
        parser.error("give at least two different seeds, each >= 0 (a paired comparison needs two runs)")
    runs = [run_full("01_parametrizations", {"SEED": seed}) for seed in args.seeds]
    losses = {key: [run["figures"]["payoff_final_loss"][key] for run in runs]
              for key in runs[0]["figures"]["payoff_final_loss"]}
    summary = {}
    for key, values in losses.items():
        mean, se = stats.mean_and_se(values)
        summary[key] = {"mean": mean, "se": se, "values": values}
    settings = sorted({key.split(": ")[0] for key in losses})
    comparisons = {setting: stats.paired(losses[f"{setting}: orthogonal parametrization"],
                                         losses[f"{setting}: orthogonal init"]) for setting in settings}
    lines = [f"# Chapter 1 (parametrizations) — {runs[0]['cpu']}, {runs[0]['threads']} threads, seeds {args.seeds}",
             "", "| setting: variant | final loss, mean ± standard error (nats) | per seed |", "|---|---|---|"]
    for key, row in summary.items():
        lines.append(f"| {key} | {row['mean']:.3f} ± {row['se']:.3f} | "
                     + ", ".join(f"{v:.3f}" for v in row["values"]) + " |")
    lines += ["", "Paired over seeds, parametrization − orthogonal init (final loss; lower is better):", ""]
    lines += [f"- {comparison.words(setting, unit='nats', digits=3)}" for setting, comparison in comparisons.items()]
    write_report("parametrizations", {
        "seeds": args.seeds, "final_loss": summary,
        "parametrization_minus_init": {setting: {"mean": c.mean, "se": c.se, "interval": c.interval,
                                                 "verdict": c.verdict()} for setting, c in comparisons.items()},
        "chapter_seconds_full": [r["chapter_seconds_full"] for r in runs]}, lines)
    missed = []
    harder = comparisons["harder"]
    if not harder.mean < 0:
        missed.append(f"harder setting: the parametrization ends {harder.mean:+.3f} nats against orthogonal init on "
                      "average (paired over seeds), not below it")
    fail_if_missed("bench_parametrizations", missed)


if __name__ == "__main__":
    main()
