"""Review requests: the day after completion at REVIEW_HOUR, once, and never when a rule says no
(SPEC "Confirmations and reviews").

A real store (TinyDB, and PostgreSQL where a test says so), the real Services (booking and
completing jobs) and the real review loop, driven one pass at a time (`run_once`) by an injected
clock: nothing sleeps. The business is in America/Chicago (tests.support), REVIEW_HOUR 10 and
QUIET_HOURS 21-8 unless a test says otherwise.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import jobs
from bot.businesses import clean_business
from bot.jobs import iso_utc
from bot.messages import inbound_message, opted_out
from bot.notifications import Notifier
from bot.templates import builtin_templates
from config.business_settings import business_settings
from config.secret_box import SecretBox
from config.settings import ConfigError, Settings, load_settings
from sender.reviews import ReviewRequests, reviews_for
from sender.transports.console import ConsoleTransport
from sender.worker import Sender, running
from store import open_store
from tests import test_reminders as reminder_tests
from tests.pg import fresh_database, require_postgres
from tests.support import CUSTOMER, base_environ, job_body
from tests.test_reminders import Clock, local

CHICAGO = ZoneInfo("America/Chicago")
REVIEW = "https://g.page/r/quickdumpnow/review"
ASK = "Would you leave us a quick review?"


class World(reminder_tests.World):
    """The reminder tests' world (a store, the services, one clock), with review loops and its own booking."""

    def loop(self) -> ReviewRequests:
        notifier = Notifier.for_business(self.settings, builtin_templates())
        return ReviewRequests(self.store, notifier, self.settings.review_policy, now=self.clock)

    async def ask_at(self, when: str) -> int:
        """Set the clock to `when` (local) and run one pass of a review loop."""
        return await self.remind_at(when)

    async def book(self, at: str = "2026-12-01 08:00", **fields: Any) -> int:  # type: ignore[override]
        cleaned = jobs.clean_fields(job_body(scheduled_for="2026-12-02T09:00", **fields), CHICAGO, partial=False)
        return (await self.services.create_job(cleaned, now=iso_utc(local(at)))).job["id"]

    async def move(self, job_id: int, status: str, at: str) -> None:
        await self.services.change_status(job_id, status, by="api", now=iso_utc(local(at)))

    async def customer_texts(self, at: str, job_id: int = 1001, phone: str = CUSTOMER) -> None:
        row = inbound_message(
            kind="free_text",
            sid=f"SM{abs(hash((at, phone))):032x}"[:34],
            sender=phone,
            to="+15125550100",
            body="Thanks! One more question",
            now=iso_utc(local(at)),
            job_id=job_id,
            num_media="0",
            reply=None,
        )
        await self.store.record_inbound(row)

    async def requests(self, phone: str = CUSTOMER) -> list[dict[str, Any]]:
        """The review requests texted to `phone`."""
        return [m for m in await self.store.phone_messages(phone) if ASK in m["body"]]


def scenario(
    tmp_path: Path, body: Callable[[World], Awaitable[Any]], database_url: str | None = None, **settings: str
) -> Any:
    """Run `body(world)` on the store (closed afterwards, as a stopped service would): the reminder
    tests' scenario, with review requests on. STATE_QUIET_HOURS is off there too: the customer is an
    Austin number, and Texas's own calling hours would move these tests' times (they are about the
    review hour and QUIET_HOURS); the state-hours test turns it on."""
    store = {"DATABASE_URL": database_url} if database_url else {}
    return reminder_tests.scenario(tmp_path, body, World, **{"REVIEW_URL": REVIEW, **store, **settings})


# Completed Wed Dec 2 at 15:00 Chicago: the request is due Thu Dec 3 at 10:00 Chicago.
DONE = "2026-12-02 15:00"


# -- when it goes out -----------------------------------------------------------------------


def test_due_the_next_day_at_the_review_hour_and_sent_once(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        assert (await w.store.get_job(job_id))["review_due_at"] == "2026-12-03T16:00:00.000Z"
        assert await w.ask_at("2026-12-02 23:00") == 0
        assert await w.ask_at("2026-12-03 09:59") == 0  # not yet
        assert await w.requests() == []
        assert await w.ask_at("2026-12-03 10:00") == 1
        (ask,) = await w.requests()
        assert ask["body"] == f"QuickDumpNow: Thanks for choosing us, Dana! {ASK} {REVIEW}"
        assert (ask["to"], ask["status"], ask["job_id"]) == (CUSTOMER, "pending", job_id)
        for later in ("2026-12-03 10:01", "2026-12-04 10:00", "2027-01-03 10:00"):
            assert await w.ask_at(later) == 0
        assert len(await w.requests()) == 1

    scenario(tmp_path, body)


def test_a_review_hour_inside_quiet_hours_waits_for_them_to_end(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        assert (await w.store.get_job(job_id))["review_due_at"] == "2026-12-03T14:00:00.000Z"  # 8:00, quiet's end
        assert await w.ask_at("2026-12-03 07:59") == 0
        assert await w.ask_at("2026-12-03 08:00") == 1

    scenario(tmp_path, body, REVIEW_HOUR="6")


def test_a_due_request_is_held_by_quiet_hours_the_same_check_reminders_use(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        # Quiet hours are the reminders' rule: a pass inside them queues nothing, even when due.
        assert w.settings.review_policy.reminders == w.settings.reminder_policy
        assert await w.ask_at("2026-12-03 21:30") == 0  # due since 10:00 (the service was down): quiet now
        assert await w.requests() == []
        assert await w.ask_at("2026-12-04 08:00") == 1

    scenario(tmp_path, body)


def test_the_customers_state_calling_hours_hold_a_request_too(tmp_path):
    """Texas (the customer's 512 number): no calls before noon on a Sunday, whatever QUIET_HOURS allows."""

    async def body(w: World) -> None:
        job_id = await w.book(at="2026-12-01 08:00")
        await w.move(job_id, "complete", "2026-12-05 15:00")  # Saturday: due Sunday 10:00
        assert await w.ask_at("2026-12-06 10:00") == 0
        assert await w.requests() == []
        assert await w.ask_at("2026-12-06 11:59") == 0
        assert await w.ask_at("2026-12-06 12:00") == 1
        assert len(await w.requests()) == 1

    scenario(tmp_path, body, STATE_QUIET_HOURS="true")


@pytest.mark.parametrize(
    ("done", "due_utc"),
    [
        # Completed the day before clocks fall back (Sun Nov 1 2026, 2:00 CDT -> 1:00 CST): 10:00 CST is 16:00Z.
        ("2026-10-31 15:00", "2026-11-01T16:00:00.000Z"),
        # Completed the day before they spring forward (Sun Mar 8 2026): 10:00 CDT is 15:00Z.
        ("2026-03-07 15:00", "2026-03-08T15:00:00.000Z"),
        # Completed late on the short day itself: the next local day, not 24 hours on.
        ("2026-03-08 23:30", "2026-03-09T15:00:00.000Z"),
    ],
)
def test_the_review_hour_is_local_across_a_dst_change(tmp_path, done, due_utc):
    async def body(w: World) -> None:
        job_id = await w.book(at="2026-01-01 08:00")
        await w.move(job_id, "complete", done)
        assert (await w.store.get_job(job_id))["review_due_at"] == due_utc
        w.clock.at = datetime.fromisoformat(due_utc)
        assert await w.loop().run_once() == 1

    scenario(tmp_path, body)


def test_empty_review_url_turns_requests_off(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        assert (await w.store.get_job(job_id)).get("review_due_at") is None
        assert reviews_for(w.store, w.loop().notifier, w.settings.review_policy) is None

    scenario(tmp_path, body, REVIEW_URL="")


# -- the never rules ------------------------------------------------------------------------


def test_never_for_a_cancelled_job(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "cancelled", DONE)
        assert await w.ask_at("2026-12-03 10:00") == 0
        assert await w.requests() == []

    scenario(tmp_path, body)


def test_never_to_an_opted_out_phone(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        await w.store.update_phone(CUSTOMER, lambda state: opted_out(state, iso_utc(local(DONE)), "STOP"))
        assert await w.ask_at("2026-12-03 10:00") == 1  # settled: dropped
        assert await w.requests() == []  # not even a skipped row
        job = await w.store.get_job(job_id)
        assert job["review_due_at"] is None and job["review_sent_at"] is None
        assert await w.ask_at("2026-12-03 10:05") == 0

    scenario(tmp_path, body)


def test_not_when_the_customer_texted_since_completion(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.customer_texts("2026-12-02 08:00", job_id)  # before completion: does not count
        await w.move(job_id, "complete", DONE)
        await w.customer_texts("2026-12-02 18:00", job_id)  # after: a person should answer first
        assert await w.ask_at("2026-12-03 10:00") == 1
        assert await w.requests() == []

    scenario(tmp_path, body)


def test_a_text_before_completion_does_not_hold_it_back(tmp_path):
    async def body(w: World) -> None:
        job_id = await w.book()
        await w.customer_texts("2026-12-02 08:00", job_id)
        await w.move(job_id, "complete", DONE)
        assert await w.ask_at("2026-12-03 10:00") == 1
        assert len(await w.requests()) == 1

    scenario(tmp_path, body)


def test_at_most_once_per_phone_per_interval(tmp_path):
    async def body(w: World) -> None:
        first = await w.book()
        await w.move(first, "complete", DONE)
        assert await w.ask_at("2026-12-03 10:00") == 1
        second = await w.book(at="2026-12-10 08:00")  # the same customer, a week later
        await w.move(second, "complete", "2026-12-10 15:00")
        assert await w.ask_at("2026-12-11 10:00") == 1  # dropped: asked 8 days ago
        assert len(await w.requests()) == 1
        # 90 days after the first request, a new job's customer is asked again.
        third = await w.book(at="2027-03-02 08:00")
        await w.move(third, "complete", "2027-03-02 15:00")
        assert await w.ask_at("2027-03-03 10:00") == 1
        assert [m["job_id"] for m in await w.requests()] == [first, third]

    scenario(tmp_path, body)


def test_two_jobs_of_one_phone_due_together_ask_once(tmp_path):
    async def body(w: World) -> None:
        for _ in range(3):
            job_id = await w.book()
            await w.move(job_id, "complete", DONE)
        w.clock.at = local("2026-12-03 10:00")
        assert sum(await asyncio.gather(*(w.loop().run_once() for _ in range(3)))) == 3
        assert len(await w.requests()) == 1

    scenario(tmp_path, body)


def test_two_loops_on_one_store_queue_one_request_each(tmp_path):
    async def body(w: World) -> None:
        for n in range(5):
            job_id = await w.book(customer_phone=f"512-555-01{n:02d}")
            await w.move(job_id, "complete", DONE)
        w.clock.at = local("2026-12-03 10:00")
        assert sum(await asyncio.gather(w.loop().run_once(), w.loop().run_once(), w.loop().run_once())) == 5
        for n in range(5):
            assert len(await w.requests(f"+151255501{n:02d}")) == 1

    scenario(tmp_path, body)


# -- restarts and clock jumps ------------------------------------------------------------


def test_a_restart_between_due_and_sent_sends_it_once(tmp_path):
    async def queue(w: World) -> None:
        job_id = await w.book()
        await w.move(job_id, "complete", DONE)
        assert await w.ask_at("2026-12-03 10:00") == 1  # queued; the service stops before sending

    scenario(tmp_path, queue)
    out = io.StringIO()

    async def after_restart(w: World) -> list[dict[str, Any]]:
        assert await w.ask_at("2026-12-03 10:02") == 0  # already queued before the restart: not again
        sender = Sender(w.store, ConsoleTransport(out), rate_per_second=1000, give_up_hours=24, now=w.clock)
        async with running(sender):
            await asyncio.wait_for(sender.wait_idle(), 10)
        return await w.requests()

    (ask,) = scenario(tmp_path, after_restart)
    assert ask["status"] == "sent"
    assert out.getvalue().count(ASK) == 1


def test_a_restart_after_it_fell_due_queues_it_once_and_a_clock_jump_back_sends_nothing(tmp_path):
    async def complete(w: World) -> None:
        await w.move(await w.book(), "complete", DONE)  # the service is down from here until the next noon

    scenario(tmp_path, complete)

    async def after_restart(w: World) -> None:
        assert await w.ask_at("2026-12-02 20:00") == 0  # the clock jumped back before due: nothing
        assert await w.ask_at("2026-12-03 12:00") == 1
        assert await w.ask_at("2026-12-02 20:00") == 0  # and back again: nothing twice
        assert await w.ask_at("2026-12-03 12:01") == 0
        assert len(await w.requests()) == 1

    scenario(tmp_path, after_restart)


# -- PostgreSQL: two processes ----------------------------------------------------------------


def test_two_processes_on_postgresql_send_it_once(tmp_path):
    require_postgres()
    with fresh_database("reviews_two_processes") as url:

        async def body(w: World) -> None:
            for n in range(3):
                job_id = await w.book(customer_phone=f"512-555-01{n:02d}")
                await w.move(job_id, "complete", DONE)
            await w.move(await w.book(), "complete", DONE)  # CUSTOMER's
            other = await open_store(url)  # another process's store: its own pool
            try:
                clock = Clock(local("2026-12-03 10:00"))
                w.clock.at = clock.at
                mine = w.loop()
                theirs = ReviewRequests(other, mine.notifier, w.settings.review_policy, now=clock)
                settled = await asyncio.gather(mine.run_once(), theirs.run_once(), mine.run_once(), theirs.run_once())
                assert sum(settled) == 4
            finally:
                await other.close()
            for phone in ("+15125550100", "+15125550101", "+15125550102", CUSTOMER):
                assert len(await w.requests(phone)) == 1, phone
            assert await w.store.next_review_at() is None

        scenario(tmp_path, body, database_url=url)


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REVIEW_URL", "ftp://example.com/review"),
        ("REVIEW_URL", "https://example.com/a review"),
        ("REVIEW_URL", "https://example.com/" + "x" * 200),
        ("REVIEW_HOUR", "24"),
        ("REVIEW_HOUR", "ten"),
        ("REVIEW_INTERVAL_DAYS", "-1"),
        ("REVIEW_INTERVAL_DAYS", "9999"),
    ],
)
def test_a_bad_review_setting_stops_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings(base_environ(tmp_path, **{name: value}), env_file=None)


def test_review_settings_defaults(tmp_path):
    loaded = load_settings(base_environ(tmp_path), env_file=None)
    assert (loaded.review_url, loaded.review_hour, loaded.review_interval_days) == (None, 10, 90)


def test_a_business_has_its_own_review_settings_or_the_deployments(tmp_path):
    deployment = load_settings(base_environ(tmp_path, REVIEW_URL=REVIEW, REVIEW_HOUR="11"), env_file=None)
    box = SecretBox("review-tests-secret-key-0123456789abcdef")

    def settings_of(**fields: Any) -> Settings:
        record = clean_business({"slug": "acme", "name": "Acme", "numbers": ["+13035550100"], **fields}, creating=True)
        return business_settings(deployment, record, box)

    own = settings_of(review_url="https://acme.example/review", review_hour=9, review_interval_days=30)
    assert (own.review_url, own.review_hour, own.review_interval_days) == ("https://acme.example/review", 9, 30)
    inherited = settings_of()
    assert (inherited.review_url, inherited.review_hour, inherited.review_interval_days) == (REVIEW, 11, 90)
    assert settings_of(review_url="").review_policy.url is None  # off for this business alone
    text = Notifier.for_business(own, builtin_templates()).row(
        {
            **job_body(),
            "id": 7,
            "token": "T",
            "customer_phone": CUSTOMER,
            "customer_name": "Dana W",
            "status": "complete",
        },
        now="2026-12-03T16:00:00.000Z",
        opted_out=False,
        template="review",
    )
    assert text["body"] == f"Acme: Thanks for choosing us, Dana! {ASK} https://acme.example/review"
