"""The site's Measurements page says which benchmark reports the build holds, and how to write a missing one."""

from __future__ import annotations

from kit.book import benchmark_reports, missing_reports, results_page


def test_the_page_names_missing_reports_with_their_command_and_shows_the_others(tmp_path):
    benchmarks = tmp_path / "benchmarks"
    (benchmarks / "results").mkdir(parents=True)
    (benchmarks / "bench_alpha.py").write_text('write_report("alpha_figures", result, lines)\n')
    (benchmarks / "bench_beta.py").write_text('write_report(\n    "beta", result, lines)\n')
    (benchmarks / "results" / "alpha_figures.md").write_text("# Alpha figures\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert benchmark_reports(benchmarks) == {"bench_alpha.py": benchmarks / "results" / "alpha_figures.md",
                                             "bench_beta.py": benchmarks / "results" / "beta.md"}
    assert missing_reports(benchmarks) == ["bench_beta.py"]
    page = results_page(benchmarks / "results")
    assert "| `bench_alpha.py` | alpha_figures.md, written" in page
    assert "| `bench_beta.py` | **not run in this checkout**: `python benchmarks/bench_beta.py`" in page
    assert "## Alpha figures" in page and "| 1 | 2 |" in page
