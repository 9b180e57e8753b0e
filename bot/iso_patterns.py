"""ISO 8601 dates and date-times as regular expressions that match exactly what the API parses.

The published OpenAPI schema carries these patterns (web/openapi_schemas.py), and dashboards
generate clients and validate input from it: a string the pattern allows must be accepted, one it
refuses must be refused. So the patterns are calendar-exact -- months 01-12, the days each month
has, 29 February only in leap years (Gregorian: every 4th year, but not centuries unless divisible
by 400), hours 00-23, offsets within a day -- and written in the common subset of Python and
ECMAScript regular expressions (no lookbehind, no named groups).
"""

from __future__ import annotations

# Years divisible by 4 in a century (00 excluded: a century year is a leap year only by the 400 rule).
_FOURS = "(0[48]|[2468][048]|[13579][26])"
# Days of the year that every year has, in MM-DD.
_COMMON_DAY = "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?"
_ZONE = "(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"

# Appointments: 1900 to 2999. Far enough from year 1 and 9999 that moving a moment by its offset or
# a reminder a day earlier never leaves Python's datetime range; the ends are what .NET's
# default(DateTime) and date pickers' "no end" send, and neither is an appointment.
APPOINTMENT_YEARS = (1900, 2999)
_APPOINTMENT_YEAR = "(19|2[0-9])[0-9]{2}"
_APPOINTMENT_LEAP_YEAR = f"((19|2[0-9]){_FOURS}|2[048]00)"  # 1900, 2100 ... are not leap years; 2000, 2400, 2800 are

# Any year Python's datetime holds, 0001 to 9999 (a sync filter may say "since year 1").
_ANY_YEAR = "([0-9]{3}[1-9]|[0-9]{2}[1-9]0|[0-9][1-9]00|[1-9]000)"
_ANY_LEAP_YEAR = f"([0-9]{{2}}{_FOURS}|{_FOURS}00)"


def _instant(year: str, leap_year: str) -> str:
    """A date, or a date-time with an optional zone (` ` or `T` between), in the years `year` matches."""
    day = f"({year}-{_COMMON_DAY}|{leap_year}-02-29)"
    return f"{day}([T ]{_TIME}{_ZONE}?)?"


APPOINTMENT = _instant(_APPOINTMENT_YEAR, _APPOINTMENT_LEAP_YEAR)
ANY_INSTANT = _instant(_ANY_YEAR, _ANY_LEAP_YEAR)
