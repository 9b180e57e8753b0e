"""A dispatcher's move by text (EN ROUTE 1042 20, ARRIVED 1042, DONE 1042 250, CANCEL 1042): one store write.

The job's change, the customer's status text, the dispatcher's text and the answer saying how the
move went are stored together (Store.record_move), as a customer's text and all it causes are
(Store.record_inbound): all or nothing, one fsync on TinyDB, one transaction on PostgreSQL. Since
the answer depends on the job as that write finds it, the rows are made there, by one pure
function of the job (`JobMove.turn`) that makes the very change `POST /jobs/{id}/status` makes
(Services.status_move). A picture sent with the move is therefore never queued before the
dispatcher's text that carried it (sender/mms.py waits for its fetch, never for the text).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot import conversation as talk
from bot.errors import InvalidTransition
from bot.jobs import iso_utc, utc_now
from handlers.services import Services
from store import Job, Message
from store.base import JobMove, JobWrite, Turn

# The dispatcher's text and the texts it causes, once the decision's answer is known.
Rows = Callable[[talk.Decision], tuple[Message, list[Message]]]


def job_move(
    svc: Services,
    decision: talk.Decision,
    move: talk.ChangeStatus,
    *,
    sender: str,
    received: datetime,
    sid: str,
    customer_opted_out: bool,
    rows: Rows,
) -> JobMove:
    """The dispatcher's move `move` for Store.record_move: the job changed as `POST /jobs/{id}/status`
    would (by `sender`), and `rows(decision answered with how it went)` stored with it.

    Pictures sent with it go with the customer's status text, once this text's fetch (`sid`) ends."""
    # A job's log is ordered by time, ties in the order written (Store.job_messages). Stamped at
    # least 1 ms after the dispatcher's text, the status text it causes reads after it and after
    # the answer, however fast the handler runs (or however far a test's clock is ahead of the real one).
    moved_at = max(utc_now(), iso_utc(received + timedelta(milliseconds=1)))
    change = svc.status_move(
        move.status,
        by=sender,
        opted_out=customer_opted_out,
        now=moved_at,
        eta_minutes=move.eta_minutes,
        total=move.total,
        media=[{"id": media_id} for media_id in move.media],
        media_wait_sid=sid if move.media else None,
    )

    def turn(job: Job | None) -> Turn:
        written: JobWrite | None = None
        if job is None:
            outcome = talk.StatusOutcome.not_found()
        else:
            try:
                written = change(job)
            except InvalidTransition as refused:
                outcome = talk.StatusOutcome.refused(refused.message)
            else:
                outcome = talk.StatusOutcome.from_write(written.job, written.changed, written.messages)
        inbound, outbound = rows(decision.after_status_change(outcome))
        return Turn(inbound, written, outbound)

    return JobMove(move.job_id, turn)
