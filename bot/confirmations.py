"""Confirm by text, as pure rules on job dicts (SPEC "Confirmations and reviews").

A reminder asks the customer to confirm its appointment: the reminder's write
(sender/reminders.py) stamps the job with when it asked (`confirm_asked_at`) and
for which appointment (`confirm_asked_for`). A `C` within CONFIRM_WINDOW of that
confirms the job (`confirmed_at`), if the job is still `scheduled` for that same
appointment; if the appointment moved since, the answer asks again for the new
one, which stamps the ask anew. A new appointment (PATCH) clears `confirmed_at`:
the customer confirmed another time.

The store runs these inside its job write, so a confirmation racing a reschedule
never confirms the new time the customer has not seen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.reminders import same_appointment

CONFIRM_WINDOW = timedelta(hours=48)
CONFIRM_HINT = "Reply C to confirm."  # the reminder's last words ({confirm_hint} in a template)


def asked(job: dict[str, Any], at: str) -> dict[str, Any]:
    """`job` once its customer was asked, at `at` (ISO UTC), to confirm its current appointment."""
    return {**job, "confirm_asked_at": at, "confirm_asked_for": job.get("scheduled_for")}


def asked_within(job: dict[str, Any], now: datetime) -> bool:
    """Whether the customer was asked to confirm `job` within CONFIRM_WINDOW before `now`."""
    at = job.get("confirm_asked_at")
    return isinstance(at, str) and timedelta(0) <= now - datetime.fromisoformat(at) <= CONFIRM_WINDOW


def confirmable(job: dict[str, Any]) -> bool:
    """Whether a C confirms `job` as it is: still `scheduled`, for the appointment the customer was asked about."""
    return (
        job.get("status") == "scheduled"
        and job.get("scheduled_for") is not None
        and same_appointment(job.get("scheduled_for"), job.get("confirm_asked_for"))
    )


def confirmed(job: dict[str, Any], scheduled_for: str, at: str) -> dict[str, Any]:
    """`job` confirmed at `at` for the appointment `scheduled_for`; unchanged if that is no longer its
    appointment (it moved, or the job moved on) or it is confirmed already (the first time stays)."""
    if job.get("status") != "scheduled" or not same_appointment(job.get("scheduled_for"), scheduled_for):
        return job
    if job.get("confirmed_at"):
        return job
    return {**job, "confirmed_at": at}


def asked_again(job: dict[str, Any], scheduled_for: str, at: str) -> dict[str, Any]:
    """`job` once the customer was asked at `at` to confirm its new appointment `scheduled_for`
    (unchanged if the appointment moved again meanwhile)."""
    if job.get("status") != "scheduled" or not same_appointment(job.get("scheduled_for"), scheduled_for):
        return job
    return asked(job, at)


def unconfirmed(job: dict[str, Any]) -> dict[str, Any]:
    """`job` with a new appointment: a confirmation of the old one no longer holds."""
    return {**job, "confirmed_at": None} if job.get("confirmed_at") else job
