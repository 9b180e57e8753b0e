"""How the in-process benches (bench_paging.py, bench_inbox.py) time calls: the median of repeated calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
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


def interleaved_ms(calls: Sequence[Callable[[], float]], repeat: int) -> list[float]:
    """The median of `repeat` runs of each call in milliseconds, the calls taking turns (each returns
    its own time in seconds), after one run each not counted."""
    for call in calls:
        call()
    times: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for took, call in zip(times, calls, strict=True):
            took.append(call())
    return [statistics.median(took) * 1000 for took in times]
