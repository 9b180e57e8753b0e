"""The dispatcher's answer to a status move, built from how the move went.

The move itself (and the reason a move is refused) belongs to bot.jobs and
Services.change_status -- the same path as `POST /jobs/{id}/status` -- so
this module only words the outcome: "1042 -> en route (ETA 20 min).
Customer texted.", "1042 is complete; it can't go en route.", "No job 1043."
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.conversation import wording
from bot.conversation.display import money
from bot.jobs import label

if TYPE_CHECKING:
    from bot.conversation.effects import MoveJob, MoveOutcome


def answer_move(move: MoveJob, outcome: MoveOutcome) -> str:
    """What the dispatcher reads after `move` ended as `outcome`."""
    if outcome.result == "refused":
        message = outcome.message.strip()
        return message if message.endswith((".", "!", "?")) else message + "."
    job = outcome.job
    if outcome.result == "not_found" or job is None:
        return wording.NO_JOB.format(job_id=move.job_id)
    detail = ""
    if job["status"] == "en_route" and job.get("eta_minutes") is not None:
        detail = wording.ETA_DETAIL.format(eta=job["eta_minutes"])
    elif job["status"] == "complete" and job.get("total") is not None:
        detail = wording.TOTAL_DETAIL.format(total=money(job["total"]))
    if outcome.result == "unchanged":
        return wording.UNCHANGED.format(job_id=job["id"], status=label(job["status"]), detail=detail)
    texted = wording.CUSTOMER_TEXTED if outcome.customer_texted else wording.CUSTOMER_OPTED_OUT
    return wording.MOVED.format(job_id=job["id"], status=label(job["status"]), detail=detail, texted=texted)
