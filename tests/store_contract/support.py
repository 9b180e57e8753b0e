"""What the contract tests share: records written out by hand, and a check of their declared keys.

The builders use no bot/ function on purpose: the contract is the Store
interface and store/records.py, so a test here changes only when they do.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints, is_typeddict

from store import Job, JobWrite, Message, Store

T = TypeVar("T")

CUSTOMER = "+15125550199"
OTHER = "+17375550142"
DISPATCHER = "+15125550100"
BUSINESS = "+15125550123"
NOW = "2024-11-27T18:32:40.123Z"  # in the past: the store stamps what has no time with the present


def run(scenario: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(scenario)


def job_record(job_id: int, token: str, *, phone: str = CUSTOMER, now: str = NOW) -> Job:
    """A `scheduled` job with every key, as bot.jobs.new_job makes it."""
    return {
        "id": job_id,
        "token": token,
        "customer_name": "Dana Whitfield",
        "customer_phone": phone,
        "service_type": "junk removal",
        "address": "4512 Ridgeview Dr, Austin, TX 78731",
        "scheduled_for": None,
        "total": None,
        "invoice_url": None,
        "notes": None,
        "status": "scheduled",
        "eta_minutes": None,
        "history": [{"status": "scheduled", "at": now, "by": "api", "eta_minutes": None}],
        "created_at": now,
        "updated_at": now,
    }


def moved(job: Job, status: str, *, now: str = NOW, by: str = "api", eta_minutes: int | None = None) -> Job:
    """`job` after a status change (what bot.jobs does, without its rules)."""
    entry = {"status": status, "at": now, "by": by, "eta_minutes": eta_minutes}
    return {**job, "status": status, "eta_minutes": eta_minutes, "history": [*job["history"], entry], "updated_at": now}


def outbound(
    to: str, body: str, *, job_id: int | None = None, kind: str = "relay", now: str = NOW, status: str = "pending"
) -> Message:
    """A queued text (bot.messages.outbound_message's shape)."""
    return {"direction": "outbound", "kind": kind, "job_id": job_id, "phone": to, "from": BUSINESS, "to": to,
            "body": body, "twilio_sid": None, "status": status, "error_code": None, "error_message": None,
            "created_at": now, "updated_at": now}  # fmt: skip


def inbound(
    sid: str, *, phone: str = CUSTOMER, body: str = "STATUS", job_id: int | None = None, now: str = NOW
) -> Message:
    """A received text with its internal keys (bot.messages.inbound_message's shape)."""
    return {"direction": "inbound", "kind": "command", "job_id": job_id, "phone": phone, "from": phone,
            "to": BUSINESS, "body": body, "twilio_sid": sid, "status": "received", "error_code": None,
            "error_message": None, "created_at": now, "updated_at": now, "num_media": "0",
            "reply_body": "Job 1001 is scheduled."}  # fmt: skip


def reply_to(text: Message, body: str = "Job 1001 is scheduled.") -> Message:
    """The TwiML answer to `text`, logged as sent."""
    answer = {**text, "direction": "outbound", "kind": "reply", "from": text["to"], "to": text["from"], "body": body,
              "twilio_sid": None, "status": "sent"}  # fmt: skip
    for internal in ("num_media", "reply_body"):
        answer.pop(internal)
    return answer


def new_job(
    *, phone: str = CUSTOMER, token: str | None = None, texts: int = 1, now: str = NOW
) -> Callable[[int], JobWrite]:
    """A `build` for Store.create_job: the job and its confirmation text(s)."""

    def build(job_id: int) -> JobWrite:
        sent = [outbound(phone, "hi", job_id=job_id, kind="notification", now=now) for _ in range(texts)]
        return JobWrite(job_record(job_id, token or f"T{job_id}", phone=phone, now=now), sent)

    return build


async def add_job(
    store: Store, *, phone: str = CUSTOMER, token: str | None = None, texts: int = 1, now: str = NOW
) -> JobWrite:
    return await store.create_job(new_job(phone=phone, token=token, texts=texts, now=now))


# -- the declared keys (store/records.py) ---------------------------------------------------------


def assert_declared(value: Any, record_type: Any, where: str = "record") -> None:
    """Fail unless `value` holds only keys `record_type` (a TypedDict) declares, each of its declared type."""
    problem = _misfit(value, record_type, where)
    assert problem is None, problem


def _misfit(value: Any, hint: Any, where: str) -> str | None:
    """What is wrong with `value` as a `hint`, or None."""
    if hint is Any:
        return None
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return f"{where} is {value!r}, not a {hint.__name__}"
        hints = get_type_hints(hint)
        undeclared = sorted(set(value) - set(hints))
        if undeclared:
            return f"{where} holds keys {hint.__name__} (store/records.py) declares nowhere: {undeclared}"
        missing = sorted(hint.__required_keys__ - set(value))
        if missing:
            return f"{where} lacks keys {hint.__name__} requires: {missing}"
        return next((p for key, item in value.items() if (p := _misfit(item, hints[key], f"{where}.{key}"))), None)
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        problems = [_misfit(value, option, where) for option in get_args(hint)]
        return None if None in problems else f"{where} is {value!r}, not {hint}"
    if origin is list:
        if not isinstance(value, list):
            return f"{where} is {value!r}, not a list"
        (item,) = get_args(hint)
        return next((p for n, v in enumerate(value) if (p := _misfit(v, item, f"{where}[{n}]"))), None)
    if origin is dict:
        if not isinstance(value, dict):
            return f"{where} is {value!r}, not a dict"
        key_type, item = get_args(hint)
        return next(
            (p for k, v in value.items() if (p := _misfit(k, key_type, where) or _misfit(v, item, f"{where}[{k!r}]"))),
            None,
        )
    if hint is type(None):
        return None if value is None else f"{where} is {value!r}, not None"
    if isinstance(value, bool) and hint is not bool:
        return f"{where} is {value!r}, not a {hint.__name__}"
    accepted = (int, float) if hint is float else hint  # a total of 350 is a float to the type system too
    return None if isinstance(value, accepted) else f"{where} is {value!r}, not a {hint.__name__}"
