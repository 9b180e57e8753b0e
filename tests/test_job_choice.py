"""Which of a customer's open jobs a text is about (bot.job_choice): a table of cases, pure calls.

The business is in Chicago; most cases text at noon there on Fri Dec 4 2026. Jobs are named by
id (a higher id is a newer job), status and appointment (`scheduled_for` as the store keeps it:
a date, or a date-time with its offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.job_choice import in_order, job_meant

CHICAGO = ZoneInfo("America/Chicago")
NOON = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # Fri Dec 4, 12:00 PM in Chicago
LATE_EVENING = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)  # Fri Dec 4, 10:00 PM in Chicago
BEFORE_MIDNIGHT = datetime(2026, 12, 5, 5, 30, tzinfo=UTC)  # Fri Dec 4, 11:30 PM in Chicago; Sat in UTC


def job(job_id: int, status: str = "scheduled", scheduled_for: Any = None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": job_id, "status": status, "customer_name": "Dana Whitfield"}
    if scheduled_for is not None:
        found["scheduled_for"] = scheduled_for
    return found


@dataclass(frozen=True)
class Case:
    label: str
    jobs: tuple[dict[str, Any], ...]
    order: tuple[int, ...]  # the ids in the order a text means them; the first is the job meant
    now: datetime = NOON
    tz: tzinfo = CHICAGO


CASES = [
    # -- under way first
    Case("the issue's customer: en route today beats booked for tomorrow",
         (job(1001, "en_route"), job(1002, "scheduled", "2026-12-05T09:00:00-06:00")), (1001, 1002)),
    Case("arrived beats en route beats scheduled, whatever their age",
         (job(1003, "scheduled", "2026-12-04T12:00:00-06:00"), job(1002, "en_route"), job(1001, "arrived")),
         (1001, 1002, 1003)),
    Case("en route beats a scheduled job due this very minute",
         (job(1002, "scheduled", "2026-12-04T12:00:00-06:00"), job(1001, "en_route", "2026-12-09")), (1001, 1002)),
    Case("an en route job older than three scheduled ones is still the one meant",
         (job(1004, "scheduled", "2026-12-05"), job(1003, "scheduled", "2026-12-06"),
          job(1002, "scheduled", "2026-12-07"), job(1001, "en_route")), (1001, 1004, 1003, 1002)),
    Case("two under way the same way: the newest", (job(1001, "en_route"), job(1002, "en_route")), (1002, 1001)),
    # -- scheduled: the appointment nearest from now
    Case("the nearer appointment", (job(1002, "scheduled", "2026-12-10T09:00:00-06:00"),
                                    job(1001, "scheduled", "2026-12-07T09:00:00-06:00")), (1001, 1002)),
    Case("today before tomorrow, even when tomorrow's is sooner by the clock",
         (job(1002, "scheduled", "2026-12-05T07:00:00-06:00"), job(1001, "scheduled", "2026-12-04T08:00:00-06:00")),
         (1001, 1002), now=LATE_EVENING),
    Case("today: this morning's still-open job (1 h late) before this afternoon's (3 h away)",
         (job(1002, "scheduled", "2026-12-04T15:00:00-06:00"), job(1001, "scheduled", "2026-12-04T11:00:00-06:00")),
         (1001, 1002)),
    Case("a date with no time is that whole day: today's beats tomorrow at 8 AM",
         (job(1002, "scheduled", "2026-12-05T08:00:00-06:00"), job(1001, "scheduled", "2026-12-04")), (1001, 1002)),
    Case("the same day: a time before a bare date",
         (job(1002, "scheduled", "2026-12-05"), job(1001, "scheduled", "2026-12-05T16:00:00-06:00")), (1001, 1002)),
    Case("no appointment last, however new",
         (job(1003, "scheduled"), job(1001, "scheduled", "2026-12-20"), job(1002, "scheduled", "2026-12-19T09:00")),
         (1002, 1001, 1003)),
    Case("none with an appointment: the newest", (job(1001), job(1003), job(1002)), (1003, 1002, 1001)),
    Case("the same appointment: the newest",
         (job(1001, "scheduled", "2026-12-05"), job(1002, "scheduled", "2026-12-05")), (1002, 1001)),
    Case("an appointment that cannot be read counts as none",
         (job(1003, "scheduled", "soon"), job(1004, "scheduled", 20261205), job(1001, "scheduled", "2026-12-08")),
         (1001, 1004, 1003)),
    # -- appointments in the past (a job nobody closed, or one running late)
    Case("yesterday's still-open job is nearer than one in three days",
         (job(1002, "scheduled", "2026-12-07"), job(1001, "scheduled", "2026-12-03T09:00:00-06:00")), (1001, 1002)),
    Case("yesterday's and tomorrow's are as near: the coming one wins",
         (job(1002, "scheduled", "2026-12-03"), job(1001, "scheduled", "2026-12-05")), (1001, 1002)),
    Case("last week's forgotten job after tomorrow's, before one with no appointment",
         (job(1003, "scheduled"), job(1002, "scheduled", "2026-11-27"), job(1001, "scheduled", "2026-12-05")),
         (1001, 1002, 1003)),
    # -- the business's time zone decides what "today" is
    Case("11:30 PM in Chicago: Friday's job is today's, though it is Saturday in UTC",
         (job(1002, "scheduled", "2026-12-05"), job(1001, "scheduled", "2026-12-04")), (1001, 1002),
         now=BEFORE_MIDNIGHT),
    Case("the same texts for a business on UTC: Saturday is today",
         (job(1002, "scheduled", "2026-12-05"), job(1001, "scheduled", "2026-12-04")), (1002, 1001),
         now=BEFORE_MIDNIGHT, tz=UTC),
    Case("11:30 PM: this morning's job before the one 1 hour away, after midnight",
         (job(1002, "scheduled", "2026-12-05T00:30:00-06:00"), job(1001, "scheduled", "2026-12-04T09:00:00-06:00")),
         (1001, 1002), now=BEFORE_MIDNIGHT),
    Case("an appointment stored in UTC falls on the business's day: 3 AM UTC Sat is 9 PM Fri in Chicago",
         (job(1002, "scheduled", "2026-12-04"), job(1001, "scheduled", "2026-12-05T03:00:00+00:00")), (1001, 1002)),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_the_job_a_text_means(case: Case) -> None:
    assert [found["id"] for found in in_order(case.jobs, case.now, case.tz)] == list(case.order)
    meant = job_meant(case.jobs, case.now, case.tz)
    assert meant is not None and meant["id"] == case.order[0]


def test_without_open_jobs_no_job_is_meant() -> None:
    assert job_meant([], NOON, CHICAGO) is None
    assert in_order([], NOON, CHICAGO) == []


def test_every_job_is_kept_and_the_given_list_left_as_it_was() -> None:
    given = [job(1000 + n, "scheduled", f"2026-12-{n:02d}") for n in range(1, 9)]
    before = list(given)
    ordered = in_order(given, NOON, CHICAGO)
    assert sorted(found["id"] for found in ordered) == [found["id"] for found in before]  # all 8, none dropped
    assert ordered[0]["id"] == 1004  # Dec 4 is today
    assert given == before
