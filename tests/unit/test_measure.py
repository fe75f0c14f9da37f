import time

import pytest
import torch
from torch import nn

from kit import measure


def test_model_size_counts_every_weight():
    small, large = nn.Linear(10, 10), nn.Linear(100, 100)
    size_small, size_large = measure.model_size_bytes(small), measure.model_size_bytes(large)
    assert size_small > 110 * 4  # 110 float32 numbers plus the pickle framing
    # 10,100 parameters vs 110: the difference is the extra float32 payload
    assert size_large - size_small == pytest.approx((10100 - 110) * 4, rel=0.01)


def test_model_size_sees_dtype():
    layer = nn.Linear(64, 64)
    assert measure.model_size_bytes(layer.double()) > 1.8 * measure.model_size_bytes(nn.Linear(64, 64))


def test_bytes_of_sums_parts_and_sees_quantization():
    from torch.ao.quantization import quantize_dynamic

    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8))
    parts = measure.bytes_of([model[0], model[2]])
    assert parts == measure.bytes_of(model[0]) + measure.bytes_of(model[2])
    assert parts == pytest.approx(measure.model_size_bytes(model), rel=0.1)
    quantized = quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    assert measure.bytes_of(quantized[0]) < 0.5 * measure.bytes_of(model[0])


@pytest.mark.parametrize(("n", "text"), [(512, "512 B"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB")])
def test_format_bytes(n, text):
    assert measure.format_bytes(n) == text


def test_torch_threads_restores():
    before = torch.get_num_threads()
    with measure.torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_torch_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="positive integer"):
        with measure.torch_threads(bad):
            pass


def test_compare_latency_ratio_reflects_work():
    comparison = measure.compare_latency(
        {"slow": lambda: time.sleep(0.004), "fast": lambda: time.sleep(0.001)}, threads=1, warmup=1, repeats=7
    )
    assert comparison.baseline == "slow"
    assert comparison.ratio("slow") == 1.0
    assert comparison.ratio("fast") < 0.7
    assert all(len(t.samples) == 7 for t in comparison.timings.values())
    text = str(comparison)
    assert "fast" in text and "1 thread" in text


def test_compare_latency_interleaves_and_sets_threads():
    order, threads_seen = [], []

    def make(name):
        def run():
            order.append(name)
            threads_seen.append(torch.get_num_threads())

        return run

    measure.compare_latency({"a": make("a"), "b": make("b"), "c": make("c")}, threads=1, warmup=0, repeats=30)
    rounds = [order[i:i + 3] for i in range(0, len(order), 3)]
    assert all(sorted(r) == ["a", "b", "c"] for r in rounds)          # each candidate once per round
    followers = {(r[i], r[i + 1]) for r in rounds for i in range(2)}
    assert len(followers) == 6, followers                              # everyone follows everyone sometimes
    assert len({r[0] for r in rounds}) == 3
    assert set(threads_seen) == {1}


def test_compare_latency_validates():
    with pytest.raises(ValueError, match="at least one"):
        measure.compare_latency({})
    with pytest.raises(ValueError, match="baseline"):
        measure.compare_latency({"a": lambda: None}, baseline="b", repeats=1)
    with pytest.raises(ValueError, match="repeats"):
        measure.compare_latency({"a": lambda: None}, repeats=0)


def test_timing_statistics():
    timing = measure.Timing((1.0, 2.0, 3.0, 4.0, 100.0))
    assert timing.median == 3.0
    assert timing.spread > 0


def test_cpu_description_names_cores():
    assert "logical cores" in measure.cpu_description()


def test_saved_bytes_and_size_by_child():
    from kit.measure import model_size_bytes, saved_bytes, size_by_child

    model = nn.Sequential(nn.Linear(100, 50), nn.ReLU(), nn.Linear(50, 10))
    parts = size_by_child(model)
    assert set(parts) == {"0", "1", "2"} and parts["0"] > 5050 * 4 > parts["2"]
    assert model_size_bytes(model) == saved_bytes(model.state_dict())


def test_results_are_recorded_with_the_machine(tmp_path, monkeypatch):
    import json

    from kit import results

    monkeypatch.setattr(results, "build_dir", lambda: tmp_path)
    path = results.record("99_demo", quick=True, ratio=0.5, rows=[{"a": 1}])
    payload = json.loads(path.read_text())
    assert path.name == "99_demo-quick.json" and payload["figures"] == {"ratio": 0.5, "rows": [{"a": 1}]}
    assert "cores" in payload["cpu"] and payload["threads"] >= 1


def test_ratio_range_comes_from_round_by_round_ratios():
    timings = {"base": measure.Timing((1.0, 1.0, 1.0, 1.0, 1.0)), "half": measure.Timing((0.5, 0.4, 0.6, 0.5, 0.5))}
    comparison = measure.LatencyComparison(timings, "base", 1)
    low, high = comparison.ratio_range("half")
    assert 0.4 <= low <= 0.5 <= high <= 0.6
    assert comparison.speedup_range("half") == (1 / high, 1 / low)
    assert low <= comparison.ratio("half") <= high            # the central value lies inside its range
    text = str(comparison)
    assert "middle half" in text and f"{low:.2f}x-{high:.2f}x" in text


def test_spread_is_reported_even_for_few_samples():
    assert measure.Timing((1.0, 2.0)).spread > 0          # not a reassuring 0 % from two samples
    assert measure.Timing((1.0, 1.0, 1.0, 1.0)).spread == 0


def test_usable_cores_respects_the_affinity(monkeypatch):
    monkeypatch.setattr(measure.os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert measure.usable_cores() == 1
    assert "1 of" in measure.cpu_description() or measure.os.cpu_count() == 1


def test_ratio_stays_inside_its_range_whatever_the_samples():
    import random

    rng = random.Random(0)
    for _ in range(200):
        n = rng.randint(1, 9)
        timings = {"a": measure.Timing(tuple(rng.uniform(0.5, 2) for _ in range(n))),
                   "b": measure.Timing(tuple(rng.uniform(0.5, 2) for _ in range(n)))}
        comparison = measure.LatencyComparison(timings, "a", 1)
        low, high = comparison.ratio_range("b")
        assert low <= comparison.ratio("b") <= high


def synthetic(samples: dict[str, list[float]], baseline: str) -> measure.LatencyComparison:
    return measure.LatencyComparison({k: measure.Timing(tuple(v)) for k, v in samples.items()}, baseline, 1)


def test_relative_compares_two_candidates_round_by_round():
    comparison = synthetic({"fp32": [10, 10, 10, 10], "best": [5, 5, 5, 5], "int8": [2, 2.5, 2, 2.5]}, "fp32")
    assert comparison.relative("int8", to="best") == pytest.approx(0.45)
    assert comparison.relative_range("int8", to="best") == pytest.approx((0.4, 0.5))


@pytest.mark.parametrize("ratios, words", [
    ([0.90, 0.92, 0.95, 0.96], "faster"),            # the middle half below 0.97
    ([0.91, 0.99, 1.00, 0.93], "no clear difference"),   # 0.84-1.00x in the old chapter 5 wording was "faster"
    ([1.05, 1.06, 1.08, 1.10], "slower"),
    ([0.96, 0.98, 1.02, 1.04], "no clear difference"),
])
def test_one_verdict_rule_for_every_timing(ratios, words):
    comparison = synthetic({"ref": [1.0] * len(ratios), "new": ratios}, "ref")
    assert comparison.verdict("new") == words


def test_the_table_says_what_its_ratio_column_is():
    table = str(synthetic({"ref": [1.0, 1.0], "new": [0.5, 0.5]}, "ref"))
    assert "median of the round-by-round time ratios" in table


def test_cpu_description_names_the_vector_isa():
    text = measure.cpu_description()
    assert "ISA" in text and "torch dispatches" in text


def test_time_by_module_times_a_quantized_linear_itself():
    """Its packed-weight child is never called: the Linear must not vanish into "between modules"."""
    from torch.ao.quantization import quantize_dynamic

    model = quantize_dynamic(nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 8)), {nn.Linear},
                             dtype=torch.qint8)
    seconds = measure.time_by_module(model, torch.randn(64, 256), runs=3, warmup=1)
    assert {"0", "1", "2"} <= set(seconds) and "0._packed_params" not in seconds
    assert seconds["0"] > 0 and seconds["2"] > 0
