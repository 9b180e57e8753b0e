"""Human-readable text for the qdn command: job tables, job details, conversations.

Times are shown in the zone of the business the token acts for (GET /business), named once
per listing (`zone_note`): the API speaks UTC, and the client's own settings may describe
another business, in another zone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bot.jobs import label
from bot.wording import appointment_at, appointment_words, money, reschedule_words

Job = dict[str, Any]
Message = dict[str, Any]
NO_VALUE = "-"


def local_time(iso: str | None, tz: ZoneInfo, fmt: str = "%a %b %d %H:%M") -> str:
    """An API timestamp (UTC or with an offset) in the local zone; "-" if absent or unreadable."""
    if not iso:
        return NO_VALUE
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone(tz).strftime(fmt)


def zone_note(tz: ZoneInfo, shown: Iterable[datetime | None]) -> str:
    """ "Times in America/Chicago (CST).": the zone of the times `shown` (local moments), with the
    abbreviations they use (CST, CDT when they straddle a change); today's when none is given."""
    names = [name for name in dict.fromkeys(moment.tzname() for moment in shown if moment is not None) if name]
    names = names or [datetime.now(tz).tzname() or ""]
    return f"Times in {tz.key} ({', '.join(names)})."


def moment_of(iso: str | None, tz: tzinfo) -> datetime | None:
    """An API timestamp in `tz`; None if absent or unreadable."""
    try:
        return datetime.fromisoformat(iso).astimezone(tz) if iso else None
    except ValueError:
        return None


def appointment(scheduled_for: str | None, tz: ZoneInfo) -> str:
    """When the crew comes, in local time, as the customer's texts say it: "Sat Dec 5, 9:00 AM";
    a day with no time is just the day ("Sat Dec 5"), never midnight; "-" without one."""
    return appointment_words(scheduled_for, tz) or NO_VALUE


def history_label(status: str) -> str:
    """A history entry's status; the first one (`scheduled`) is when the job was booked, not the appointment."""
    return "booked" if status == "scheduled" else label(status)


def status_text(job: Job) -> str:
    """ "en route (ETA 20 min)", "complete", ..."""
    text = label(job["status"])
    if job.get("eta_minutes") is not None:
        text += f" (ETA {job['eta_minutes']} min)"
    return text


def total_text(total: float | None) -> str:
    return NO_VALUE if total is None else money(total)


# -- jobs -------------------------------------------------------------------


def jobs_table(jobs: list[Job], tz: ZoneInfo) -> str:
    """A compact table, one job a line, in the order given (the API's newest first), then the zone."""
    if not jobs:
        return "No jobs yet. Add one with `qdn jobs create` or try `qdn demo`."
    table = table_lines(
        ("ID", "STATUS", "CUSTOMER", "PHONE", "SERVICE", "APPOINTMENT", "TOTAL"),
        [
            (
                str(job["id"]),
                status_text(job),
                job["customer_name"],
                job["customer_phone"],
                job["service_type"],
                appointment(job.get("scheduled_for"), tz),
                total_text(job.get("total")),
            )
            for job in jobs
        ],
    )
    times = [appointment_at(job.get("scheduled_for"), tz) for job in jobs]
    return "\n".join([*table, zone_note(tz, times)] if any(times) else table)


def table_lines(header: tuple[str, ...] | None, rows: Sequence[tuple[str, ...]], indent: str = "") -> list[str]:
    """`rows` (and `header`) in columns two spaces apart, each as wide as its widest cell."""
    everything = [header, *rows] if header else list(rows)
    widths = [max(len(row[i]) for row in everything) for i in range(len(everything[0]))]
    return [
        indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in everything
    ]


def job_details(job: Job, tz: ZoneInfo) -> str:
    """The key facts of one job, its tracking link, its history (status and appointment changes), the zone."""
    facts = [
        ("Job", str(job["id"])),
        ("Status", status_text(job)),
        ("Customer", f"{job['customer_name']}  {job['customer_phone']}"),
        *phone_status_fact(job, tz),
        ("Service", job["service_type"]),
        ("Address", job.get("address") or NO_VALUE),
        ("Appointment", appointment(job.get("scheduled_for"), tz)),
        # Confirm by text: the customer's C after the reminder (docs/confirmations.md).
        ("Confirmed", local_time(job["confirmed_at"], tz) if job.get("confirmed_at") else "not yet"),
        ("Total", total_text(job.get("total"))),
        ("Invoice", job.get("invoice_url") or NO_VALUE),
        ("Notes", job.get("notes") or NO_VALUE),
        ("Tracking", job["tracking_url"]),
    ]
    if held := job.get("reminder_held"):  # waiting out the customer's quiet hours (their clock)
        facts.append(("Reminder", held["outcome"]))
    lines = [f"{name + ':':<13}{value}" for name, value in facts]
    lines.append("History:")
    steps = history(job, tz)
    lines.extend(f"  {local_time(at, tz)}  {what}  by {by}" for at, what, by in steps)
    shown = [appointment_at(job.get("scheduled_for"), tz), *(moment_of(at, tz) for at, _, _ in steps)]
    lines.append(zone_note(tz, shown))
    return "\n".join(lines)


def phone_status_fact(job: Job, tz: ZoneInfo) -> list[tuple[str, str]]:
    """A line saying the customer's phone can't take texts (Twilio said so), when it can't: call them."""
    status = job.get("phone_status")
    if not status:
        return []
    since = f" since {local_time(status['since'], tz)}" if status.get("since") else ""
    return [("Texts", f"can't reach this phone ({status.get('reason')}){since}: call them")]


def history(job: Job, tz: ZoneInfo) -> list[tuple[str, str, str]]:
    """(at, what happened, by whom) of each status change and appointment change, oldest first."""
    steps = []
    for step in job.get("history") or []:
        eta = f" (ETA {step['eta_minutes']} min)" if step.get("eta_minutes") is not None else ""
        steps.append((step["at"], f"{history_label(step['status'])}{eta}", who_did(step["by"])))
    for change in job.get("reschedules") or []:
        steps.append((change["at"], reschedule_words(change, tz), who_did(change["by"])))
    return sorted(steps, key=lambda step: step[0])  # ISO UTC sorts as text; stable for the same time


def who_did(by: str) -> str:
    return by if by == "api" else f"dispatcher {by}"  # SPEC: `api` or the dispatcher's phone


def job_created(job: Job, tz: ZoneInfo) -> str:
    when = appointment_words(job.get("scheduled_for"), tz)
    status = f"{status_text(job)} for {when}" if when else status_text(job)
    line = f"Job {job['id']} for {job['customer_name']}: {status}. Tracking: {job['tracking_url']}"
    moment = appointment_at(job.get("scheduled_for"), tz)
    return f"{line}\n{zone_note(tz, [moment])}" if moment else line


# -- conversations ----------------------------------------------------------


def delivery(message: Message) -> str:
    """ "delivered", "failed (30006: landline)", "skipped (recipient has opted out ...)"."""
    detail = ": ".join(str(part) for part in (message.get("error_code"), message.get("error_message")) if part)
    return f"{message['status']} ({detail})" if detail else str(message["status"])


def transcript(
    messages: Iterable[Message],
    tz: ZoneInfo,
    who: Callable[[str], str],
    link: Callable[[dict[str, Any]], str | None] = lambda item: None,
) -> list[str]:
    """The conversation as lines: a heading per local day, then time, arrow, who, kind and status, body.

    `who(phone)` names the other party ("Dana (customer)", "dispatcher"); `link(item)` a picture's
    link (cli/picture_links.py), None for the API's own `url` (the dashboard's, with the token).
    """
    lines: list[str] = []
    day = None
    for message in messages:
        this_day = local_time(message["created_at"], tz, "%A %B %d, %Y")
        if this_day != day:
            day = this_day
            lines.append(f"-- {day} --")
        inbound = message["direction"] == "inbound"
        arrow, preposition = ("←", "from") if inbound else ("→", "to")
        time = local_time(message["created_at"], tz, "%H:%M")
        lines.append(f"{time} {arrow} {preposition} {who(message['phone'])}  [{message['kind']}, {delivery(message)}]")
        lines.extend(f"      {line}" for line in str(message.get("body") or "").splitlines() or [""])
        lines.extend(f"      [picture] {picture(item, link(item))}" for item in message.get("media") or ())
    return lines


def picture(item: dict[str, Any], link: str | None = None) -> str:
    """A picture of the log: its link (else the API's GET /media/{id}, with the token), type and size once kept."""
    kept = f" ({item['type']}, {item['size'] / 1024:,.0f} KB)" if item.get("type") and item.get("size") else ""
    return f"{link or item.get('url') or item.get('id')}{kept}"
