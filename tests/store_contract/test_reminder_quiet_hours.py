"""Reminders wait out quiet hours where the customer is, on every backend (SPEC "Compliance in code").

The real reminder loop on a real store (TinyDB, and PostgreSQL when QDN_TEST_POSTGRES_URL names one), driven
one pass at a time by a set clock. The business is in America/Chicago, REMINDER_HOUR 17, QUIET_HOURS 21-8,
STATE_QUIET_HOURS on (the default).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cli.transcript import job_details
from store import public_job
from tests.test_reminders import CHICAGO, World
from tests.test_reminders import scenario as reminders_scenario

TEXAS = "+15125550199"  # 9 a.m.-9 p.m., Sunday from noon
SEATTLE = "+12065550100"  # Washington: 8 a.m.-8 p.m., two hours behind Chicago


def scenario(database_url: str, tmp_path: Path, body: Callable[[World], Awaitable[Any]], **settings: str) -> Any:
    """tests/test_reminders.py's scenario on this backend, with STATE_QUIET_HOURS at its default (on)."""
    return reminders_scenario(tmp_path, body, **{"DATABASE_URL": database_url, "STATE_QUIET_HOURS": "true", **settings})


def test_a_texas_reminder_waits_for_nine_not_eight(database_url, tmp_path):
    async def body(w: World) -> None:
        await w.book("2026-12-01 10:00", "2026-12-03T11:00", customer_phone=TEXAS)
        assert await w.remind_at("2026-12-02 22:30") == 0  # 17:00 was missed; 22:30 is quiet
        job = await w.store.get_job(1001)
        held = {"until": "2026-12-03T15:00:00.000Z", "outcome": "held until 9:00 AM CST"}
        assert job["reminder_held"] == held
        assert public_job(job, "https://t.example/x")["reminder_held"] == held  # the job's JSON says it
        assert "Reminder:    held until 9:00 AM CST" in job_details(public_job(job, "https://t.example/x"), CHICAGO)
        assert await w.remind_at("2026-12-03 08:59") == 0  # QUIET_HOURS are over, Texas's hours not yet
        assert await w.reminders() == []
        assert await w.remind_at("2026-12-03 09:00") == 1
        assert len(await w.reminders()) == 1
        assert (await w.store.get_job(1001))["reminder_held"] is None

    scenario(database_url, tmp_path, body)


def test_state_quiet_hours_off_sends_a_texas_reminder_at_eight(database_url, tmp_path):
    async def body(w: World) -> None:
        await w.book("2026-12-01 10:00", "2026-12-03T11:00", customer_phone=TEXAS)
        assert await w.remind_at("2026-12-02 22:30") == 0
        assert await w.remind_at("2026-12-03 08:00") == 1

    scenario(database_url, tmp_path, body, STATE_QUIET_HOURS="false")


def test_a_reminder_is_held_by_the_customers_clock_not_the_business(database_url, tmp_path):
    async def body(w: World) -> None:
        await w.book("2026-12-01 10:00", "2026-12-03T11:00", customer_phone=SEATTLE)
        # 9:30 PM in Chicago is 7:30 PM in Seattle: allowed there, though quiet for the business.
        assert await w.remind_at("2026-12-02 21:30") == 1
        assert (await w.store.get_job(1001)).get("reminder_held") is None
        assert len(await w.reminders()) == 1

    scenario(database_url, tmp_path, body)


def test_a_held_reminder_of_a_job_cancelled_overnight_is_dropped(database_url, tmp_path):
    async def body(w: World) -> None:
        await w.book("2026-12-01 10:00", "2026-12-03T11:00", customer_phone=TEXAS)
        assert await w.remind_at("2026-12-02 22:30") == 0
        await w.services.change_status(1001, "cancelled", by="api")
        await w.remind_at("2026-12-03 09:00")
        assert await w.reminders() == []

    scenario(database_url, tmp_path, body)
