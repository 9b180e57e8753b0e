"""The miss limiter on its own: fixed window, limit, reset, bounded memory (fake clock)."""

from __future__ import annotations

from handlers.ratelimit import MissLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_twenty_misses_are_allowed_and_the_next_lookup_waits_for_the_rest_of_the_minute() -> None:
    clock = FakeClock()
    limiter = MissLimiter(clock=clock)
    for _ in range(19):
        limiter.record_miss("203.0.113.9")
        assert limiter.retry_after("203.0.113.9") == 0
    limiter.record_miss("203.0.113.9")  # the 20th miss
    assert limiter.retry_after("203.0.113.9") == 60
    clock.now += 45.5
    assert limiter.retry_after("203.0.113.9") == 15  # rounded up: never "0 seconds" while blocked


def test_the_window_starts_at_the_first_miss_and_resets_after_a_minute() -> None:
    clock = FakeClock()
    limiter = MissLimiter(clock=clock)
    for _ in range(20):
        limiter.record_miss("k")
        clock.now += 1
    assert limiter.retry_after("k") == 40
    clock.now = 1000.0 + 60
    assert limiter.retry_after("k") == 0
    limiter.record_miss("k")  # a fresh window: one miss counted, not twenty-one
    assert limiter.retry_after("k") == 0


def test_retrying_while_blocked_does_not_extend_the_block() -> None:
    clock = FakeClock()
    limiter = MissLimiter(clock=clock)
    for _ in range(20):
        limiter.record_miss("k")
    for _ in range(59):
        clock.now += 1
        assert limiter.retry_after("k") > 0
    clock.now += 1
    assert limiter.retry_after("k") == 0


def test_keys_are_counted_separately() -> None:
    limiter = MissLimiter(clock=FakeClock())
    for _ in range(20):
        limiter.record_miss("+15125550199")
    assert limiter.retry_after("+15125550199") == 60
    assert limiter.retry_after("+15125550142") == 0


def test_limit_and_window_are_configurable_for_other_uses() -> None:
    clock = FakeClock()
    limiter = MissLimiter(limit=3, window_seconds=600, clock=clock)
    for _ in range(3):
        limiter.record_miss("+15125550199")
    assert limiter.retry_after("+15125550199") == 600


def test_memory_stays_bounded_under_many_addresses() -> None:
    clock = FakeClock()
    limiter = MissLimiter(clock=clock, max_keys=100)
    for n in range(1000):
        limiter.record_miss(f"198.51.100.{n}")
    assert len(limiter) <= 100
    clock.now += 61
    limiter.record_miss("192.0.2.1")
    assert len(limiter) == 1  # expired windows are dropped as new keys arrive
