"""The states whose calling-hours laws are stricter than the federal 8 a.m.-9 p.m. (47 CFR 64.1200(c)(1)).

Each rule says, per weekday, the local hours a telephone solicitation may be
made (start inclusive, end exclusive; None: not that day at all), whether the
statute also names holidays, its source and the day it was checked. Most of
these laws speak of *telephone solicitations* (some only of automated or
prerecorded calls); the service applies them to its automated non-urgent texts
(reminders, review requests) as a conservative choice (docs/compliance.md).

Honesty about the sources (checked 2026-12-07, from stored copies of public
pages, not the live statute sites): a row is `verified=True` only where the
text of the statute or regulation giving the hours was read; its `note` says
what was read and where. Verified: AL, FL, MA, MS, NV, RI, SD, UT, WA. The other
rows rest on vendors', law firms' or news summaries (named in the note), or on
older or partial copies of the text; where those disagreed the stricter reading
was taken. New Jersey is not in the table: N.J.S.A. 56:8-128(d) (read in a copy on
d1tvxue8o4w0fl.cloudfront.net, current through L. 2024, c. 62) bars calls
"between the hours of 9:00 p.m. and 8:00 a.m.", the federal hours. A state not in the table gets the
federal hours (QUIET_HOURS, 21-8 by default, is already that strict).
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


def _rule(
    state: str,
    days: tuple[Hours, ...],
    holidays_off: bool,
    source: str,
    url: str,
    note: str = "",
    verified: bool = False,
) -> StateRule:
    return StateRule(state, days, holidays_off, source, url, note=note, verified=verified)  # type: ignore[arg-type]


EIGHT_TO_EIGHT = (8, 20)

RULES: dict[str, StateRule] = {
    rule.state: rule
    for rule in (
        _rule(
            "AL",
            _week(EIGHT_TO_EIGHT, sunday=None),
            True,
            "Ala. Admin. Code r. 770-X-5-.17(1)(b) (Public Service Commission; automated solicitation calls)",
            "https://psc.alabama.gov/",
            "8 a.m.-8 p.m.; 'No solicitation calls are allowed on Sundays or holidays.' Rule text read via a copy"
            " of the Alabama Administrative Code (d1tvxue8o4w0fl.cloudfront.net/regulation/alabama-administrative-code/"
            "title-770-.../section-770-x-5-17-live-and-automated-solicitations-and-announcements), 2026-12-07."
            " The rule speaks of automated calls. Was cited as Ala. Code 8-19C-2 and r. 770-X-6: 8-19C-2 (read via"
            " lawserver.com) is the do-not-call list and names no hours.",
            verified=True,
        ),
        _rule(
            "CT",
            _week((9, 20), sunday=(9, 20)),
            False,
            "Conn. Gen. Stat. §42-288a(c) (as amended by Public Act 23-98)",
            "https://www.cga.ct.gov/current/pub/chap_743m.htm",
            "9 a.m.-8 p.m. per Drop Cowboy's and G2 Leads' tables (vendor summaries) and a compliance table in a"
            " public code repository quoting (c) as 'between the hours of nine o'clock a.m. and eight o'clock p.m."
            " local time' (a quote, not the statute). 2026-12-07: the stored copies of §42-288a (casetext.com,"
            " cga.ct.gov chapter 743m) break off at the start of (c), before the hours; not verified.",
        ),
        _rule(
            "FL",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "Fla. Stat. §501.616(6)(a) (Florida Telemarketing Act, as amended by SB 1120 (2021))",
            "https://flsenate.gov/Session/Bill/2021/1120/BillText/Filed/HTML",
            "'A commercial telephone solicitation phone call before 8 a.m. or after 8 p.m. local time at the called"
            " person's location' is barred, 'including calls made through automated dialing or recorded messages';"
            " no days or holidays named. Text read: SB 1120 bill text on flsenate.gov and the current section via"
            " lawserver.com/law/state/florida/statutes/florida_statutes_501-616, 2026-12-07. Was cited as"
            " §501.059(8)(a), which is the autodialer-consent rule, not the hours.",
            verified=True,
        ),
        _rule(
            "KY",
            _week((10, 21), sunday=(10, 21)),
            False,
            "Ky. Rev. Stat. §367.46955 (the hours item; numbered (15) or (16) by different summaries)",
            "https://www.ag.ky.gov/",
            "10 a.m.-9 p.m. kept (the stricter reading; Drop Cowboy's table and a public code repository's quote,"
            " 'to a person's residence at any time other than between 10 a.m. - 9 p.m. local time', agree)."
            " 2026-12-07: the copies of §367.46955 (lawserver.com, self-law.org) show items (1)-(7) only; the"
            " hours item was not seen. KRS 367.461(2)(e) (automated calling equipment: 'only between 8:00 a.m."
            " and 9:00 p.m.') read via contactcentercompliance.com.",
        ),
        _rule(
            "LA",
            _week(EIGHT_TO_EIGHT, sunday=None),
            True,
            "LPSC General Order R-29617 (Do Not Call Program); La. R.S. 45:844.11 et seq.",
            "https://lpsc.louisiana.gov/DNC_Emergency",
            "8 a.m.-8 p.m.; none on Sunday or legal holidays, per Drop Cowboy's table; the General Order's text was"
            " not read (2026-12-07: the LPSC's emergency page, read, names the General Order as in effect but not"
            " its hours; R.S. 45:844.14 on legis.la.gov, read, is the listing). Was cited as R.S. 45:844.17, the"
            " safe-harbor section. Not modelled: in a declared state of emergency solicitation stops altogether"
            " (R.S. 45:844.31; LPSC page above).",
        ),
        _rule(
            "MA",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "201 CMR 12.02(2); Mass. Gen. Laws c. 159C §3",
            "https://www.mass.gov/do-not-call",
            "No unsolicited telephonic sales call 'between the hours of 8:00 P.M. to 8:00 A.M., local time at the"
            " consumer's location'; no days or holidays named. Regulation text read via regulations.justia.com/"
            "states/massachusetts/201-cmr/title-201-cmr-12-00/section-12-02, 2026-12-07 (c. 159C §3 not read).",
            verified=True,
        ),
        _rule(
            "MD",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "Md. Code, Com. Law §14-4503 (Stop the Spam Calls Act of 2023, ch. 413)",
            "https://mgaleg.maryland.gov/mgawebsite/Legislation/Details/SB0090?ys=2023RS",
            "8 a.m.-8 p.m. per WMAR-2 News on the Act taking effect 2024-01-01 (news, not the statute). 2026-12-07:"
            " §14-4501 (definitions) and §14-4502 up to (a)(3) (written consent for automated calls) read via"
            " lexace.ai and self-law.org, no hours in what was shown; a public code repository quotes §14-4502(c)"
            " as 'during the hours between 8 p.m. and 8 a.m. in the called party's time zone' (a quote, not read)."
            " SB 90 (2023) was signed 2023-05-03 (DataGuidance).",
        ),
        _rule(
            "MN",
            _week((9, 21), sunday=(9, 21)),
            False,
            "Minn. Stat. §325E.27",
            "https://www.ag.state.mn.us/",
            "9 a.m.-9 p.m. kept (Drop Cowboy's table agrees). The AG's page quotes only §325E.27(a), the automatic"
            " dialing-announcing device consent rule; 2026-12-07: revisor.mn.gov's §325E.311 and §325E.314 (the"
            " no-call list) read, no hours. A public code repository cites §325E.30 ('time of day limit') for"
            " 9-9; not read.",
        ),
        _rule(
            "MS",
            _week(EIGHT_TO_EIGHT, sunday=None),
            False,
            "Miss. Code §77-3-723",
            "https://www.psc.ms.gov/",
            "'Such calls may only be made between the hours of 8:00 a.m. and 8:00 p.m. Central Standard Time. No"
            " telephone solicitations may be made on a Sunday.' No holidays named. Text read via getpocketlaw.com"
            " (section-77-3-723-rules-for-authorized-calls), 2026-12-07. Was cited as §77-3-725. Read as local"
            " time; taken literally, summer hours would be 9 a.m.-9 p.m. CDT. (§79-11-524, 9 a.m.-9 p.m., is for"
            " charitable fund-raisers only.)",
            verified=True,
        ),
        _rule(
            "NM",
            _week((9, 21), sunday=(9, 21)),
            False,
            "N.M. Stat. §57-12-22(B)(5) (Unfair Practices Act)",
            "https://law.justia.com/codes/new-mexico/2006/nmrc/jd_57-12-22-13117.html",
            "Added. Unlawful to make a telephone solicitation for a purchase of goods or services '(5) that are"
            " received before 9:00 a.m. or after 9:00 p.m.'; no days or holidays named. Read 2026-12-07, but in the"
            " 2006 compilation on law.justia.com: the current text was not seen, so not marked verified (a"
            " stateregstoday.com summary also says 9 a.m.-9 p.m.).",
        ),
        _rule(
            "NV",
            _week((9, 21), sunday=(9, 21)),
            False,
            "Nev. Rev. Stat. §597.814(2)(a) (devices for automatic dialing and announcing)",
            "https://www.leg.state.nv.us/NRS/NRS-597.html",
            "No device for automatic dialing and announcing may place 'a call that is received by a telephone"
            " located in this state during the period between 9 p.m. and 9 a.m.'. Read via contactcentercompliance"
            ".com/legal/statutes/NV/NRS/597.814, 2026-12-07. It speaks of devices disseminating prerecorded"
            " messages; applied to automated texts. Was 9 a.m.-8 p.m. from Drop Cowboy's table: no statute for the"
            " 8 p.m. was found (a summary of NAC 599B says 8 a.m.-9 p.m.), so the end is now the statute's 9 p.m.",
            verified=True,
        ),
        _rule(
            "OK",
            _week((9, 20), sunday=(9, 20)),
            False,
            "15 O.S. §775C.4 (Telephone Solicitation Act of 2022); 15 O.S. §755.1(C)(2)(a)",
            "https://www.oag.ok.gov/",
            "9 a.m. start from §755.1(C)(2)(a) (automatic dial announcing devices: not 'before 9 a.m. or after"
            " 9 p.m.'), read via self-law.org and contactcentercompliance.com, 2026-12-07. 8 p.m. end per the"
            " Senate's release on HB 3168 (KFOR, Bartlesville Radio: 'Sales calls before 8 a.m. and after 8 p.m.')"
            " and DNC.com's summary ('8:00am through 8:00pm'); the enrolled bill (legiplex) was read only up to its"
            " title, which says it provides 'the time frame'. §775C.4's own text not read.",
        ),
        _rule(
            "PA",
            _week((9, 19), sunday=None),
            True,
            "73 P.S. §2245(a)(1) (Telemarketer Registration Act); Act 73 of 2019 (holidays); Senate Bill 992 (2025-26)",
            "https://www.attorneygeneral.gov/",
            "Read 2026-12-07 on govt.westlaw.com (Purdon's, effective 2019-12-03): §2245(a)(1) bars 'Conducting"
            " telemarketing after 9 p.m. or before 8 a.m.'. Holidays: Act 73 of 2019 (HB 318) bars solicitation"
            " calls on legal holidays per Rep. Gillen's release, Mac Murray & Shuster and a mondaq.com alert (PA's"
            " list adds Good Friday, Flag Day, Election Day: not modelled); the text was not read. SB 992 (Sundays;"
            " 7 p.m.-9 a.m.) passed the Senate (Senate Republicans' release); that it became law (one public code"
            " repository says Act 47 of 2026, effective ~2026-10-18) was not confirmed. Stricter taken; not verified.",
        ),
        _rule(
            "RI",
            _week((9, 18), saturday=(10, 17), sunday=None),
            True,
            "R.I. Gen. Laws §5-61-3.6 and §5-61-2 ('hours of operation')",
            "https://riag.ri.gov/",
            "'Hours of operation' means Monday through Friday, except a state or federal holiday, 9:00 a.m.-6:00"
            " p.m.; Saturday 10:00 a.m.-5:00 p.m. (Sunday not listed). §5-61-3.6 read on webserver.rilin.state."
            "ri.us/Statutes/TITLE5/5-61/5-61-3.6.HTM, the §5-61-2 definition via instalawyer.io, 2026-12-07."
            " Was cited as §5-61-3.4 (prerecorded messages). The holiday exception is applied to Saturdays too.",
            verified=True,
        ),
        _rule(
            "SD",
            ((9, 21), (9, 21), (9, 21), (9, 21), (9, 21), None, None),
            False,
            "S.D. Codified Laws §37-30-28",
            "https://legis.state.sd.us/statutes/DisplayStatute.aspx?Type=Statute&Statute=37-30-28",
            "Added. 'No person may use an automated telephone dialing system to make a telephone solicitation to"
            " any telephone number in the state except weekdays between 9 a.m. and 9 p.m., according to the time"
            " in this state.' Weekdays read as Monday-Friday; no holidays named. Read on legis.state.sd.us,"
            " 2026-12-07.",
            verified=True,
        ),
        _rule(
            "TX",
            _week((9, 21), sunday=(12, 21)),
            False,
            "Tex. Bus. & Com. Code §301.051",
            "https://www.puc.texas.gov/",
            "9 a.m.-9 p.m. Monday to Saturday, noon-9 p.m. Sunday per tcpaguide.org (vendor summary). 2026-12-07:"
            " §301.051's text was not found (instalawyer.io shows its first line; texas.public.law and findlaw"
            " copies of chapter 304, read, have no hours; the 2005 code's §37.02 'PERMISSIBLE HOURS', its"
            " forerunner on law.justia.com, breaks off before the hours). Not verified.",
        ),
        _rule(
            "UT",
            _week((8, 21), sunday=None),
            True,
            "Utah Code §13-25a-103(3) (Telephone and Facsimile Solicitation Act)",
            "https://codes.findlaw.com/ut/title-13-commerce-and-trade/ut-code-sect-13-25a-103/",
            "Added. 'A person may not make a telephone solicitation to a residential telephone or cellular"
            " telephone without prior express consent during any of the following times: (a) between the hours"
            " of 9 p.m. and 8 a.m. local time; (b) on a Sunday; or (c) on a legal holiday.' Read via"
            " codes.findlaw.com (current as of 2025-01-01), 2026-12-07. Utah's legal holidays (e.g. Pioneer Day)"
            " are not all federal ones: not modelled.",
            verified=True,
        ),
        _rule(
            "WA",
            _week(EIGHT_TO_EIGHT, sunday=EIGHT_TO_EIGHT),
            False,
            "RCW 19.158.040(2) (commercial telephone solicitors); RCW 80.36.390",
            "https://app.leg.wa.gov/RCW/default.aspx?cite=19.158.040",
            "'A commercial telephone solicitor shall not place calls to any person which will be received before"
            " 8:00 a.m. or after 8:00 p.m. at the call recipient's local time.' Read on app.leg.wa.gov, 2026-12-07."
            " RCW 80.36.390 (read in part) holds the identification rules.",
            verified=True,
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
