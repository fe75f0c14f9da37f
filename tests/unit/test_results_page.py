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


def _record(folder, name, quick, figures):
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"chapter": name.split(".")[0].removesuffix("-quick"), "quick": quick,
                                           "cpu": "Test CPU, AVX-512", "threads": 1, "torch": "2.x",
                                           "created": "2026-01-02T03:04:05", "figures": figures}))


def test_without_a_benchmark_report_the_page_shows_the_figures_the_book_recorded(tmp_path):
    benchmarks, records = tmp_path / "benchmarks", tmp_path / "records"
    (benchmarks / "results").mkdir(parents=True)
    _record(records, "09_language_model_quantization-quick.json", True, {"fp32_valid": 900.0})
    _record(records, "09_language_model_quantization.json", False,
            {"fp32_valid": 126.5366, "four_bit": {"RTN, group 128": {"valid": 126.9}}, "seeds": [0, 1, 2]})
    page = results_page(benchmarks / "results", records)
    assert "## Chapter 09, as the book measured it" in page
    assert "recorded 2026-01-02T03:04:05 in full mode on Test CPU, AVX-512, 1 thread(s)" in page
    assert "| fp32_valid | 126.5 |" in page and "| four_bit · RTN, group 128 · valid | 126.9 |" in page
    assert "| seeds | 0, 1, 2 |" in page and "900" not in page   # the full run's record wins over QUICK's
    (benchmarks / "bench_language_model.py").write_text('write_report("language_model_quantization", r, l)\n')
    (benchmarks / "results" / "language_model_quantization.md").write_text("# Chapter 9\n\n| a |\n|---|\n")
    page = results_page(benchmarks / "results", records)
    assert "as the book measured it" not in page and "## Chapter 9" in page   # the benchmark's report instead
