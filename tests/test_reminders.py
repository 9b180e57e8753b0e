"""Day-before reminders: when they go out, once, through restarts and clock jumps (SPEC "Appointments and reminders").

A real TinyDB store, the real Services (bookings and reschedules) and the
real reminder loop, driven one pass at a time (`run_once`) by an injected
clock: nothing sleeps. The business is in America/Chicago (tests.support),
REMINDER_HOUR 17 and QUIET_HOURS 21-8 unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import jobs
from bot.jobs import iso_utc
from bot.messages import OPTED_OUT_REASON
from bot.notifications import Notifier
from bot.templates import builtin_templates
from config.settings import ConfigError, Settings, load_settings
from handlers.services import Services
from sender.reminders import Reminders, reminders_for
from sender.transports.console import ConsoleTransport
from sender.worker import Sender, running
from store import Store, open_store
from tests.support import CUSTOMER, base_environ, job_body

CHICAGO = ZoneInfo("America/Chicago")


def local(text: str) -> datetime:
    """A moment written in the business's zone: "2026-12-08 17:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


class Clock:
    """The time as the reminder loop (and sender) see it; a test sets it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at.astimezone(UTC)


class World:
    """A store, the services that book and reschedule jobs, and reminder loops on one clock."""

    def __init__(self, settings: Settings, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.services = Services(settings=settings, store=store)

    def loop(self) -> Reminders:
        notifier = Notifier.for_business(self.settings, builtin_templates())
        return Reminders(self.store, notifier, self.settings.reminder_policy, now=self.clock)

    async def remind_at(self, when: str) -> int:
        """Set the clock to `when` (local) and run one pass of a reminder loop."""
        self.clock.at = local(when)
        return await self.loop().run_once()

    async def book(self, booked_at: str, scheduled_for: str | None, **fields: Any) -> dict[str, Any]:
        cleaned = jobs.clean_fields(job_body(scheduled_for=scheduled_for, **fields), CHICAGO, partial=False)
        return (await self.services.create_job(cleaned, now=iso_utc(local(booked_at)))).job

    async def reschedule(self, job_id: int, at: str, scheduled_for: str | None) -> None:
        cleaned = jobs.clean_fields({"scheduled_for": scheduled_for}, CHICAGO, partial=True)
        await self.services.edit_job(job_id, cleaned, now=iso_utc(local(at)))

    async def reminders(self, job_id: int = 1001) -> list[dict[str, Any]]:
        """The reminder texts in the job's conversation."""
        return [m for m in await self.store.job_messages(job_id) if "a reminder about" in m["body"]]


def scenario(
    tmp_path: Path, body: Callable[[Any], Awaitable[Any]], world: type[World] | None = None, /, **settings: str
) -> Any:
    """Run `body(world)` on a fresh store (closed afterwards, as a stopped service would); `world`: a
    subclass of World for another file's tests (test_reviews.py's)."""
    # The state's calling hours are tests/test_reminders_where_the_customer_is.py's: here QUIET_HOURS alone.
    loaded = load_settings(base_environ(tmp_path, **{"STATE_QUIET_HOURS": "false", **settings}), env_file=None)

    async def main() -> Any:
        store = await open_store(loaded.database_url)
        try:
            return await body((world or World)(loaded, store, Clock(local("2026-12-01 09:00"))))
        finally:
            await store.close()

    return asyncio.run(main())


# Booked on Tue Dec 1 for Thu Dec 3 at 9:00: the reminder is due Wed Dec 2 at 17:00 Chicago.
BOOKED = "2026-12-01 10:00"
APPOINTMENT = "2026-12-03T09:00"


# -- when it goes out -----------------------------------------------------------------------


def test_due_at_reminder_hour_the_day_before_and_sent_once(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        assert await w.remind_at("2026-12-02 16:59") == 0  # not yet due
        assert await w.reminders() == []
        assert await w.remind_at("2026-12-02 17:00") == 1
        (reminder,) = await w.reminders()
        assert reminder["status"] == "pending" and reminder["kind"] == "notification"
        assert reminder["to"] == CUSTOMER
        assert reminder["body"].startswith("QuickDumpNow: Hi Dana, a reminder about your junk removal (job 1001).")
        assert "Pick-up: Thu Dec 3, 9:00 AM." in reminder["body"]
        assert "Or call (512) 555-0123." in reminder["body"]  # how to reach the business
        assert "/track?token=" in reminder["body"]
        for later in ("2026-12-02 17:01", "2026-12-02 20:59", "2026-12-03 08:30"):
            assert await w.remind_at(later) == 0
        assert len(await w.reminders()) == 1
        assert (await w.store.get_job(1001))["reminder_for"] == "2026-12-03T09:00:00-06:00"

    scenario(tmp_path, body)


def test_a_due_reminder_waits_out_the_quiet_hours(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        # The service was down at 17:00 and is back at 22:30: inside QUIET_HOURS 21-8.
        assert await w.remind_at("2026-12-02 22:30") == 0
        assert await w.remind_at("2026-12-03 07:59") == 0
        assert await w.reminders() == []
        assert await w.remind_at("2026-12-03 08:00") == 1  # the morning, still before the 9:00 appointment
        assert len(await w.reminders()) == 1

    scenario(tmp_path, body)


def test_a_reminder_hour_inside_quiet_hours_goes_out_when_they_end(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, "2026-12-03T11:00")
        assert await w.remind_at("2026-12-02 22:00") == 0
        assert await w.remind_at("2026-12-03 06:00") == 0
        assert await w.remind_at("2026-12-03 08:00") == 1

    scenario(tmp_path, body, REMINDER_HOUR="22")


def test_a_reminder_the_quiet_hours_would_push_past_the_appointment_is_never_due(tmp_path):
    async def body(w: World) -> None:
        job = await w.book(BOOKED, "2026-12-03T07:30")  # 22:00 is quiet; 8:00 is after the 7:30 visit
        assert job["reminder_due_at"] is None
        assert await w.remind_at("2026-12-03 08:00") == 0

    scenario(tmp_path, body, REMINDER_HOUR="22")


def test_without_quiet_hours_a_late_reminder_hour_is_kept(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        assert await w.remind_at("2026-12-02 22:59") == 0
        assert await w.remind_at("2026-12-02 23:00") == 1

    scenario(tmp_path, body, REMINDER_HOUR="23", QUIET_HOURS="")


def test_a_job_booked_after_its_reminder_moment_gets_none(tmp_path):
    async def body(w: World) -> None:
        await w.book("2026-12-02 18:30", APPOINTMENT)  # the booking text, just sent, says when
        assert await w.remind_at("2026-12-02 18:31") == 0
        assert await w.remind_at("2026-12-03 08:00") == 0
        assert await w.reminders() == []

    scenario(tmp_path, body)


def test_a_job_without_an_appointment_gets_none(tmp_path):
    async def body(w: World) -> None:
        job = await w.book(BOOKED, None)
        assert job["reminder_due_at"] is None
        assert await w.remind_at("2026-12-02 17:00") == 0

    scenario(tmp_path, body)


def test_a_date_without_a_time_is_reminded_the_evening_before_by_its_day(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, "2026-12-03")
        assert await w.remind_at("2026-12-02 17:00") == 1
        (reminder,) = await w.reminders()
        words = reminder["body"].split("Track:")[0]  # the link's random token may spell "AM"
        assert "Pick-up: Thu Dec 3." in words
        assert "12:00" not in words and "AM" not in words

    scenario(tmp_path, body)


def test_empty_reminder_hour_turns_reminders_off(tmp_path):
    async def body(w: World) -> None:
        job = await w.book(BOOKED, APPOINTMENT)
        assert job["reminder_due_at"] is None
        assert (
            reminders_for(w.store, Notifier.for_business(w.settings, builtin_templates()), w.settings.reminder_policy)
            is None
        )

    scenario(tmp_path, body, REMINDER_HOUR="")


# -- once per appointment ------------------------------------------------------------------


def test_rescheduled_twice_one_reminder_for_the_last_time(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        await w.reschedule(1001, "2026-12-01 12:00", "2026-12-04T13:00")
        await w.reschedule(1001, "2026-12-01 12:05", "2026-12-05T10:30")
        for moment in ("2026-12-02 17:00", "2026-12-03 17:00"):  # the days before the earlier times
            assert await w.remind_at(moment) == 0
        assert await w.remind_at("2026-12-04 17:00") == 1
        (reminder,) = await w.reminders()
        assert "Pick-up: Sat Dec 5, 10:30 AM." in reminder["body"]

    scenario(tmp_path, body)


def test_rescheduled_after_its_reminder_the_new_time_gets_its_own(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        assert await w.remind_at("2026-12-02 17:00") == 1
        await w.reschedule(1001, "2026-12-02 19:00", "2026-12-07T09:00")
        assert await w.remind_at("2026-12-06 17:00") == 1
        first, second = await w.reminders()
        assert "Thu Dec 3, 9:00 AM" in first["body"] and "Mon Dec 7, 9:00 AM" in second["body"]
        # The same appointment again (another spelling of the same moment) is not a new one.
        await w.reschedule(1001, "2026-12-06 18:00", "2026-12-07T15:00:00Z")
        assert (await w.store.get_job(1001))["reminder_due_at"] is None

    scenario(tmp_path, body)


def test_a_job_cancelled_before_its_reminder_gets_none(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        await w.services.change_status(1001, "cancelled", by="api", now=iso_utc(local("2026-12-02 09:00")))
        assert await w.remind_at("2026-12-02 17:00") == 0
        assert await w.reminders() == []
        assert await w.store.next_reminder_at() is None

    scenario(tmp_path, body)


def test_a_job_already_under_way_gets_none(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        await w.services.change_status(1001, "en_route", by="api", now=iso_utc(local("2026-12-02 08:00")))
        assert await w.remind_at("2026-12-02 17:00") == 0
        assert await w.reminders() == []

    scenario(tmp_path, body)


def test_an_opted_out_phone_gets_a_skipped_row_with_the_reason(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        await w.store.update_phone(CUSTOMER, lambda state: {**state, "opted_out": True})
        assert await w.remind_at("2026-12-02 17:00") == 1
        (reminder,) = await w.reminders()
        assert reminder["status"] == "skipped" and reminder["error_message"] == OPTED_OUT_REASON
        assert await w.remind_at("2026-12-02 17:05") == 0  # settled: not tried again

    scenario(tmp_path, body)


def test_two_loops_on_one_store_queue_one_reminder(tmp_path):
    async def body(w: World) -> None:
        for n in range(5):
            await w.book(BOOKED, APPOINTMENT, customer_phone=f"512-555-01{n:02d}")
        w.clock.at = local("2026-12-02 17:00")
        settled = await asyncio.gather(w.loop().run_once(), w.loop().run_once(), w.loop().run_once())
        assert sum(settled) == 5
        for job_id in range(1001, 1006):
            assert len(await w.reminders(job_id)) == 1

    scenario(tmp_path, body)


# -- restarts and clock jumps ------------------------------------------------------------


def send_all(tmp_path: Path, clock: Clock, out: io.StringIO) -> list[dict[str, Any]]:
    """Start the service's store again and let the real sender (console) drain it; the reminder rows after."""
    settings = load_settings(base_environ(tmp_path), env_file=None)

    async def main() -> list[dict[str, Any]]:
        store = await open_store(settings.database_url)
        try:
            world = World(settings, store, clock)
            assert await world.loop().run_once() == 0  # already queued before the restart: not again
            sender = Sender(store, ConsoleTransport(out), rate_per_second=1000, give_up_hours=24, now=clock)
            async with running(sender):
                await asyncio.wait_for(sender.wait_idle(), 10)
            return await world.reminders()
        finally:
            await store.close()

    return asyncio.run(main())


def test_a_restart_between_due_and_sent_sends_it_once(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        assert await w.remind_at("2026-12-02 17:00") == 1  # queued; the service stops before sending

    scenario(tmp_path, body)
    out = io.StringIO()
    (reminder,) = send_all(tmp_path, Clock(local("2026-12-02 17:02")), out)
    assert reminder["status"] == "sent"
    assert out.getvalue().count("a reminder about your junk removal") == 1


def test_a_restart_after_it_fell_due_queues_it_once(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)  # the service is down from here until after 17:00 on the day before

    scenario(tmp_path, body)

    async def after_restart(w: World) -> None:
        assert await w.remind_at("2026-12-02 17:40") == 1
        assert await w.remind_at("2026-12-02 17:41") == 0

    scenario(tmp_path, after_restart)
    out = io.StringIO()
    (reminder,) = send_all(tmp_path, Clock(local("2026-12-02 17:42")), out)
    assert reminder["status"] == "sent" and out.getvalue().count("a reminder about") == 1


def test_a_clock_jump_past_the_appointment_drops_it_and_a_jump_back_sends_nothing_again(tmp_path):
    async def body(w: World) -> None:
        await w.book(BOOKED, APPOINTMENT)
        assert await w.remind_at("2026-12-04 10:00") == 1  # jumped past the visit: settled by dropping it
        assert await w.reminders() == []
        assert await w.remind_at("2026-12-02 17:00") == 0  # and back: nothing is due any more
        assert await w.reminders() == []

        await w.book(BOOKED, "2026-12-09T09:00")
        assert await w.remind_at("2026-12-08 17:00") == 1
        assert await w.remind_at("2026-12-08 16:00") == 0  # back an hour: already sent
        assert await w.remind_at("2026-12-08 18:00") == 0
        assert len(await w.reminders(1002)) == 1

    scenario(tmp_path, body)


# -- daylight saving time in the business's zone ------------------------------------------------


@pytest.mark.parametrize(
    ("booked", "appointment", "due_utc"),
    [
        # Fall back on Sun Nov 1 2026: 17:00 that Sunday is CST (UTC-6), the Saturday before CDT (UTC-5).
        ("2026-10-28 10:00", "2026-11-02T09:00", "2026-11-01T23:00:00.000Z"),
        ("2026-10-28 10:00", "2026-11-01T09:00", "2026-10-31T22:00:00.000Z"),
        # Spring forward on Sun Mar 14 2027: 17:00 that Sunday is CDT (UTC-5), the day before CST.
        ("2027-03-10 10:00", "2027-03-15T09:00", "2027-03-14T22:00:00.000Z"),
        ("2027-03-10 10:00", "2027-03-14T09:00", "2027-03-13T23:00:00.000Z"),
    ],
)
def test_the_reminder_hour_is_local_across_a_dst_change(tmp_path, booked, appointment, due_utc):
    due = datetime.fromisoformat(due_utc)

    async def body(w: World) -> None:
        job = await w.book(booked, appointment)
        assert job["reminder_due_at"] == due_utc
        w.clock.at = due - timedelta(seconds=1)
        assert await w.loop().run_once() == 0
        w.clock.at = due
        assert await w.loop().run_once() == 1
        assert due.astimezone(CHICAGO).hour == 17

    scenario(tmp_path, body)


def test_quiet_hours_end_at_8_local_on_the_morning_clocks_spring_forward(tmp_path):
    async def body(w: World) -> None:
        await w.book("2027-03-10 10:00", "2027-03-14T10:00")
        w.clock.at = datetime.fromisoformat("2027-03-14T12:59:00+00:00")  # 7:59 CDT
        assert await w.loop().run_once() == 0
        w.clock.at = datetime.fromisoformat("2027-03-14T13:00:00+00:00")  # 8:00 CDT (it would be 7:00 CST)
        assert await w.loop().run_once() == 1

    scenario(tmp_path, body, REMINDER_HOUR="23")


# -- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [("REMINDER_HOUR", "24"), ("REMINDER_HOUR", "5pm"), ("REMINDER_HOUR", "-1"), ("QUIET_HOURS", "21"),
     ("QUIET_HOURS", "9pm-8am"), ("QUIET_HOURS", "8-8"), ("QUIET_HOURS", "21-25")],
)  # fmt: skip
def test_a_bad_reminder_setting_stops_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=rf"^{name}: .*{value}"):
        load_settings(base_environ(tmp_path, **{name: value}), env_file=None)


def test_reminder_settings_defaults_and_empties(tmp_path):
    default = load_settings(base_environ(tmp_path), env_file=None)
    assert default.reminder_hour == 17
    assert default.quiet_hours is not None and (default.quiet_hours.start, default.quiet_hours.end) == (21, 8)
    assert "reminders the day before at 17:00 (quiet hours 21-8)" in default.describe("tinydb")
    off = load_settings(base_environ(tmp_path, REMINDER_HOUR="", QUIET_HOURS=""), env_file=None)
    assert off.reminder_hour is None and off.quiet_hours is None
    assert "reminders off" in off.describe("tinydb")
    assert load_settings(base_environ(tmp_path, REMINDER_HOUR=" 9 ", QUIET_HOURS="22 - 7"), env_file=None).quiet_hours
