"""What a customer gets back, and what their text sets in motion (SPEC's customer table)."""

from __future__ import annotations

from collections.abc import Callable

from bot.conversation import guards, texts
from bot.conversation.commands import (
    Command,
    Confirm,
    FreeText,
    Help,
    OptIn,
    OptOut,
    RescheduleRequest,
    Status,
    TokenQuery,
)
from bot.conversation.confirm import answer_reminder
from bot.conversation.display import MAX_SMS_CHARS, fit, status_phrase
from bot.conversation.effects import (
    CountTokenMiss,
    Decision,
    Effect,
    MarkAcked,
    RecordOptIn,
    RecordOptOut,
    RelayToDispatchers,
)
from bot.conversation.facts import Context, Facts, Job
from bot.conversation.photos import words_and_photos
from bot.job_choice import in_order
from bot.jobs import label
from bot.wording import first_name, phone_for_people

STATUS_LIMIT = 3  # SPEC: up to 3 open jobs, the one a text means first (bot.job_choice)
Answer = Callable[..., Decision]  # (reply, *effects, kind=..., on_job=...) -> Decision


def decide_customer(command: Command, facts: Facts, context: Context) -> Decision:
    """The reply and effects for a customer's text (before the auto-reply cap is applied)."""
    if isinstance(command, OptIn) and not facts.opted_out:
        # SPEC: ordinary text from a number not opted out -- but YES answers a reminder like C.
        command = (
            Confirm(command.text, command.role) if command.keyword == "YES" else FreeText(command.text, command.role)
        )
    if facts.pictures and isinstance(command, Status | TokenQuery | Help | Confirm):
        # A picture is for a person to see ("STATUS" + a photo of the gate): relayed, not answered by rote.
        command = FreeText(command.text, command.role)
    # One order for everything below (SPEC "Which job a text is about"): the first is the job the
    # text is about -- its relay, acknowledgement and pictures go under it -- and STATUS lists them so.
    jobs = in_order(facts.sender_open_jobs, facts.now, context.timezone)
    meant = jobs[0] if jobs else None
    job_id = meant["id"] if meant else None

    def answer(reply: str | None, *effects: Effect, kind: str = "reply", on_job: int | None = job_id) -> Decision:
        return Decision.answering(command, facts.now, reply, effects, job_id=on_job, kind=kind)

    if isinstance(command, OptOut) and command.phrase:
        return _opt_out_by_phrase(command, meant, facts, context, answer)
    if isinstance(command, OptOut):
        # Empty TwiML: Twilio answers STOP itself. Dispatchers hear of it, since a bare
        # CANCEL often means "cancel my job" and only a call can reach them now.
        note = texts.RELAY_OPT_OUT.format(
            who=_who(meant, facts), keyword=command.keyword, phone=phone_for_people(facts.sender)
        )
        if facts.opted_out:  # already told once; a repeated STOP is no news
            return answer(None, RecordOptOut(command.keyword))
        return answer(None, RecordOptOut(command.keyword), RelayToDispatchers(note, job_id))
    if isinstance(command, OptIn) and facts.opted_out:
        return answer(
            texts.OPTED_IN.format(business=context.business_name), RecordOptIn(command.keyword), kind="system"
        )
    if facts.opted_out:
        # Sent nothing at all until they opt back in; a person still reads what they wrote.
        frame = texts.RELAY_OPTED_OUT
        fields = {"who": _who(meant, facts), "phone": phone_for_people(facts.sender)}
        room = MAX_SMS_CHARS - len(frame.format(text="", **fields))
        text = frame.format(text=words_and_photos(command.text, facts.pictures, room), **fields)
        return answer(None, RelayToDispatchers(fit(text), job_id))
    if isinstance(command, Confirm | RescheduleRequest):
        decided = answer_reminder(command, facts, context, answer)
        if decided is not None:
            return decided
        command = FreeText(command.text, command.role)  # no reminder within 48 hours: ordinary text
    if isinstance(command, Status):
        return answer(_status_reply(jobs, facts, context))
    if isinstance(command, TokenQuery):
        return _token(command, facts, context, answer)
    if isinstance(command, Help):
        return answer(_help(context))
    return _free_text(command, meant, facts, context, answer)


def _opt_out_by_phrase(command: OptOut, meant: Job | None, facts: Facts, context: Context, answer: Answer) -> Decision:
    """ "please stop texting me": Twilio does not block it, so the service records it and itself confirms, once."""
    if facts.opted_out:  # already out: no second confirmation, no news for the dispatchers
        return answer(None, RecordOptOut(command.keyword))
    fields = {"who": _who(meant, facts), "phone": phone_for_people(facts.sender)}
    room = MAX_SMS_CHARS - len(texts.RELAY_OPT_OUT_PHRASE.format(text="", **fields))
    note = texts.RELAY_OPT_OUT_PHRASE.format(text=words_and_photos(command.text, facts.pictures, room), **fields)
    confirmation = texts.OPTED_OUT_BY_PHRASE.format(business=context.business_name)
    return answer(
        confirmation,
        RecordOptOut(command.keyword),
        RelayToDispatchers(fit(note), meant["id"] if meant else None),
        kind="system",
    )


def _status_reply(jobs: list[Job], facts: Facts, context: Context) -> str:
    """The answer to STATUS; `jobs` are the sender's open jobs in bot.job_choice's order."""
    business = context.business_name
    if not jobs:
        if context.business_phone:
            reach = texts.REACH_BY_PHONE.format(phone=phone_for_people(context.business_phone))
        elif context.has_dispatchers:
            reach = texts.REACH_BY_REPLY
        else:  # nobody reads a reply and there is no number to call: promise no person
            return texts.NO_OPEN_JOBS_NO_ONE.format(business=business)
        return texts.NO_OPEN_JOBS.format(business=business, reach=reach)
    if len(jobs) == 1:
        return texts.STATUS_ONE.format(business=business, **_job_fields(jobs[0], facts, context))
    lines = [texts.STATUS_MANY_HEADER.format(business=business)]
    lines += [texts.STATUS_MANY_LINE.format(**_job_fields(job, facts, context)) for job in jobs[:STATUS_LIMIT]]
    if len(jobs) > STATUS_LIMIT:
        lines.append(texts.STATUS_MORE.format(count=len(jobs) - STATUS_LIMIT))
    return "\n".join(lines)


def _job_fields(job: Job, facts: Facts, context: Context) -> dict[str, object]:
    return {
        "job_id": job["id"],
        "service": job["service_type"],
        "status": status_phrase(job, context.timezone, facts.now),
        "url": context.tracking_url(job["token"]),
    }


def _token(command: TokenQuery, facts: Facts, context: Context, answer: Answer) -> Decision:
    business = context.business_name
    if guards.token_lookups_blocked(facts.phone_state, facts.now):
        return answer(texts.CODE_THROTTLED.format(business=business))
    job = facts.token_job
    if job is None:
        return answer(texts.CODE_MISS.format(business=business), CountTokenMiss())
    fields = _job_fields(job, facts, context)
    if job["customer_phone"] == facts.sender:
        return answer(
            texts.CODE_OWNER.format(business=business, first_name=first_name(job.get("customer_name")), **fields),
            on_job=job["id"],
        )
    # Privacy: whoever holds a token may see the job's status, never who or where it is for;
    # and the text stays out of that customer's conversation.
    return answer(texts.CODE_OTHER.format(business=business, **fields))


def _help(context: Context) -> str:
    business = context.business_name
    phone = phone_for_people(context.business_phone) if context.business_phone else None
    if not context.has_dispatchers:  # a reply reaches nobody: the phone is the way to a person
        if phone is None:
            return texts.HELP_NO_ONE.format(business=business)
        return texts.HELP_NO_DISPATCHER.format(business=business, phone=phone)
    or_call = texts.OR_CALL.format(phone=phone) if phone else ""
    return texts.HELP.format(business=business, or_call=or_call)


def _free_text(command: Command, meant: Job | None, facts: Facts, context: Context, answer: Answer) -> Decision:
    cancel = isinstance(command, FreeText) and command.cancel_request
    who = _who(meant, facts)
    target = meant["id"] if meant else facts.sender
    frame = texts.RELAY_CANCEL if cancel and meant else texts.RELAY
    job_id: int | None = meant["id"] if meant else None
    fields = {"who": who, "target": target, "job_id": job_id}
    # One message at most: a very long text is cut, keeping the frame ("Reply: R 1042 <text>")
    # and the links to its pictures.
    room = MAX_SMS_CHARS - len(frame.format(text="", **fields))
    relay = frame.format(text=words_and_photos(command.text, facts.pictures, room), **fields)
    effects: list[Effect] = [RelayToDispatchers(relay, job_id)]
    if guards.acked_recently(facts.phone_state, facts.now, context.ack_interval_hours):
        return answer(None, *effects, kind="system")
    return answer(_ack(cancel, context), *effects, MarkAcked(), kind="system")


def _ack(cancel: bool, context: Context) -> str:
    """The acknowledgement; it promises a person only when a dispatcher gets the relay."""
    business = context.business_name
    phone = phone_for_people(context.business_phone) if context.business_phone else None
    if not context.has_dispatchers:
        if phone is None:
            return texts.ACK_NO_ONE.format(business=business)
        frame = texts.ACK_CANCEL_NO_DISPATCHER if cancel else texts.ACK_NO_DISPATCHER
        return frame.format(business=business, phone=phone)
    urgent = texts.URGENT.format(phone=phone) if phone else ""
    return (texts.ACK_CANCEL if cancel else texts.ACK).format(business=business, urgent=urgent)


def _who(job: Job | None, facts: Facts) -> str:
    if job is None:
        return texts.WHO_WITHOUT_JOB.format(phone=facts.sender)
    return texts.WHO_WITH_JOB.format(
        first_name=first_name(job.get("customer_name")), job_id=job["id"], status=label(job["status"])
    )
