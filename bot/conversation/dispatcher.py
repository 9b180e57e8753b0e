"""What a dispatcher gets back, and what their command sets in motion (SPEC's dispatcher table)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.conversation import texts
from bot.conversation.commands import (
    Command,
    DayJobs,
    Help,
    Invalid,
    ListJobs,
    OptIn,
    OptOut,
    ReplyTo,
    SetStatus,
    ShowJob,
    Unknown,
)
from bot.conversation.display import appointment, status_phrase
from bot.conversation.effects import ChangeStatus, Decision, Effect, RecordOptIn, RecordOptOut, Relay
from bot.conversation.facts import Context, Facts, Job
from bot.conversation.photos import with_photos
from bot.wording import (
    appointment_at,
    appointment_day,
    clock,
    day_words,
    first_name,
    money,
    phone_for_people,
    short_name,
)

JOBS_LIMIT = 10  # lines in a JOBS answer; a long list is better read on the dashboard
Answer = Callable[..., Decision]  # (reply, *effects, job_id=..., kind=...) -> Decision


def decide_dispatcher(command: Command, facts: Facts, context: Context) -> Decision:
    """The reply and effects for a dispatcher's text (a status change is answered by Decision.after_status_change)."""
    if isinstance(command, OptIn) and not facts.opted_out:
        command = Unknown(command.text, command.role)  # a bare YES is not a command

    def answer(reply: str | None, *effects: Effect, job_id: int | None = None, kind: str = "reply") -> Decision:
        return Decision.answering(command, facts.now, reply, effects, job_id=job_id, kind=kind)

    if isinstance(command, OptOut):
        return answer(None, RecordOptOut(command.keyword))
    if isinstance(command, OptIn):
        return answer(
            texts.OPTED_IN.format(business=context.business_name), RecordOptIn(command.keyword), kind="system"
        )
    if isinstance(command, SetStatus):
        if facts.job is None:
            return answer(texts.NO_JOB.format(job_id=command.job_id))
        # Pictures sent with a move go to the customer with its text: proof of delivery (ARRIVED) or
        # pick-up (DONE) -- and with any other move too, since the dispatcher chose to send them.
        effect = ChangeStatus(
            command.job_id, command.status, command.eta_minutes, command.total, media=facts.pictures.ids
        )
        return answer(None, effect, job_id=command.job_id)
    if isinstance(command, ListJobs):
        return answer(_jobs_list(facts, context))
    if isinstance(command, DayJobs):
        return answer(_day_list(command.days_ahead, facts, context))
    if isinstance(command, ShowJob):
        if facts.job is None:
            return answer(texts.NO_JOB.format(job_id=command.job_id))
        return answer(_job_detail(facts.job, facts, context), job_id=command.job_id)
    if isinstance(command, ReplyTo):
        return _reply_to(command, facts, answer)
    if isinstance(command, Help):
        return answer(texts.DISPATCHER_HELP)
    if isinstance(command, Invalid):
        return answer(command.error)
    if facts.pictures.ids:
        return answer(texts.PHOTO_WITHOUT_COMMAND)
    return answer(texts.NOT_UNDERSTOOD)


def _reply_to(command: ReplyTo, facts: Facts, answer: Answer) -> Decision:
    # The dispatcher's pictures go with the words as an MMS (or alone: "R 1042" + a photo).
    media = facts.pictures.ids
    if not command.body and not media:  # words may be left out only when a picture goes instead
        return answer(texts.REPLY_TEXT)
    if command.phone is not None:
        relay = Relay(command.phone, command.body, media=media)
        if facts.target_opted_out:
            return answer(texts.CUSTOMER_OPTED_OUT, relay)
        return answer(with_photos(texts.SENT_TO_PHONE.format(phone=command.phone), len(media)), relay)
    job = facts.job
    if job is None:
        return answer(texts.NO_JOB.format(job_id=command.job_id))
    # Queued even when opted out: the queue logs it `skipped` with the reason, as SPEC asks.
    relay = Relay(job["customer_phone"], command.body, job["id"], media=media)
    if facts.target_opted_out:
        return answer(texts.CUSTOMER_OPTED_OUT, relay, job_id=job["id"])
    sent = texts.SENT_TO_JOB.format(first_name=first_name(job.get("customer_name")), job_id=job["id"])
    return answer(with_photos(sent, len(media)), relay, job_id=job["id"])


def _jobs_list(facts: Facts, context: Context) -> str:
    jobs = list(facts.open_jobs)
    if not jobs:
        return texts.NO_OPEN_JOBS_DISPATCHER
    lines = [texts.JOBS_HEADER.format(count=len(jobs))]
    for job in jobs[:JOBS_LIMIT]:
        lines.append(
            texts.JOBS_LINE.format(
                job_id=job["id"],
                status=status_phrase(job, context.timezone, facts.now),
                name=short_name(job.get("customer_name")),
                service=job["service_type"],
            )
        )
    if len(jobs) > JOBS_LIMIT:
        lines.append(texts.JOBS_MORE.format(count=len(jobs) - JOBS_LIMIT))
    return "\n".join(lines)


def _day_list(days_ahead: int, facts: Facts, context: Context) -> str:
    """TODAY / TOMORROW: that day's open jobs by appointment time, one short line each."""
    tz = context.timezone
    day = (facts.now.astimezone(tz) + timedelta(days=days_ahead)).date()
    fields = {"day": "tomorrow" if days_ahead else "today", "date": day_words(day)}
    jobs = [job for job in facts.open_jobs if appointment_day(job.get("scheduled_for"), tz) == day]
    if not jobs:
        return texts.NO_JOBS_ON_DAY.format(**fields)

    def order(job: Job) -> tuple[int, float, int]:
        at = appointment_at(job.get("scheduled_for"), tz)
        return (0, at.timestamp(), job["id"]) if at is not None else (1, 0.0, job["id"])

    lines = [texts.DAY_HEADER.format(count=len(jobs), **fields)]
    for job in sorted(jobs, key=order)[:JOBS_LIMIT]:
        at = appointment_at(job.get("scheduled_for"), tz)
        status = "" if job["status"] == "scheduled" else " " + status_phrase(job, tz, facts.now)
        lines.append(
            texts.DAY_LINE.format(
                time=clock(at) if at is not None else texts.NO_TIME,
                job_id=job["id"],
                status=status,
                name=short_name(job.get("customer_name")),
                service=job["service_type"],
            )
        )
    if len(jobs) > JOBS_LIMIT:
        lines.append(texts.JOBS_MORE.format(count=len(jobs) - JOBS_LIMIT))
    return "\n".join(lines)


def _job_detail(job: Job, facts: Facts, context: Context) -> str:
    """Two lines: the job and where it stands (with its appointment); then the customer's phone and address."""
    total = f", total {money(job['total'])}" if job.get("total") is not None else ""
    when = appointment(job, context.timezone, facts.now)
    # A scheduled job's status already says when ("scheduled for Sat Dec 5"); a job under way says it too.
    booked = texts.BOOKED_FOR.format(when=when) if when and job["status"] in ("en_route", "arrived") else ""
    first = texts.JOB_DETAIL.format(
        job_id=job["id"],
        name=job["customer_name"],
        service=job["service_type"],
        status=status_phrase(job, context.timezone, facts.now),
        booked=booked,
        total=total,
    )
    address = f", {job['address']}" if job.get("address") else ""
    return first + "\n" + texts.JOB_CONTACT.format(phone=phone_for_people(job["customer_phone"]), address=address)
