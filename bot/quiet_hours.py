"""Quiet hours where the customer is (SPEC "Compliance in code"): may an automated text go now, or when?

QUIET_HOURS is read in the customer's local time: the zone(s) of the number
from phonenumbers' time-zone data. A number whose area spans several zones
(Idaho's 208: Boise and Los Angeles) is quiet while it is quiet in any of them.
A number that tells nothing (a toll-free or other non-geographic number, or
one phonenumbers has no zone for) is read in the business's zone.

With STATE_QUIET_HOURS on, the customer's state's calling hours
(bot/state_calling_hours.py, the state from phonenumbers' geocoder) apply too;
the stricter of the two wins, since a text must satisfy both.

Only automated, non-urgent texts ask this (reminders, review requests): a
reply, a relay, a text a person sends or a status text never waits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

from bot.state_calling_hours import RULES, StateRule, state_of
from bot.wording import clock

STEP = timedelta(minutes=15)  # every zone's offset is a multiple of 15 minutes, every rule's edge a whole hour
HORIZON = timedelta(days=14)  # the longest hold is a few days (Rhode Island: Saturday 5 p.m. to a Monday holiday)
_UNKNOWN = "Etc/Unknown"
_HOURS = re.compile(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*")


@dataclass(frozen=True)
class QuietHours:
    """Hours of the local day when no reminder goes out: from `start` up to `end` ("21-8": 9 PM to 8 AM)."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """ "21-8" -> QuietHours(21, 8); "" -> None (no quiet hours); ValueError saying what is wrong."""
        if not text.strip():
            return None
        found = _HOURS.fullmatch(text)
        if not found:
            raise ValueError(f"{text!r} is not two hours like 21-8 (9 PM to 8 AM)")
        start, end = int(found[1]), int(found[2])
        if start > 23 or end > 23:
            raise ValueError(f"{text!r}: hours are 0 to 23")
        if start == end:
            raise ValueError(f"{text!r} starts and ends at the same hour; leave it empty for no quiet hours")
        return cls(start, end)

    def holds(self, local: datetime) -> bool:
        """Whether `local` (a time in the business's zone) falls in the quiet hours."""
        if self.start < self.end:
            return self.start <= local.hour < self.end
        return local.hour >= self.start or local.hour < self.end  # over midnight

    def over(self, local: datetime) -> datetime:
        """The first moment at or after `local` outside the quiet hours."""
        if not self.holds(local):
            return local
        day = local.date()
        if self.start > self.end and local.hour >= self.start:
            day += timedelta(days=1)  # evening: the quiet ends tomorrow morning
        return datetime.combine(day, time(self.end), tzinfo=local.tzinfo)


def _parsed(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


def customer_zones(phone: str, business_zone: tzinfo) -> tuple[tzinfo, ...]:
    """The zones `phone` (E.164) may be in; the business's zone when the number tells nothing."""
    number = _parsed(phone)
    if number is None or not phonenumbers.is_number_geographical(number):
        return (business_zone,)
    names = [name for name in number_zones.time_zones_for_number(number) if name != _UNKNOWN]
    return tuple(ZoneInfo(name) for name in names) or (business_zone,)


def customer_state(phone: str) -> StateRule | None:
    """The calling-hours rule of the US state `phone` is in, when the table has one."""
    number = _parsed(phone)
    if number is None or phonenumbers.region_code_for_number(number) != "US":
        return None
    state = state_of(geocoder.description_for_number(number, "en"))
    return RULES.get(state) if state else None


def held_until(
    phone: str, now: datetime, business_zone: tzinfo, quiet: QuietHours | None, state_hours: bool
) -> datetime | None:
    """None when an automated text to `phone` may go at `now`; else the first moment it may (UTC).

    `quiet` is the business's QUIET_HOURS (None: none); `state_hours` is STATE_QUIET_HOURS.
    """
    zones = customer_zones(phone, business_zone)
    rule = customer_state(phone) if state_hours else None
    allowed = _allowed(zones, quiet, rule)
    if allowed(now):
        return None
    # The next quarter hour from `now`, then quarter hours on, until every zone allows it.
    start = now.astimezone(UTC)
    moment = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0) + STEP
    while moment - start <= HORIZON:
        if allowed(moment):
            return moment
        moment += STEP
    # Settings that leave no moment at all (QUIET_HOURS 0-23 and a state that stops at 9 PM): held for the
    # horizon, by when a reminder's appointment has begun and it is dropped, rather than an error each pass.
    return start + HORIZON


def _allowed(zones: tuple[tzinfo, ...], quiet: QuietHours | None, rule: StateRule | None) -> Callable[[datetime], bool]:
    def allowed(moment: datetime) -> bool:
        for zone in zones:
            local = moment.astimezone(zone)
            if quiet is not None and quiet.holds(local):
                return False
            if rule is not None:
                hours = rule.hours_on(local.date())
                if hours is None or not hours[0] <= local.hour < hours[1]:
                    return False
        return True

    return allowed


def held_words(until: datetime, phone: str, business_zone: tzinfo) -> str:
    """ "held until 8:00 AM CST": `until` in the customer's zone (the first of several)."""
    zone = customer_zones(phone, business_zone)[0]
    local = until.astimezone(zone)
    return f"held until {clock(local)} {local.strftime('%Z')}"
