"""benchmarks/bench_capacity.py: learners per server from a chapter's peak memory and CPU seconds."""

import pytest

from benchmarks.bench_capacity import PROBE, learners_per_server


def test_memory_or_cpu_limits_whichever_is_tighter():
    # 1 GiB peak on 32 GiB at 80 %: 25 kernels fit; 60 CPU s per learner on 8 cores over 45 min: 360.
    row = learners_per_server(2**30, 60, 8, 32)
    assert row == {"learners": 25, "by_memory": 25, "by_cpu": 360, "limited_by": "memory"}
    heavy_cpu = learners_per_server(2**28, 3600, 4, 16)          # an hour of CPU each on 4 cores
    assert heavy_cpu["limited_by"] == "CPU" and heavy_cpu["learners"] == 3


def test_measurements_must_be_positive_and_the_probe_reads_its_own_kernel():
    with pytest.raises(ValueError):
        learners_per_server(0, 10, 4, 16)
    namespace = {}
    exec(PROBE, namespace)   # prints one line: the marker and the kernel's peak memory and CPU time
    assert namespace["_usage"].ru_maxrss > 0
