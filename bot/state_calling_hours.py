"""The states whose calling-hours laws are stricter than the federal 8 a.m.-9 p.m. (47 CFR 64.1200(c)(1)).

Each rule says, per weekday, the local hours a telephone solicitation may be
made (start inclusive, end exclusive; None: not that day at all), whether the
statute also names holidays, its source and the day it was checked. Most of
these laws speak of *telephone solicitations*; the service applies them to its
automated non-urgent texts (reminders, review requests) as a conservative
choice (docs/compliance.md).

Honesty about the sources: this table was written on CHECKED without access to
the statutes' current text, from the statutes as known then. Every row is
`verified=False` until someone confirms it against the statute and the
regulator's page named in it; where the reading was unsure, the stricter one
was taken. A state not in the table gets the federal hours (QUIET_HOURS, 21-8 by
default, is already that strict).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

CHECKED = date(2026, 12, 7)

Hours = tuple[int, int] | None  # (from, until) local hours; None: no texts that day
MON_SAT = 6  # weekdays 0..5 (Monday..Saturday)


@dataclass(frozen=True)
class StateRule:
    """One state's calling hours: `days[weekday]` (Monday = 0) and whether holidays are off."""

    state: str  # two-letter code
    days: tuple[Hours, Hours, Hours, Hours, Hours, Hours, Hours]
    holidays_off: bool
    source: str  # statute citation
    url: str  # the regulator's or legislature's page
    checked: date = CHECKED
    verified: bool = False  # True once someone confirmed it against the current statute text
    note: str = ""

    def hours_on(self, day: date) -> Hours:
        """The allowed hours on `day` (None when the whole day is off: a Sunday or a holiday where the law says so)."""
        if self.holidays_off and is_federal_holiday(day):
            return None
        return self.days[day.weekday()]


def _week(weekdays: Hours, saturday: Hours | None = None, sunday: Hours = None) -> tuple[Hours, ...]:
    sat = weekdays if saturday is None else saturday
    return (weekdays, weekdays, weekdays, weekdays, weekdays, sat, sunday)


def _rule(state: str, days: tuple[Hours, ...], holidays_off: bool, source: str, url: str, note: str = "") -> StateRule:
    return StateRule(state, days, holidays_off, source, url, note=note)  # type: ignore[arg-type]


EIGHT_TO_EIGHT = (8, 20)

RULES: dict[str, StateRule] = {
    rule.state: rule
    for rule in (
        _rule(
            "AL",
            _week(EIGHT_TO_EIGHT, sunday=None),
            True,
            "Ala. Code §8-19C-2? and Ala. Admin. Code r. 770-X-6 (Telephone Solicitation)",
            "https://psc.alabama.gov/",
            "8 a.m.-8 p.m.; none on Sunday or legal holidays (stricter reading taken).",
        ),
        _rule(
            "CT",
            _week((9, 20), sunday=(9, 20)),
            False,
            "Conn. Gen. Stat. §42-288a (as amended by Public Act 23-98)",
            "https://portal.ct.gov/dcp",
            "9 a.m.-8 p.m.",
        ),
        _rule(
            "FL",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "Fla. Stat. §501.059(8)(a) (Florida Telephone Solicitation Act)",
            "https://www.fdacs.gov/Consumer-Resources/Florida-Do-Not-Call",
            "8 a.m.-8 p.m.",
        ),
        _rule(
            "KY",
            _week((10, 21), sunday=(10, 21)),
            False,
            "Ky. Rev. Stat. §367.46955(15)",
            "https://www.ag.ky.gov/",
            "Not before 10 a.m. or after 9 p.m. as known; confirm.",
        ),
        _rule(
            "LA",
            _week(EIGHT_TO_EIGHT, sunday=None),
            True,
            "La. R.S. 45:844.17 (Telephone Solicitation Relief Act)",
            "https://www.lpsc.louisiana.gov/",
            "8 a.m.-8 p.m.; none on Sunday or legal holidays.",
        ),
        _rule(
            "MA",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "Mass. Gen. Laws c. 159C §3 and 201 CMR 12.02",
            "https://www.mass.gov/do-not-call",
            "8 a.m.-8 p.m.",
        ),
        _rule(
            "MD",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "Md. Code, Com. Law §14-4503 (Stop the Spam Calls Act of 2023)",
            "https://www.marylandattorneygeneral.gov/",
            "8 a.m.-8 p.m.",
        ),
        _rule(
            "MN",
            _week((9, 21), sunday=(9, 21)),
            False,
            "Minn. Stat. §325E.27",
            "https://www.ag.state.mn.us/",
            "Not before 9 a.m. or after 9 p.m.",
        ),
        _rule(
            "MS",
            _week(EIGHT_TO_EIGHT, sunday=None),
            False,
            "Miss. Code §77-3-725 and Public Service Commission rules",
            "https://www.psc.ms.gov/",
            "8 a.m.-8 p.m. Monday to Saturday; none on Sunday.",
        ),
        _rule(
            "NJ",
            _week((8, 21), sunday=(8, 21)),
            False,
            "N.J.S.A. 56:8-128? and N.J.A.C. 13:45D-4.1",
            "https://www.njconsumeraffairs.gov/",
            "8 a.m.-9 p.m. as known (no stricter than the federal hours); confirm.",
        ),
        _rule(
            "OK",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "15 O.S. §775C.4 (Telephone Solicitation Act of 2022)",
            "https://www.oag.ok.gov/",
            "8 a.m.-8 p.m.",
        ),
        _rule(
            "RI",
            _week((9, 18), saturday=(10, 17), sunday=None),
            True,
            "R.I. Gen. Laws §5-61-3.4",
            "https://riag.ri.gov/",
            "9 a.m.-6 p.m. Monday to Friday, 10 a.m.-5 p.m. Saturday; none on Sunday or holidays.",
        ),
        _rule(
            "TX",
            _week((9, 21), sunday=(12, 21)),
            False,
            "Tex. Bus. & Com. Code §301.051",
            "https://www.puc.texas.gov/",
            "9 a.m.-9 p.m. Monday to Saturday, noon-9 p.m. Sunday.",
        ),
        _rule(
            "WA",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "RCW 80.36.390",
            "https://www.atg.wa.gov/",
            "8 a.m.-8 p.m.",
        ),
    )
}


# -- holidays: the federal holidays stand in for the states' legal holidays ---------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = (date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def is_federal_holiday(day: date) -> bool:
    """Whether `day` is a US federal holiday (5 U.S.C. §6103), as the date itself (not the observed weekday)."""
    y = day.year
    return day in {
        date(y, 1, 1),
        _nth_weekday(y, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(y, 2, 0, 3),  # Washington's Birthday
        _last_weekday(y, 5, 0),  # Memorial Day
        date(y, 6, 19),
        date(y, 7, 4),
        _nth_weekday(y, 9, 0, 1),  # Labor Day
        _nth_weekday(y, 10, 0, 2),  # Columbus Day
        date(y, 11, 11),
        _nth_weekday(y, 11, 3, 4),  # Thanksgiving
        date(y, 12, 25),
    }


# -- the state of a number: phonenumbers' geocoder says "Texas" or "Austin, TX" ------------

STATE_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA", "Colorado": "CO",
    "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC", "Washington D.C.": "DC", "Florida": "FL",
    "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI",
    "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI",
    "Wyoming": "WY",
}  # fmt: skip


def state_of(description: str) -> str | None:
    """The two-letter state of a geocoder description ("Texas", "Austin, TX"), or None ("", "London")."""
    text = description.strip()
    if text in STATE_CODES:
        return STATE_CODES[text]
    _, _, tail = text.rpartition(", ")
    return tail if tail in STATE_CODES.values() else None
