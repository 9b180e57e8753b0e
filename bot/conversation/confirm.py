"""A customer's answer to a reminder: a confirmation (C, CONFIRM, YES, Y, 👍) or a reschedule request.

Within CONFIRM_WINDOW (48 hours) after the customer was asked to confirm a job (bot/confirmations.py),
- a confirmation of a job still `scheduled` for the appointment they were asked about confirms it
  (ConfirmJob) and says when: "Thanks, you're confirmed for Sat Dec 5, 9:00 AM.";
- one for a job whose appointment moved since asks again for the new time (AskToConfirm);
- one for a job no longer `scheduled` (under way, done, cancelled) says where it stands;
- a reschedule request ("RESCHEDULE", "can we move it") is relayed to the dispatchers marked
  "Reschedule request from Dana (1042, Sat Dec 5, 9:00 AM): ...", with an acknowledgement.
Outside the window there is nothing to answer: `answer_reminder` says None and the text is ordinary
free text (relayed, acknowledged as ever).

Which job: the sender's jobs asked within the window, in bot.job_choice's order (the one under way,
else the nearest appointment).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.confirmations import asked_within, confirmable
from bot.conversation import texts
from bot.conversation.commands import Command, Confirm
from bot.conversation.display import MAX_SMS_CHARS, fit, status_phrase
from bot.conversation.effects import AskToConfirm, ConfirmJob, Decision, Effect, MarkAcked, RelayToDispatchers
from bot.conversation.facts import Context, Facts, Job
from bot.conversation.photos import words_and_photos
from bot.job_choice import in_order
from bot.wording import appointment_words, first_name, phone_for_people

Answer = Callable[..., Decision]  # (reply, *effects, kind=..., on_job=...) -> Decision


def asked_job(facts: Facts, context: Context) -> Job | None:
    """The job the sender's answer is about: of those asked to confirm within the window, the one meant."""
    jobs = [job for job in facts.asked_jobs if asked_within(job, facts.now)]
    ordered = in_order(jobs, facts.now, context.timezone)
    return ordered[0] if ordered else None


def answer_reminder(command: Command, facts: Facts, context: Context, answer: Answer) -> Decision | None:
    """The decision for a confirmation or reschedule request, None outside the window (free text then)."""
    job = asked_job(facts, context)
    if job is None:
        return None
    if isinstance(command, Confirm):
        return _confirm(job, facts, context, answer)
    return _reschedule(command, job, facts, context, answer)


def _confirm(job: Job, facts: Facts, context: Context, answer: Answer) -> Decision:
    business, scheduled_for = context.business_name, job.get("scheduled_for")
    when = appointment_words(scheduled_for, context.timezone)
    if confirmable(job) and scheduled_for is not None:
        reply = texts.CONFIRMED.format(business=business, when=when)
        return answer(reply, ConfirmJob(job["id"], scheduled_for), on_job=job["id"])
    if job["status"] == "scheduled" and scheduled_for is not None:
        # Rescheduled after the reminder: they confirm the time they have been told, not the old one.
        reply = texts.CONFIRM_CHANGED.format(business=business, when=when)
        return answer(reply, AskToConfirm(job["id"], scheduled_for), on_job=job["id"])
    status = status_phrase(job, context.timezone, facts.now)
    reply = texts.NOTHING_TO_CONFIRM.format(
        business=business,
        job_id=job["id"],
        service=job["service_type"],
        status=status,
        url=context.tracking_url(job["token"]),
    )
    return answer(reply, on_job=job["id"])


def _reschedule(command: Command, job: Job, facts: Facts, context: Context, answer: Answer) -> Decision:
    when = appointment_words(job.get("scheduled_for"), context.timezone) or "no time set"
    who = texts.WHO_RESCHEDULING.format(first_name=first_name(job.get("customer_name")), job_id=job["id"], when=when)
    fields = {"who": who, "job_id": job["id"]}
    room = MAX_SMS_CHARS - len(texts.RELAY_RESCHEDULE.format(text="", **fields))
    relay = texts.RELAY_RESCHEDULE.format(text=words_and_photos(command.text, facts.pictures, room), **fields)
    effects: list[Effect] = [RelayToDispatchers(fit(relay), job["id"])]
    business = context.business_name
    phone = phone_for_people(context.business_phone) if context.business_phone else None
    if context.has_dispatchers:
        urgent = texts.URGENT.format(phone=phone) if phone else ""
        ack = texts.RESCHEDULE_ACK.format(business=business, urgent=urgent)
    elif phone is not None:
        ack = texts.RESCHEDULE_ACK_NO_DISPATCHER.format(business=business, phone=phone)
    else:
        ack = texts.ACK_NO_ONE.format(business=business)
    return answer(ack, *effects, MarkAcked(), kind="system", on_job=job["id"])
