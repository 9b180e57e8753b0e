"""Quiet hours where the customer is (SPEC "Compliance in code"): each state in the table at its edges (the last
allowed minute, the first held one), DST days, a number whose area spans two zones, a number with no zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.quiet_hours import QuietHours, customer_zones, held_until, held_words
from bot.state_calling_hours import CHECKED, RULES, STATE_CODES, is_federal_holiday, state_of

CHICAGO = ZoneInfo("America/Chicago")
NEW_YORK = ZoneInfo("America/New_York")
DEFAULT = QuietHours(21, 8)

# A number in each state of the table, and its zone (phonenumbers' data).
NUMBERS = {
    "AL": ("+12055550100", "America/Chicago"),
    "CT": ("+12035550100", "America/New_York"),
    "FL": ("+13055550100", "America/New_York"),
    "KY": ("+15025550100", "America/New_York"),
    "LA": ("+15045550100", "America/Chicago"),
    "MA": ("+16175550100", "America/New_York"),
    "MD": ("+14105550100", "America/New_York"),
    "MN": ("+16125550100", "America/Chicago"),
    "MS": ("+16015550100", "America/Chicago"),
    "NM": ("+15055550100", "America/Denver"),
    "NV": ("+17025550100", "America/Los_Angeles"),
    "OK": ("+14055550100", "America/Chicago"),
    "PA": ("+12155550100", "America/New_York"),
    "RI": ("+14015550100", "America/New_York"),
    "SD": ("+16053350100", "America/Chicago"),
    "TX": ("+15125550199", "America/Chicago"),
    "UT": ("+18015550100", "America/Denver"),
    "WA": ("+12065550100", "America/Los_Angeles"),
}
TUESDAY = date(2026, 12, 8)
SATURDAY = date(2026, 12, 12)
SUNDAY = date(2026, 12, 13)


def at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def held(phone: str, now: datetime, quiet: QuietHours | None = DEFAULT, state: bool = True) -> datetime | None:
    return held_until(phone, now, CHICAGO, quiet, state)


def test_every_state_in_the_table_has_a_number_here_a_source_and_the_date_checked():
    assert set(NUMBERS) == set(RULES)
    for code, rule in RULES.items():
        assert rule.source and rule.url.startswith("https://") and rule.checked == CHECKED, code
        assert rule.note, code  # what was read (or why the row is not verified)


def test_the_rows_read_against_the_statutes_text_are_marked_verified():
    read = {"AL", "FL", "MA", "MS", "NV", "RI", "SD", "UT", "WA"}
    assert {code for code, rule in RULES.items() if rule.verified} == read
    for rule in RULES.values():
        assert not rule.verified or "2026-12-07" in rule.note, rule.state  # says when it was read


@pytest.mark.parametrize("code", sorted(NUMBERS))
@pytest.mark.parametrize("day", [TUESDAY, SATURDAY, SUNDAY], ids=["weekday", "saturday", "sunday"])
def test_each_state_at_its_edges(code, day):
    phone, zone = NUMBERS[code]
    hours = RULES[code].hours_on(day)
    if hours is None:  # the whole day is off: held until a later day
        until = held(phone, at(day, 12, 0, zone))
        assert until is not None and until.astimezone(ZoneInfo(zone)).date() > day
        return
    first, last = max(hours[0], DEFAULT.end), min(hours[1], DEFAULT.start)  # the stricter of the two
    assert held(phone, at(day, first - 1, 59, zone)) == at(day, first, 0, zone)  # the last held minute
    assert held(phone, at(day, first, 0, zone)) is None  # the first allowed one
    assert held(phone, at(day, last - 1, 59, zone)) is None  # the last allowed minute
    assert held(phone, at(day, last, 0, zone)) is not None  # the first held one


def test_texas_sunday_waits_for_noon_and_rhode_island_sunday_for_monday():
    assert held("+15125550199", at(SUNDAY, 11, 59, "America/Chicago")) == at(SUNDAY, 12, 0, "America/Chicago")
    assert held("+14015550100", at(SATURDAY, 17, 0, "America/New_York")) == at(
        date(2026, 12, 14), 9, 0, "America/New_York"
    )


def test_south_dakota_waits_for_a_weekday_and_oklahoma_for_nine():
    # S.D. Codified Laws 37-30-28: automated solicitations only on weekdays, 9 a.m.-9 p.m.
    assert held("+16053350100", at(SATURDAY, 12, 0, "America/Chicago")) == at(
        date(2026, 12, 14), 9, 0, "America/Chicago"
    )
    # Oklahoma: 9 a.m. (15 O.S. 755.1) to 8 p.m. (Telephone Solicitation Act of 2022).
    assert held("+14055550100", at(TUESDAY, 8, 30, "America/Chicago")) == at(TUESDAY, 9, 0, "America/Chicago")


def test_utah_waits_out_sundays_and_holidays_and_new_jersey_keeps_the_federal_hours():
    # Utah Code 13-25a-103(3): not 9 p.m.-8 a.m., not on a Sunday, not on a legal holiday.
    assert held("+18015550100", at(SUNDAY, 12, 0, "America/Denver")) == at(date(2026, 12, 14), 8, 0, "America/Denver")
    christmas = date(2026, 12, 25)  # a Friday
    assert held("+18015550100", at(christmas, 12, 0, "America/Denver")) == at(
        date(2026, 12, 26), 8, 0, "America/Denver"
    )
    assert held("+18015550100", at(TUESDAY, 20, 59, "America/Denver")) is None
    # N.J.S.A. 56:8-128(d) bars 9 p.m.-8 a.m., the federal hours: no row, so QUIET_HOURS alone.
    assert state_of("New Jersey") == "NJ" and "NJ" not in RULES
    assert held("+12015550100", at(SUNDAY, 8, 0, "America/New_York")) is None
    assert held("+12015550100", at(TUESDAY, 20, 59, "America/New_York")) is None
    assert held("+12015550100", at(TUESDAY, 21, 0, "America/New_York")) is not None


def test_the_compliance_doc_lists_the_same_states_and_the_same_verified_rows():
    text = (Path(__file__).parent.parent / "docs" / "compliance.md").read_text(encoding="utf-8")
    table = text.split("#### State calling hours", 1)[1].split("How far to trust it", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    listed = {STATE_CODES[cells[0].strip()]: cells[-1].strip() for cells in rows[1:]}  # rows[0]: the header
    assert set(listed) == set(RULES)
    for code, checked in listed.items():
        assert checked.startswith("yes") == RULES[code].verified, code


def test_a_holiday_is_off_where_the_statute_names_holidays():
    christmas = date(2026, 12, 25)  # a Friday
    assert is_federal_holiday(christmas) and is_federal_holiday(date(2026, 11, 26))  # Thanksgiving
    assert not is_federal_holiday(TUESDAY)
    assert held("+15045550100", at(christmas, 12, 0, "America/Chicago")) == at(
        date(2026, 12, 26), 8, 0, "America/Chicago"
    )
    assert held("+13055550100", at(christmas, 12, 0, "America/New_York")) is None  # Florida names no holidays


def test_state_hours_off_leaves_quiet_hours_alone():
    phone = "+13055550100"  # Florida: 8 p.m. is held by the state, not by 21-8
    assert held(phone, at(TUESDAY, 20, 30, "America/New_York")) == at(date(2026, 12, 9), 8, 0, "America/New_York")
    assert held(phone, at(TUESDAY, 20, 30, "America/New_York"), state=False) is None
    assert held(phone, at(TUESDAY, 21, 0, "America/New_York"), state=False) is not None


def test_quiet_hours_are_read_in_the_customers_zone_not_the_business():
    # 7:30 AM in Chicago is 8:30 AM in New York: a Massachusetts customer may get it, a Chicago one not yet.
    now = at(TUESDAY, 7, 30, "America/Chicago")
    assert held("+16175550100", now, state=False) is None
    assert held("+13125550100", now, state=False) == at(TUESDAY, 8, 0, "America/Chicago")
    # 8:30 PM in Chicago is 6:30 PM in Seattle, 9:30 PM in New York.
    evening = at(TUESDAY, 20, 30, "America/Chicago")
    assert held("+12065550100", evening, state=False) is None
    assert held("+16175550100", evening, state=False) == at(date(2026, 12, 9), 8, 0, "America/New_York")


def test_a_number_whose_area_spans_two_zones_is_quiet_while_quiet_in_either():
    phone = "+12085550100"  # Idaho's 208: Boise (Mountain) and Los Angeles (Pacific)
    assert customer_zones(phone, CHICAGO) == (ZoneInfo("America/Boise"), ZoneInfo("America/Los_Angeles"))
    # 7:30 AM Pacific is 8:30 AM Mountain: quiet in Pacific, so held until 8 AM Pacific.
    assert held(phone, at(TUESDAY, 7, 30, "America/Los_Angeles")) == at(TUESDAY, 8, 0, "America/Los_Angeles")
    # 8:30 PM Pacific is 9:30 PM Mountain: quiet in Mountain, and the morning waits for 8 AM in Pacific too.
    assert held(phone, at(TUESDAY, 20, 30, "America/Los_Angeles")) == at(date(2026, 12, 9), 8, 0, "America/Los_Angeles")


def test_a_number_that_tells_no_zone_uses_the_business_zone():
    for phone in ("+18005550100", "+18885550100", "+1555"):  # toll-free, toll-free, not a number
        assert customer_zones(phone, CHICAGO) == (CHICAGO,)
        assert held(phone, at(TUESDAY, 7, 59, "America/Chicago")) == at(TUESDAY, 8, 0, "America/Chicago")
        assert held(phone, at(TUESDAY, 8, 0, "America/Chicago")) is None
    assert customer_zones("+12125550199", CHICAGO) == (NEW_YORK,)


@pytest.mark.parametrize(
    ("day", "name"), [(date(2026, 3, 8), "spring forward"), (date(2026, 11, 1), "fall back")], ids=["spring", "fall"]
)
def test_dst_days_end_the_quiet_at_the_local_hour(day, name):
    phone = "+13125550100"  # Chicago
    before = at(day, 7, 59, "America/Chicago")
    assert held(phone, before) == at(day, 8, 0, "America/Chicago"), name
    assert held(phone, at(day, 8, 0, "America/Chicago")) is None
    # From 1:30 AM (a time that exists twice, or just after the skipped hour) the wait ends at 8:00 local.
    assert held(phone, at(day, 3, 30, "America/Chicago")) == at(day, 8, 0, "America/Chicago")


def test_the_texas_sunday_noon_across_the_fall_back_day():
    day = date(2026, 11, 1)  # a Sunday, DST ends at 2 AM
    assert held("+15125550199", at(day, 9, 0, "America/Chicago")) == at(day, 12, 0, "America/Chicago")


def test_held_words_say_the_customers_clock_and_zone():
    until = at(TUESDAY, 8, 0, "America/Chicago")
    assert held_words(until, "+15125550199", NEW_YORK) == "held until 8:00 AM CST"
    assert held_words(at(TUESDAY, 8, 0, "America/New_York"), "+16175550100", CHICAGO) == "held until 8:00 AM EST"
    assert held_words(until, "+18005550100", CHICAGO) == "held until 8:00 AM CST"


@pytest.mark.parametrize(
    ("description", "code"),
    [
        ("Texas", "TX"),
        ("Austin, TX", "TX"),
        ("New York, NY", "NY"),
        ("Washington State", "WA"),
        ("", None),
        ("London", None),
    ],
)
def test_state_of_a_geocoder_description(description, code):
    assert state_of(description) == code


def test_settings_that_leave_no_moment_hold_it_for_two_weeks_instead_of_failing():
    never = QuietHours(0, 23)  # only 11 PM is allowed, and Texas stops at 9 PM
    now = at(TUESDAY, 12, 0, "America/Chicago")
    assert held("+15125550199", now, quiet=never) == now + timedelta(days=14)
