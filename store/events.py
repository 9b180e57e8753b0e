"""Dashboard events: which write causes which event, and the row that queues it (SPEC "For dashboards").

Every backend calls these inside the write that causes the event (once
`Store.enable_events()` was called), so an event is stored exactly when its
cause is -- whichever handler, sender or loop made the write -- and a crash
loses both or neither. sender/events.py delivers the rows.

    message.received          an inbound text was logged (a customer's or a dispatcher's)
    job.status_changed        a job's status moved (the API, a dispatcher's text ...)
    job.confirmed             the customer confirmed the appointment by text (bot/confirmations.py)
    message.delivery_failed   a text we sent became `undelivered` or `failed` (final)
    phone.undeliverable       ... with a code saying its phone cannot take texts (bot/undeliverable.py)

A row's `data` is what the payload's `data` will be, minus what depends on
where the service is published (a job's `tracking_url`, added on delivery).
A store is one business's and does not know its slug: the deliverer, built
per business, adds the payload's `business` too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from bot import undeliverable
from store.base import Event, Job, Message, public_job, public_message

MESSAGE_RECEIVED = "message.received"
JOB_STATUS_CHANGED = "job.status_changed"
JOB_CONFIRMED = "job.confirmed"
DELIVERY_FAILED = "message.delivery_failed"
PHONE_UNDELIVERABLE = "phone.undeliverable"
EVENT_TYPES = (MESSAGE_RECEIVED, JOB_STATUS_CHANGED, DELIVERY_FAILED, PHONE_UNDELIVERABLE, JOB_CONFIRMED)

_FAILED = frozenset({"undelivered", "failed"})


def new_event(event_type: str, data: dict[str, object], now: str) -> Event:
    """A queued event. Its id is random, not derived from the row it names, so two deployments
    sending to one receiver (staging and production) never collide."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "type": event_type,
        "created_at": now,
        "data": data,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
    }


def job_snapshot(job: Job) -> dict[str, object]:
    """The job's public fields as they are now (its `tracking_url` is added on delivery)."""
    return public_job(job)


def for_new_messages(stored: Iterable[Message], now: str) -> list[Event]:
    """`message.received` for each inbound text among newly stored messages."""
    return [
        new_event(MESSAGE_RECEIVED, {"message": public_message(message)}, now)
        for message in stored
        if message.get("direction") == "inbound"
    ]


def for_job_change(old: Job, new: Job, now: str) -> list[Event]:
    """`job.status_changed` when a write moved the job's status (an edit, or the same status, is none);
    `job.confirmed` when it confirmed the job."""
    events = []
    if old["status"] != new["status"]:
        events.append(new_event(JOB_STATUS_CHANGED, {"job": job_snapshot(new), "previous_status": old["status"]}, now))
    if new.get("confirmed_at") and new.get("confirmed_at") != old.get("confirmed_at"):
        events.append(new_event(JOB_CONFIRMED, {"job": job_snapshot(new)}, now))
    return events


def for_message_change(old: Message, new: Message, now: str) -> list[Event]:
    """`message.delivery_failed` the first time a text we sent turns `undelivered` or `failed`."""
    if new.get("direction") != "outbound" or new.get("status") not in _FAILED or old.get("status") in _FAILED:
        return []
    failed = [new_event(DELIVERY_FAILED, {"message": public_message(new)}, now)]
    if (reason := undeliverable.reason_for(new.get("error_code"))) is not None:
        # The phone is marked in a write of its own (store/undeliverable.py); this one names the failed text.
        data = {"phone": new["to"], "reason": reason, "job_id": new.get("job_id"), "message": public_message(new)}
        failed.append(new_event(PHONE_UNDELIVERABLE, data, now))
    return failed
