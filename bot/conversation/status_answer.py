"""How a dispatcher's status change went, and the answer that says so.

The change itself (and the reason one is refused) belongs to bot.jobs and
Services.change_status -- the same path as `POST /jobs/{id}/status` -- so
this module only words the outcome: "1042 -> en route (ETA 20 min).
Customer texted.", "1042 is complete; it can't go en route.", "No job 1043."
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.conversation import texts
from bot.conversation.photos import with_photos
from bot.jobs import label
from bot.wording import money


@dataclass(frozen=True)
class StatusOutcome:
    """How a ChangeStatus effect went, as the handler saw it; build one with the class methods."""

    result: Literal["changed", "unchanged", "refused", "not_found"]
    job: dict[str, Any] | None = None  # the job after the change (changed, unchanged)
    customer_texted: bool = False  # changed: the notification was queued, not skipped for opt-out
    message: str = ""  # refused: InvalidTransition's message, e.g. "1042 is complete; it can't go en route"

    @classmethod
    def changed(cls, job: dict[str, Any], *, customer_texted: bool) -> StatusOutcome:
        return cls("changed", job, customer_texted=customer_texted)

    @classmethod
    def unchanged(cls, job: dict[str, Any]) -> StatusOutcome:
        return cls("unchanged", job)

    @classmethod
    def refused(cls, message: str) -> StatusOutcome:
        return cls("refused", message=message)

    @classmethod
    def not_found(cls) -> StatusOutcome:
        return cls("not_found")

    @classmethod
    def from_write(cls, job: dict[str, Any], changed: bool, messages: list[dict[str, Any]]) -> StatusOutcome:
        """From Services.change_status's JobWrite (job, changed, messages): texted unless skipped."""
        if not changed:
            return cls.unchanged(job)
        texted = bool(messages) and all(message.get("status") != "skipped" for message in messages)
        return cls.changed(job, customer_texted=texted)


def answer_status_change(job_id: int, outcome: StatusOutcome, *, photos: int = 0) -> str:
    """What the dispatcher reads after asking to change job `job_id`'s status, which ended as `outcome`
    (`photos`: the dispatcher's pictures that go with the customer's text)."""
    if outcome.result == "refused":
        message = outcome.message.strip()
        return message if message.endswith((".", "!", "?")) else message + "."
    job = outcome.job
    if outcome.result == "not_found" or job is None:
        return texts.NO_JOB.format(job_id=job_id)
    detail = ""
    if job["status"] == "en_route" and job.get("eta_minutes") is not None:
        detail = texts.ETA_DETAIL.format(eta=job["eta_minutes"])
    elif job["status"] == "complete" and job.get("total") is not None:
        detail = texts.TOTAL_DETAIL.format(total=money(job["total"]))
    if outcome.result == "unchanged":
        return texts.UNCHANGED.format(job_id=job["id"], status=label(job["status"]), detail=detail)
    texted = with_photos(texts.CUSTOMER_TEXTED, photos) if outcome.customer_texted else texts.CUSTOMER_OPTED_OUT
    return texts.STATUS_CHANGED.format(job_id=job["id"], status=label(job["status"]), detail=detail, texted=texted)
