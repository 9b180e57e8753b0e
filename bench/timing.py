"""What the in-process benches (bench_paging.py, bench_inbox.py) time a call by: the median of repeated calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_ms(call: Callable[[], Any], repeat: int) -> float:
    """The median of `repeat` calls in milliseconds, after one call not counted (a list sorted on its
    first read, caches)."""
    call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
