"""The first book's quality guard: bench_book judges each full checkpoint against the figure it reached before the
book was made faster, with a stated tolerance, and README's checkpoint table states the same limits."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_book import QUALITY, limit_words, quality_rows  # noqa: E402


def test_readme_states_every_guarded_limit():
    table = {m.group(1): line for line in (ROOT / "README.md").read_text().splitlines()
             if (m := re.match(r"\| `([a-z0-9-]+)` \|", line))}
    for name in QUALITY:
        assert name in table, f"README's checkpoint table has no row for {name}"
        assert limit_words(name) in table[name], f"README's row for {name} should state {limit_words(name)!r}"


def test_a_checkpoint_worse_than_its_tolerance_fails_and_a_better_one_passes():
    good = [{"checkpoint": "lstm-lm", "metrics": {"valid_perplexity": 120.0}},
            {"checkpoint": "bert-pairs", "metrics": {"dev_f1": 0.90}},
            {"checkpoint": "cnn-fashion", "metrics": {"test_accuracy": 0.90}}]
    assert all(row["met"] for row in quality_rows(good))
    bad = [{"checkpoint": "lstm-lm", "metrics": {"valid_perplexity": 131.3 * 1.04}},       # 4 % worse: over 3 %
           {"checkpoint": "bert-pairs", "metrics": {"dev_f1": 0.89}},                       # 0.014 worse: over 0.01
           {"checkpoint": "cnn-fashion", "metrics": {"test_accuracy": 0.895}}]              # 1.35 points worse
    assert not any(row["met"] for row in quality_rows(bad))
    student = {f"{way}_seed{s}/dev_f1": f for s, f in enumerate([0.89, 0.90, 0.88]) for way in ("distilled",)}
    (row,) = quality_rows([{"checkpoint": "bert-student", "metrics": {**student, "labels_only_seed0/dev_f1": 0.1}}])
    assert abs(row["reached"] - 0.89) < 1e-9 and row["met"]   # the distilled students' mean, labels-only left out
