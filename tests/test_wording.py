"""bot.wording: money, phones, names and clock times as people read them, the same in texts, page and `qdn`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.wording import clock, eta_at, first_name, money, phone_for_people, short_name

CHICAGO = ZoneInfo("America/Chicago")


def test_money():
    assert [money(1200), money(349.5), money(0), money(1_000_000)] == ["$1,200.00", "$349.50", "$0.00", "$1,000,000.00"]


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+15125550123", "(512) 555-0123"),
        ("+14165550123", "(416) 555-0123"),  # Canada shares +1: dialled the same way from the US
        ("+442071838750", "+44 20 7183 8750"),
        ("not a phone", "not a phone"),
    ],
)
def test_phone_for_people(e164, shown):
    assert phone_for_people(e164) == shown


@pytest.mark.parametrize(
    ("name", "first", "short"),
    [
        ("Dana Whitfield", "Dana", "Dana W."),
        ("Cher", "Cher", "Cher"),
        ("  ", "Customer", "Customer"),
        (None, "Customer", "Customer"),
    ],
)
def test_names(name, first, short):
    assert (first_name(name), short_name(name)) == (first, short)


def test_clock_shows_the_day_only_when_it_is_not_today():
    afternoon = datetime(2026, 11, 27, 14, 45, tzinfo=CHICAGO)
    assert clock(afternoon) == "2:45 PM"
    assert clock(datetime(2026, 11, 27, 0, 5, tzinfo=CHICAGO)) == "12:05 AM"
    assert clock(afternoon, now=datetime(2026, 11, 27, 20, 0, tzinfo=UTC)) == "2:45 PM"
    # 03:00 UTC on the 28th is still the 27th in Chicago: "today" is the moment's own zone's day.
    assert clock(afternoon, now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC)) == "2:45 PM"
    assert clock(afternoon, now=datetime(2026, 11, 26, 12, 0, tzinfo=CHICAGO)) == "Fri Nov 27, 2:45 PM"


def history(*entries):
    return [{"status": status, "at": at, "by": "api", "eta_minutes": None} for status, at in entries]


def test_eta_at_counts_from_the_latest_en_route_entry_on_a_job_or_its_public_view():
    job = {
        "status": "en_route",
        "eta_minutes": 20,
        "history": history(("scheduled", "2026-11-27T17:00:00.000Z"), ("en_route", "2026-11-27T18:10:00.000Z")),
    }
    arrival = eta_at(job, CHICAGO)
    assert arrival == datetime(2026, 11, 27, 12, 30, tzinfo=CHICAGO) and arrival.tzinfo == CHICAGO
    assert eta_at({**job, "eta_minutes": None}, CHICAGO) is None
    assert eta_at({**job, "status": "arrived"}, CHICAGO) is None
    assert eta_at({**job, "history": history(("en_route", "garbled"))}, CHICAGO) is None
