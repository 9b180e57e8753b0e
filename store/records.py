"""Every key the store keeps, declared in one place: a job, a message, a phone's state.

Callers handle these records as plain dicts (`store.Job`, `store.Message`,
`store.PhoneState`): bot/ builds and changes them and cannot import store/.
The TypedDicts below say which keys a record may hold and what each one
means; every backend stores exactly these, and the contract suite
(tests/store_contract/) checks that nothing it reads back holds a key or a
type declared nowhere here. A new key is added here first.

`total=False` marks records a caller may write in part: a message handed to
`add_message` has no `id` yet, and a phone's state holds only the keys
something has written so far.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

# -- a job (SPEC "JSON shapes", minus `tracking_url`, which depends on where the service is published) ----


class HistoryEntry(TypedDict):
    """One status a job went through: when, and who moved it ("api", or a dispatcher's phone)."""

    status: str
    at: str  # ISO 8601 UTC with milliseconds, as every time here
    by: str
    eta_minutes: int | None


# One change of a job's appointment (PATCH `scheduled_for`): when, who ("api"), and `scheduled_for`
# before and after, as stored (ISO date or date-time; None: no appointment). Functional syntax: `from`.
RescheduleEntry = TypedDict("RescheduleEntry", {"at": str, "by": str, "from": str | None, "to": str | None})


class JobFields(TypedDict):
    """A job's fields: every key is always there (absent values are None)."""

    id: int
    token: str  # canonical tracking token
    customer_name: str
    customer_phone: str  # E.164
    service_type: str
    address: str | None
    scheduled_for: str | None  # ISO date or date-time, as given
    total: float | None
    invoice_url: str | None
    notes: str | None
    status: str  # bot.jobs.STATUSES
    eta_minutes: int | None
    history: list[HistoryEntry]
    created_at: str
    updated_at: str


class ReminderHeld(TypedDict):
    until: str  # ISO UTC
    outcome: str  # "held until 8:00 AM CST", the customer's clock


class JobRecord(JobFields, total=False):
    """A job as stored: its fields, then internal keys no API answer shows (absent on older jobs)."""

    # The day-before reminder, a due row on the job (bot/reminders.py; Store.due_reminders).
    reminder_due_at: str | None  # when the current appointment's reminder is due (ISO UTC); None: none waits
    reminder_for: str | None  # the `scheduled_for` the last reminder was sent for
    # The review request, a due row on the job (bot/reviews.py; Store.due_reviews).
    review_due_at: str | None  # when it is due (ISO UTC); None: none waits
    review_completed_at: str  # the completion it is for: the customer's texts after it hold it back
    review_sent_at: str | None  # when it was queued; None: dropped (a rule said never)
    # Confirm by text (bot/confirmations.py): when the customer was last asked to confirm (the reminder,
    # or an answer naming a new time) and for which `scheduled_for`; when they confirmed (public:
    # JOB_FIELDS; cleared by a new appointment).
    confirm_asked_at: str | None
    confirm_asked_for: str | None
    confirmed_at: str | None
    # Its appointment changes, oldest first (bot.jobs.rescheduled); absent until the first. Public (JOB_FIELDS).
    reschedules: list[RescheduleEntry]
    # Set while its reminder waits out the customer's quiet hours (bot.reminders.held). Public (JOB_FIELDS).
    reminder_held: ReminderHeld | None


# -- a message (SPEC "Message log" and "JSON shapes") ----------------------------------------------

# The keys the JSON API shows (store.base.MESSAGE_FIELDS, in this order). Functional syntax:
# `from` is a Python keyword.
PublicMessage = TypedDict(
    "PublicMessage",
    {
        "id": str,  # opaque, chosen by the backend; never carries a phone number
        "direction": str,  # inbound | outbound
        "kind": str,  # command | text | reply | notification | relay | system
        "job_id": int | None,  # the conversation it belongs to; None: its phone's own
        "phone": str,  # the other party: the customer's or the dispatcher's phone
        "from": str,
        "to": str,
        "body": str,
        "twilio_sid": str | None,
        "status": str,  # received | pending | queued | sending | sent | delivered | ... (SPEC)
        "error_code": int | None,
        "error_message": str | None,
        "created_at": str,  # the conversation's order: by this, ties in the order written
        "updated_at": str,
        # Pictures it carries (SPEC "Pictures (MMS)"): [{id, type, size, url}]; [] for none. Rows keep
        # {id, type, size}; `url` is made when the message is shown (a bearer URL for dashboards,
        # a signed expiring link on the customer's page).
        "media": list[dict[str, Any]],
        # The `unknown` text this one sends again (POST /jobs/{id}/messages/{id}/resend); None: a text of its own.
        "resend_of": str | None,
        # A text sent later (bot/send_later.py): not before then; None: sent at once.
        "send_at": str | None,
    },
    total=False,
)


class MessageRecord(PublicMessage, total=False):
    """A message as stored: the public keys, then the internal ones no API answer shows."""

    # An inbound text (handlers/twilio/receive.py, bot.messages.inbound_message).
    num_media: str  # Twilio's NumMedia, as sent
    reply_body: str | None  # the TwiML answer it got; a repeated delivery gets the same again
    # Its pictures still to fetch from Twilio (Store.due_media): [{id, url, type}] -- our media id,
    # Twilio's MediaUrl{i} and the MediaContentType{i} it declared (never trusted: the bytes are sniffed).
    media_fetch: list[dict[str, Any]]
    media_due_at: str | None  # the fetch is due (or its claim's lease ends) then; None: nothing to fetch
    media_attempts: int  # fetches tried
    media_failed: list[dict[str, Any]]  # [{id, error}]: pictures given up on (not Twilio's, 404, not a picture ...)

    # A person's text to a customer (`R`, the office inbox): the dispatcher's phone, so the inbox can say who.
    sent_by: str

    # An outbound text with pictures (an MMS; `media` as above): when they come from a text still
    # being fetched, the sender holds it until that text's fetch has ended.
    media_wait_sid: str | None  # the MessageSid of that inbound text

    # An outbound text the sender works on (sender/).
    attempts: int  # sends tried
    send_started_at: str | None  # an attempt may have reached Twilio: look it up, never re-send blindly
    next_attempt_at: str | None  # not due before this (a retry's backoff, a lookup's wait)
    lookups: int  # times Twilio was asked whether an uncertain attempt arrived

    # The send queue's claim keys (Store.claim_due; a backend that keeps claims in memory stores none).
    claimed_until: str | None  # one sender's until then; after it, anyone's again (its sender died or hung)


# -- a phone's state (opt-out and the conversation's loop guards, bot/conversation/guards.py) ------


class WindowCounter(TypedDict):
    """Events in a fixed window: the window's start and how many so far."""

    since: str
    count: int


class PhoneStateRecord(TypedDict, total=False):
    """What is kept per phone; {} until something is written."""

    # The opt-out, written by bot.messages.opted_out / opted_in only.
    opted_out: bool  # the store's `is_opted_out` answers from this key
    opted_out_at: str
    opted_in_at: str
    opt_source: str  # how: "STOP", "START", "Twilio error 21610 on a send", ...

    # Loop and abuse guards (bot/conversation/guards.py).
    last_ack_at: str  # the last free-text acknowledgement
    token_misses: WindowCounter  # one-minute window
    auto_replies: WindowCounter  # one-hour window
    recent_answers: dict[str, str]  # digest of an automatic answer -> when it was sent (the last 10 minutes)

    # Consent on record (bot/consent.py): every booking, opt-out and opt-in, oldest first.
    # {"at", "type": consent|opt_out|opt_in, "source", "by"?, "job_id"?, "words"?, "sid"?}
    consent: list[dict[str, Any]]
    # Can't take texts (bot/undeliverable.py): {"reason", "code", "since", "message_id", "body", "notified_jobs"}
    undeliverable: dict[str, Any]
    # The last review request (bot/reviews.py): at most one per REVIEW_INTERVAL_DAYS.
    review_sent_at: str
    review_job: int  # the job it was for: that job's own retry is not "another" request

    # Written before the opt-out had one writer (issue #13); read by nothing, kept as found.
    opt_keyword: str
    opted_out_by: str


# -- the outbox: dashboard events and idempotency keys (store/events.py; SPEC "For dashboards") -------


class EventRecord(TypedDict):
    """A dashboard event, queued in the write that caused it and POSTed to EVENTS_URL in order."""

    id: str  # the Standard Webhooks `webhook-id`: the same on every attempt, so receivers can dedupe
    type: str  # message.received | job.status_changed | message.delivery_failed | phone.undeliverable
    created_at: str  # the payload's `timestamp`
    data: dict[str, Any]  # the payload's `data`: {"message": public message} or {"job": job, "previous_status"}
    status: str  # pending | delivered | failed (given up)
    attempts: int
    next_attempt_at: str | None  # not due before this (backoff after a failed attempt)
    last_error: str | None  # what the last failed attempt got, for the log and a person


class IdempotencyRecord(TypedDict):
    """The first answer to a request made with an `Idempotency-Key`, written with the write it answered."""

    key: str
    fingerprint: str  # method, path and body of that request: the same key with another request is refused
    status: int
    body: Any
    created_at: str  # kept IDEMPOTENCY_HOURS (store.base) from then


# -- the names the store's interface gives them (store/roles/) ------------------------------------------
#
# Plain dicts to callers, keys as declared: bot/ builds these records without importing store/,
# so a TypedDict here would not type-check there; the contract suite checks the keys instead.
Job = Annotated[dict[str, Any], JobRecord]
Message = Annotated[dict[str, Any], MessageRecord]
PhoneState = Annotated[dict[str, Any], PhoneStateRecord]
Event = Annotated[dict[str, Any], EventRecord]
