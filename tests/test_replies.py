"""What customers and dispatchers get back, and what their texts set in motion (pure calls, no HTTP).

Jobs are built and moved with the real status machine (bot.jobs), so the
dispatcher answers here are worded from the same outcomes the API gives.
"""

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import jobs
from bot.conversation import (
    ChangeStatus,
    Context,
    CountAutoReply,
    CountTokenMiss,
    Decision,
    Facts,
    MarkAcked,
    Needs,
    RecordOptIn,
    RecordOptOut,
    Relay,
    RelayToDispatchers,
    ReplyTo,
    StatusOutcome,
    answer_status_change,
    decide,
    guards,
    needs,
    parse,
    texts,
)
from bot.errors import InvalidTransition
from tests.support import CUSTOMER, DISPATCHER

TOKEN = "K7M2-9XPQ-2HTR-4VWA-C3DF"
STRANGER = "+15125550111"
BUSINESS_PHONE = "+15125550123"
TRACK = "https://sms.example.test/track?token="
CONTEXT = Context(
    business_name="QuickDumpNow",
    business_phone=BUSINESS_PHONE,
    timezone=ZoneInfo("America/Chicago"),
    ack_interval_hours=3,
    tracking_url=lambda token: TRACK + token,
)
NOW = datetime(2026, 11, 27, 18, 30, tzinfo=UTC)  # 12:30 PM in Austin
ADDRESS = "4512 Ridgeview Dr, Austin, TX 78731"

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)


def make_job(job_id=1042, status="scheduled", *, eta=None, total=None, phone=CUSTOMER, name="Dana Whitfield"):
    fields = {
        "customer_name": name,
        "customer_phone": phone,
        "service_type": "junk removal",
        "address": ADDRESS,
        "scheduled_for": "2026-11-28T09:00:00-06:00",
    }
    job = jobs.new_job(job_id, TOKEN, fields, "2026-11-27T17:00:00.000Z")
    if status != "scheduled":
        job = jobs.apply_status(
            job, status, by=DISPATCHER, now="2026-11-27T18:10:00.000Z", eta_minutes=eta, total=total
        ).job
    return job


def customer(text, *, sender=CUSTOMER, now=NOW, context=CONTEXT, **facts):
    return decide(parse(text, "customer"), Facts(sender=sender, now=now, **facts), context)


def dispatcher(text, *, now=NOW, **facts):
    facts.setdefault("job", make_job())  # job 1042 exists unless a test says otherwise
    return decide(parse(text, "dispatcher"), Facts(sender=DISPATCHER, now=now, **facts), CONTEXT)


def effects_of(decision, kind):
    return [effect for effect in decision.effects if isinstance(effect, kind)]


def is_gsm7(text):
    return set(text) <= GSM7_BASIC


# --- customers: STATUS ---------------------------------------------------------


@pytest.mark.parametrize("text", ["STATUS", "Status?", "Status please", "  status  ", "what's my status?"])
def test_status_with_one_open_job_gives_status_eta_and_link(text):
    decision = customer(text, sender_open_jobs=[make_job(status="en_route", eta=20)])
    assert decision.reply == (f"QuickDumpNow: Job 1042 (junk removal) is en route, ETA 12:30 PM. Track: {TRACK}{TOKEN}")
    assert decision.inbound_kind == "command" and decision.reply_kind == "reply"
    assert decision.job_id == 1042


def test_status_lists_up_to_three_in_the_order_a_text_means_them_and_says_how_many_more():
    # SPEC "Which job a text is about": under way first (arrived, en route), then the nearest appointment.
    today_at_3 = {**make_job(1042), "scheduled_for": "2026-11-27T15:00:00-06:00"}
    open_jobs = [make_job(1045), make_job(1044, "en_route", eta=45), make_job(1043, "arrived"), today_at_3]
    decision = customer("STATUS", sender_open_jobs=open_jobs)
    lines = decision.reply.split("\n")
    assert lines[0] == "QuickDumpNow: your open jobs, soonest first:"
    assert [line.split()[0] for line in lines[1:4]] == ["1043", "1044", "1042"]
    assert lines[1].startswith("1043 junk removal: arrived.")
    assert "en route, ETA 12:55 PM" in lines[2]
    assert lines[3].startswith("1042 junk removal: scheduled for 3:00 PM.")  # today
    assert all(f"{TRACK}{TOKEN}" in line for line in lines[1:4])
    assert lines[4] == "+1 more."  # 1045, tomorrow at 9
    assert decision.job_id == 1043  # logged against the job under way
    assert all(set(line) <= GSM7_BASIC for line in lines)


def test_status_with_no_open_jobs_gives_a_clear_hint():
    decision = customer("STATUS")
    assert decision.reply == (
        "QuickDumpNow: no open jobs for this number. Text the code from your tracking link, or call (512) 555-0123."
    )
    assert decision.job_id is None
    without_phone = replace(CONTEXT, business_phone=None)
    hint = customer("STATUS", context=without_phone).reply
    assert hint.endswith("or reply here and a person will answer.")


def test_eta_on_another_day_names_the_day():
    late = make_job(status="en_route", eta=1440)
    assert "ETA Sat Nov 28, 12:10 PM" in customer("STATUS", sender_open_jobs=[late]).reply


# --- customers: tokens ------------------------------------------------------------


def test_own_token_gives_status_and_link_with_their_name():
    job = make_job(status="en_route", eta=20)
    decision = customer("k7m2 9xpq 2htr 4vwa c3df", token_job=job, sender_open_jobs=[job])
    assert decision.reply == (
        f"QuickDumpNow: Hi Dana, job 1042 (junk removal) is en route, ETA 12:30 PM. Track: {TRACK}{TOKEN}"
    )
    assert decision.job_id == 1042


def test_someone_elses_token_gives_status_only_never_who_or_where():
    job = make_job(status="en_route", eta=20)
    decision = customer(TOKEN, sender=STRANGER, token_job=job)
    assert decision.reply == f"QuickDumpNow: That junk removal job is en route, ETA 12:30 PM. Track: {TRACK}{TOKEN}"
    for private in ("Dana", "Whitfield", "0199", "555", "Ridgeview", "Austin", "1042"):
        assert private not in decision.reply
    assert decision.job_id is None  # kept out of that customer's conversation


def test_someone_elses_token_is_logged_with_the_senders_own_job():
    theirs = make_job(1050, phone=STRANGER, name="Sam Ortiz")
    decision = customer(TOKEN, sender=STRANGER, token_job=make_job(), sender_open_jobs=[theirs])
    assert decision.job_id == 1050


CODE_MISS = "QuickDumpNow: That code doesn't match any job. Check the link in our texts, or text STATUS."


def test_unknown_token_does_not_match_and_counts_a_miss():
    decision = customer(TOKEN)
    assert decision.reply == CODE_MISS
    assert effects_of(decision, CountTokenMiss) == [CountTokenMiss()]


def test_repeated_token_misses_are_throttled_for_the_rest_of_the_minute():
    state: dict = {}
    command = parse(TOKEN, "customer")
    for second in range(guards.TOKEN_MISS_LIMIT):
        now = NOW + timedelta(seconds=second)
        assert needs(command, phone_state=state, now=now).token == TOKEN
        decision = customer(TOKEN, now=now, phone_state=state)
        # Every miss counts; "doesn't match" is said once (SPEC: no answer twice within 10 minutes).
        assert effects_of(decision, CountTokenMiss) == [CountTokenMiss()]
        assert decision.reply == (CODE_MISS if second == 0 else None)
        state = decision.update_phone_state(state)
    blocked_at = NOW + timedelta(seconds=30)
    assert needs(command, phone_state=state, now=blocked_at).token is None  # not even looked up
    # Even a real token is not answered while blocked: guessing by text is no faster than the web.
    decision = customer(TOKEN, now=blocked_at, phone_state=state, token_job=make_job())
    assert decision.reply == "QuickDumpNow: Too many codes tried. Please wait a minute, then try again."
    assert not effects_of(decision, CountTokenMiss)
    after = NOW + timedelta(seconds=61)
    assert needs(command, phone_state=state, now=after).token == TOKEN
    assert "Hi Dana" in customer(TOKEN, now=after, phone_state=state, token_job=make_job()).reply


def test_a_token_guesser_reads_doesnt_match_once_and_too_many_once():
    state: dict = {}
    answers = []
    for second in range(40):
        decision = customer(TOKEN, now=NOW + timedelta(seconds=second), phone_state=state)
        answers += [decision.reply] if decision.reply is not None else []
        state = decision.update_phone_state(state)
    assert answers == [CODE_MISS, "QuickDumpNow: Too many codes tried. Please wait a minute, then try again."]


# --- customers: HELP --------------------------------------------------------------


@pytest.mark.parametrize("text", ["HELP", "help", "Help!", "INFO", "info?"])
def test_help_says_who_what_to_text_how_to_reach_a_person_and_opt_out(text):
    reply = customer(text).reply
    assert reply == (
        "QuickDumpNow job texts: text STATUS for your jobs, or reply to reach a person. "
        "To cancel a job text CANCEL JOB or call (512) 555-0123. Msg & data rates may apply. Text STOP to opt out."
    )
    assert len(reply) <= 306 and is_gsm7(reply)  # two segments


def test_help_without_a_business_phone_still_says_how_to_cancel():
    reply = customer("HELP", context=replace(CONTEXT, business_phone=None)).reply
    assert "To cancel a job text CANCEL JOB." in reply and "call" not in reply


# --- customers: opt-out and opt-in --------------------------------------------------


@pytest.mark.parametrize(
    "text", ["STOP", "stop", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]
)
def test_opt_out_records_it_answers_nothing_and_tells_dispatchers(text):
    decision = customer(text, sender_open_jobs=[make_job()])
    assert decision.reply is None  # empty TwiML: Twilio confirms STOP itself
    assert decision.inbound_kind == "command"
    assert effects_of(decision, RecordOptOut) == [RecordOptOut(text.upper())]
    assert effects_of(decision, RelayToDispatchers) == [
        RelayToDispatchers(
            f"Dana (1042, scheduled) texted {text.upper()} and is now opted out of texts. "
            "To reach them call (512) 555-0199.",
            1042,
        )
    ]
    state = decision.update_phone_state({"last_ack_at": "2026-11-27T10:00:00.000Z"})
    assert state["opted_out"] is True and state["opt_source"] == text.upper()
    assert state["last_ack_at"] == "2026-11-27T10:00:00.000Z"  # other state kept


def test_a_repeated_opt_out_is_recorded_without_telling_dispatchers_again():
    decision = customer("STOP", opted_out=True, sender_open_jobs=[make_job()])
    assert decision.reply is None and decision.effects == (RecordOptOut("STOP"),)


@pytest.mark.parametrize("text", ["START", "UNSTOP", "YES", "yes."])
def test_opt_in_from_an_opted_out_number_is_confirmed(text):
    decision = customer(text, opted_out=True)
    assert decision.reply == "QuickDumpNow: You're opted back in to job texts. Text HELP for help, STOP to opt out."
    assert decision.reply_kind == "system"
    assert effects_of(decision, RecordOptIn) == [RecordOptIn(text.strip(".").upper())]
    assert decision.update_phone_state({"opted_out": True})["opted_out"] is False


@pytest.mark.parametrize("text", ["START", "UNSTOP", "YES"])
def test_opt_in_words_from_a_number_not_opted_out_are_ordinary_text(text):
    decision = customer(text, sender_open_jobs=[make_job()])
    assert decision.inbound_kind == "text"
    assert not effects_of(decision, RecordOptIn)
    assert effects_of(decision, RelayToDispatchers)[0].body == f"Dana (1042, scheduled): {text} Reply: R 1042 <text>"
    assert decision.reply.startswith("QuickDumpNow: Thanks, we got your message.")


@pytest.mark.parametrize("text", ["STATUS", "HELP", TOKEN, "Where is the truck?"])
def test_an_opted_out_number_is_sent_nothing_but_a_person_reads_it(text):
    decision = customer(text, opted_out=True, sender_open_jobs=[make_job()], token_job=make_job())
    assert decision.reply is None and decision.quiet
    assert not effects_of(decision, MarkAcked) and not effects_of(decision, CountAutoReply)
    assert effects_of(decision, RelayToDispatchers) == [
        RelayToDispatchers(
            f"Dana (1042, scheduled) is opted out of texts; call (512) 555-0199. They wrote: {text}",
            1042,
        )
    ]


# --- customers: free text, relays and the acknowledgement ----------------------------


def test_free_text_is_relayed_naming_the_job_and_how_to_answer():
    decision = customer("Running late?", sender_open_jobs=[make_job(status="en_route", eta=20)])
    assert effects_of(decision, RelayToDispatchers) == [
        RelayToDispatchers("Dana (1042, en route): Running late? Reply: R 1042 <text>", 1042)
    ]
    assert decision.inbound_kind == "text" and decision.job_id == 1042
    assert decision.reply == (
        "QuickDumpNow: Thanks, we got your message. A person will reply soon. Urgent? Call (512) 555-0123."
    )
    assert decision.reply_kind == "system"
    assert MarkAcked() in decision.effects


def test_free_text_goes_with_the_job_under_way():
    decision = customer("Gate code is 4411", sender_open_jobs=[make_job(1044, "arrived"), make_job(1042)])
    assert decision.job_id == 1044
    assert effects_of(decision, RelayToDispatchers)[0].body.startswith("Dana (1044, arrived): Gate code is 4411")


def test_free_text_without_an_open_job_names_the_phone_to_answer():
    decision = customer("hi, do you take mattresses?", sender=STRANGER)
    assert effects_of(decision, RelayToDispatchers) == [
        RelayToDispatchers("+15125550111 (no open job): hi, do you take mattresses? Reply: R +15125550111 <text>", None)
    ]
    assert decision.job_id is None
    answer = parse("R +15125550111 Yes we do", "dispatcher")
    assert isinstance(answer, ReplyTo) and answer.phone == STRANGER  # the hint works as typed


def test_cancel_job_request_is_flagged_for_dispatchers():
    decision = customer("CANCEL JOB", sender_open_jobs=[make_job()])
    assert effects_of(decision, RelayToDispatchers)[0].body == (
        "Dana (1042, scheduled) may want to cancel: CANCEL JOB Reply: R 1042 <text> or CANCEL 1042"
    )
    assert decision.reply == (
        "QuickDumpNow: Thanks, we got your cancel request. A person will confirm soon. Urgent? Call (512) 555-0123."
    )
    assert not effects_of(decision, RecordOptOut)


NO_DISPATCHERS = replace(CONTEXT, has_dispatchers=False)
NOBODY = replace(NO_DISPATCHERS, business_phone=None)  # no dispatcher and no BUSINESS_PHONE
GOT_IT = "QuickDumpNow: Thanks, we got your message."


@pytest.mark.parametrize(
    ("text", "context", "ack"),
    [
        ("Can you come before noon?", NO_DISPATCHERS, GOT_IT + " For a quick answer call (512) 555-0123."),
        ("Please cancel my job", NO_DISPATCHERS, GOT_IT + " To cancel a job call (512) 555-0123."),
        ("Can you come before noon?", NOBODY, GOT_IT + " Text STATUS for your jobs."),
        ("Please cancel my job", NOBODY, GOT_IT + " Text STATUS for your jobs."),
    ],
    ids=["free text", "cancel request", "free text, no business phone", "cancel request, no business phone"],
)
def test_with_no_dispatcher_the_acknowledgement_promises_no_person(text, context, ack):
    """Nobody reads relays when DISPATCHER_NUMBERS is empty: point to the business phone, or promise nothing."""
    decision = customer(text, context=context, sender_open_jobs=[make_job()])
    assert decision.reply == ack
    assert "person" not in ack and "confirm" not in ack and is_gsm7(ack) and len(ack) <= 160
    assert decision.reply_kind == "system" and MarkAcked() in decision.effects


@pytest.mark.parametrize(
    ("text", "context", "jobs", "reply"),
    [
        ("HELP", NO_DISPATCHERS, 1, "QuickDumpNow job texts: text STATUS for your jobs. "
         "To reach a person or cancel a job call (512) 555-0123. Msg & data rates may apply. Text STOP to opt out."),
        ("HELP", NOBODY, 1, "QuickDumpNow job texts: text STATUS for your jobs, or the code from your tracking link. "
         "Msg & data rates may apply. Text STOP to opt out."),
        ("STATUS", NOBODY, 0, "QuickDumpNow: no open jobs for this number. Text the code from your tracking link."),
        ("STATUS", NO_DISPATCHERS, 0,
         "QuickDumpNow: no open jobs for this number. Text the code from your tracking link, or call (512) 555-0123."),
    ],
    ids=["HELP", "HELP, no business phone", "STATUS with no jobs, no business phone", "STATUS with no jobs"],
)  # fmt: skip
def test_with_no_dispatcher_help_and_hints_promise_no_reply(text, context, jobs, reply):
    """HELP and the no-jobs hint never say "reply to reach a person" when nobody reads replies."""
    decision = customer(text, context=context, sender_open_jobs=[make_job()][:jobs])
    assert decision.reply == reply
    assert "reply" not in reply.lower() and "person will" not in reply
    assert is_gsm7(reply) and len(reply) <= 160


def test_acknowledgement_at_most_once_per_interval_but_every_text_is_relayed():
    state: dict = {}
    replies = []
    for minutes in (0, 5, 90, 179, 180, 200):
        decision = customer("are you coming?", now=NOW + timedelta(minutes=minutes), phone_state=state)
        assert len(effects_of(decision, RelayToDispatchers)) == 1
        replies.append(decision.reply is not None)
        state = decision.update_phone_state(state)
    assert replies == [True, False, False, False, True, False]


def test_acknowledgement_interval_follows_the_setting():
    state = {"last_ack_at": jobs.iso_utc(NOW - timedelta(minutes=31))}
    half_hour = replace(CONTEXT, ack_interval_hours=0.5)
    assert customer("hello?", phone_state=state, context=half_hour).reply is not None
    assert customer("hello?", phone_state=state).reply is None  # default 3 hours


def test_a_long_text_is_relayed_whole_when_it_fits_and_cut_to_one_message_when_not():
    medium = "x" * 1400
    assert medium in effects_of(customer(medium), RelayToDispatchers)[0].body
    long_text = "Is the trailer coming? " * 80  # 1,840 characters
    relay = effects_of(customer(long_text), RelayToDispatchers)[0].body
    assert len(relay) == 1600
    assert relay.startswith("+15125550199 (no open job): Is the trailer coming?")
    assert relay.endswith("... Reply: R +15125550199 <text>")


def test_empty_text_is_still_relayed_as_free_text():
    decision = customer("", sender_open_jobs=[make_job()])
    assert decision.inbound_kind == "text"
    assert effects_of(decision, RelayToDispatchers)[0].body == "Dana (1042, scheduled):  Reply: R 1042 <text>"


# --- the automatic-answer cap ---------------------------------------------------------


def test_no_more_than_the_hourly_cap_of_automatic_answers_to_one_phone():
    state: dict = {}
    answered = 0
    for minute in range(31):  # a different job each minute: a new answer each time, which only the cap holds back
        decision = customer(
            "STATUS", now=NOW + timedelta(minutes=minute), phone_state=state, sender_open_jobs=[make_job(1000 + minute)]
        )
        answered += decision.reply is not None
        state = decision.update_phone_state(state)
    assert answered == guards.AUTO_REPLY_LIMIT
    later = customer("STATUS", now=NOW + timedelta(minutes=61), phone_state=state)
    assert later.reply is not None


def test_over_the_cap_free_text_is_still_relayed_and_not_marked_acknowledged():
    state = {"auto_replies": {"since": jobs.iso_utc(NOW), "count": guards.AUTO_REPLY_LIMIT}}
    decision = customer("hello?", phone_state=state)
    assert decision.reply is None and decision.quiet
    assert effects_of(decision, RelayToDispatchers)
    assert not effects_of(decision, MarkAcked)


def test_dispatcher_commands_are_not_capped_but_nonsense_is():
    state = {"auto_replies": {"since": jobs.iso_utc(NOW), "count": guards.AUTO_REPLY_LIMIT}}
    assert dispatcher("JOBS", phone_state=state).reply == "No open jobs."
    assert dispatcher("EN ROUTE 1042 2000", phone_state=state).reply is None
    assert dispatcher("I'm driving, will text later", phone_state=state).reply is None
    assert dispatcher("I'm driving, will text later").reply.startswith("Didn't understand.")


# --- dispatchers: status changes -------------------------------------------------------------


def run_change(job, effect):
    """What the handler does with a ChangeStatus, using the real status machine."""
    try:
        change = jobs.apply_status(
            job, effect.status, by=DISPATCHER, now="t", eta_minutes=effect.eta_minutes, total=effect.total
        )
    except InvalidTransition as refused:
        return StatusOutcome.refused(refused.message)
    if change.changed:
        return StatusOutcome.changed(change.job, customer_texted=True)
    return StatusOutcome.unchanged(change.job)


@pytest.mark.parametrize(
    ("text", "start", "answer"),
    [
        ("EN ROUTE 1042 20", "scheduled", "1042 -> en route (ETA 20 min). Customer texted."),
        ("1042 en route eta 20", "scheduled", "1042 -> en route (ETA 20 min). Customer texted."),
        ("OMW 1042", "scheduled", "1042 -> en route. Customer texted."),
        ("ARRIVED 1042", "en_route", "1042 -> arrived. Customer texted."),
        ("1042 here", "en_route", "1042 -> arrived. Customer texted."),
        ("DONE 1042", "arrived", "1042 -> complete. Customer texted."),
        ("COMPLETE 1042 350", "arrived", "1042 -> complete ($350.00). Customer texted."),
        ("done 1042 $1,200.00", "arrived", "1042 -> complete ($1,200.00). Customer texted."),
        ("CANCEL 1042", "scheduled", "1042 -> cancelled. Customer texted."),
        ("EN ROUTE 1042", "complete", "1042 is complete; it can't go en route."),
        ("ARRIVED 1042", "cancelled", "1042 is cancelled; it can't be marked arrived."),
        ("OMW 1042", "arrived", "1042 has arrived; it can't go back to en route."),
        ("CANCEL 1042", "complete", "1042 is complete; it can't be cancelled."),
        ("ARRIVED 1042", "arrived", "1042 is already arrived; nothing sent."),
    ],
)
def test_dispatcher_move_answers_say_what_happened_or_why_not(text, start, answer):
    decision = dispatcher(text)
    assert decision.reply is None and decision.status_change is not None  # the answer waits for the move
    assert decision.inbound_kind == "command"
    outcome = run_change(make_job(status=start), decision.status_change)
    assert decision.after_status_change(outcome).reply == answer


def test_same_eta_is_unchanged_and_a_new_eta_is_texted():
    on_way = make_job(status="en_route", eta=20)
    same = dispatcher("omw 1042 20")
    assert (
        same.after_status_change(run_change(on_way, same.status_change)).reply
        == "1042 is already en route (ETA 20 min); nothing sent."
    )
    newer = dispatcher("omw 1042 35")
    assert (
        newer.after_status_change(run_change(on_way, newer.status_change)).reply
        == "1042 -> en route (ETA 35 min). Customer texted."
    )


def test_move_for_an_opted_out_customer_or_a_missing_job():
    decision = dispatcher("EN ROUTE 1042 20")
    moved = make_job(status="en_route", eta=20)
    opted_out = decision.after_status_change(StatusOutcome.changed(moved, customer_texted=False))
    assert opted_out.reply == "1042 -> en route (ETA 20 min). Customer has opted out; not texted."
    missing = dispatcher("EN ROUTE 1043", job=None)
    assert missing.reply == "No job 1043." and missing.status_change is None and missing.job_id is None
    # Should the job vanish between the lookup and the move, the answer is the same.
    vanished = decision.after_status_change(StatusOutcome.not_found())
    assert vanished.reply == "No job 1042." and vanished.job_id is None


def test_change_status_effect_carries_the_parsed_numbers():
    assert dispatcher("done 1042 $1,200.00").status_change == ChangeStatus(1042, "complete", None, 1200.0)
    assert dispatcher("omw 1042 15 min").status_change == ChangeStatus(1042, "en_route", 15, None)
    assert dispatcher("omw 1042").job_id == 1042


def test_status_outcome_from_the_services_write():
    job = make_job(status="en_route", eta=20)
    queued = [{"status": "pending"}]
    skipped = [{"status": "skipped"}]
    assert StatusOutcome.from_write(job, True, queued) == StatusOutcome.changed(job, customer_texted=True)
    assert StatusOutcome.from_write(job, True, skipped) == StatusOutcome.changed(job, customer_texted=False)
    assert StatusOutcome.from_write(job, False, []) == StatusOutcome.unchanged(job)
    assert answer_status_change(1042, StatusOutcome.refused("1042 is complete; it can't go en route.")) == (
        "1042 is complete; it can't go en route."
    )


def test_after_status_change_needs_a_status_change():
    with pytest.raises(ValueError, match="ChangeStatus"):
        dispatcher("JOBS").after_status_change(StatusOutcome.not_found())


def test_an_opted_out_dispatcher_still_moves_jobs_but_is_sent_nothing():
    decision = dispatcher("EN ROUTE 1042 20", opted_out=True)
    assert decision.status_change == ChangeStatus(1042, "en_route", 20, None)
    assert decision.after_status_change(run_change(make_job(), decision.status_change)).reply is None
    assert dispatcher("JOBS", opted_out=True).reply is None


@pytest.mark.parametrize("text", ["STOP", "cancel", "Quit"])
def test_a_dispatchers_bare_opt_out_keyword_opts_them_out(text):
    decision = dispatcher(text)
    assert decision.reply is None
    assert decision.effects == (RecordOptOut(text.upper()),)


def test_dispatcher_opt_in():
    assert effects_of(dispatcher("START", opted_out=True), RecordOptIn) == [RecordOptIn("START")]
    not_opted_out = dispatcher("YES")
    assert not_opted_out.reply.startswith("Didn't understand.") and not_opted_out.inbound_kind == "text"


# --- dispatchers: lookups, relays, help ------------------------------------------------


def test_jobs_lists_open_jobs_one_short_line_each():
    open_jobs = [make_job(1044, "en_route", eta=20), make_job(1043, "arrived", name="Lee"), make_job(1042)]
    assert dispatcher("JOBS", open_jobs=open_jobs).reply == (
        "Open jobs (3):\n"
        "1044 en route, ETA 12:30 PM - Dana W., junk removal\n"
        "1043 arrived - Lee, junk removal\n"
        "1042 scheduled for Sat Nov 28, 9:00 AM - Dana W., junk removal"
    )
    assert dispatcher("STATUS").reply == "No open jobs."


def test_a_long_jobs_list_is_cut_with_a_count():
    many = [make_job(1100 - n) for n in range(14)]
    reply = dispatcher("jobs", open_jobs=many).reply
    assert reply.splitlines()[0] == "Open jobs (14):"
    assert len(reply.splitlines()) == 12 and reply.endswith("+4 more.")


def test_one_job_in_two_lines():
    done = make_job(status="complete", total=350)
    assert dispatcher("1042", job=done).reply == (
        f"1042 Dana Whitfield, junk removal: complete, total $350.00.\n(512) 555-0199, {ADDRESS}"
    )
    # Under way, it still says what it was booked for (a scheduled job's status already does).
    assert dispatcher("STATUS 1042", job=make_job(status="en_route", eta=20)).reply.startswith(
        "1042 Dana Whitfield, junk removal: en route, ETA 12:30 PM (booked for Sat Nov 28, 9:00 AM)."
    )
    assert dispatcher("STATUS 1042", job=make_job()).reply.startswith(
        "1042 Dana Whitfield, junk removal: scheduled for Sat Nov 28, 9:00 AM."
    )
    missing = dispatcher("STATUS 1043", job=None)
    assert missing.reply == "No job 1043." and missing.job_id is None


def test_reply_to_a_job_texts_its_customer_verbatim():
    decision = dispatcher("r 1042 Running 10 min LATE, sorry!", job=make_job())
    assert decision.effects == (Relay(CUSTOMER, "Running 10 min LATE, sorry!", 1042),)
    assert decision.reply == "Sent to Dana (1042)."
    assert decision.job_id == 1042


def test_reply_to_an_opted_out_customer_says_so_and_is_logged_skipped_by_the_queue():
    decision = dispatcher("R 1042 hi", job=make_job(), target_opted_out=True)
    assert decision.reply == "Customer has opted out; not texted."
    assert decision.effects == (Relay(CUSTOMER, "hi", 1042),)


def test_reply_to_a_missing_job_sends_nothing():
    decision = dispatcher("R 1043 hi", job=None)
    assert decision.reply == "No job 1043." and decision.effects == ()


def test_reply_to_a_phone():
    decision = dispatcher("R +1 512-555-0111 We can take it Friday")
    assert decision.effects == (Relay(STRANGER, "We can take it Friday", None),)
    assert decision.reply == "Sent to +15125550111."
    opted_out = dispatcher("R +15125550111 hi", target_opted_out=True)
    assert opted_out.reply == "Customer has opted out; not texted."


def test_dispatcher_help_unknown_and_invalid_answers():
    help_text = dispatcher("HELP").reply
    assert help_text == (
        "Commands: EN ROUTE 1042 20, ARRIVED 1042, DONE 1042 350, CANCEL 1042, JOBS, TODAY, TOMORROW, 1042, "
        "R 1042 <text>, R <phone> <text>."
    )
    unknown = dispatcher("where's the truck")
    assert unknown.reply == "Didn't understand. " + help_text
    assert len(unknown.reply) <= 160 and is_gsm7(unknown.reply)
    assert unknown.inbound_kind == "text"
    invalid = dispatcher("EN ROUTE")
    assert invalid.reply == "Which job? e.g. EN ROUTE 1042 20" and invalid.inbound_kind == "command"


# --- what the handler looks up ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("STATUS", "customer", Needs(sender_open_jobs=True)),
        (TOKEN, "customer", Needs(sender_open_jobs=True, token=TOKEN)),
        ("HELP", "customer", Needs(sender_open_jobs=True)),
        ("hello", "customer", Needs(sender_open_jobs=True)),
        ("STOP", "customer", Needs(sender_open_jobs=True)),
        ("EN ROUTE 1042 20", "dispatcher", Needs(job_id=1042, target_opt_out=True)),
        ("1042 here", "dispatcher", Needs(job_id=1042, target_opt_out=True)),
        ("JOBS", "dispatcher", Needs(open_jobs=True)),
        ("1042", "dispatcher", Needs(job_id=1042)),
        ("R 1042 hi", "dispatcher", Needs(job_id=1042, target_opt_out=True)),
        ("R +15125550111 hi", "dispatcher", Needs(target_opt_out=True)),
        ("HELP", "dispatcher", Needs()),
        ("STOP", "dispatcher", Needs()),
        ("what", "dispatcher", Needs()),
    ],
)
def test_needs_names_exactly_the_lookups(text, role, expected):
    assert needs(parse(text, role), phone_state={}, now=NOW) == expected


def test_update_phone_state_does_not_mutate_its_input():
    state = {"opted_out": False}
    decision = customer("hello?")
    updated = decision.update_phone_state(state)
    assert state == {"opted_out": False}
    assert updated["last_ack_at"] == "2026-11-27T18:30:00.000Z"
    assert updated["auto_replies"] == {"since": "2026-11-27T18:30:00.000Z", "count": 1}


def test_corrupt_guard_state_is_treated_as_empty():
    state = {
        "last_ack_at": "yesterday",
        "auto_replies": "lots",
        "token_misses": {"since": None, "count": "x"},
        "recent_answers": {"0f3a": "not a time", "77": None},
    }
    decision = customer("hello?", phone_state=state)
    assert decision.reply is not None
    assert decision.update_phone_state(state)["auto_replies"]["count"] == 1


# --- texts -----------------------------------------------------------------------------


def test_every_text_is_plain_ascii_and_gsm7():
    templates = [value for name, value in vars(texts).items() if name.isupper() and isinstance(value, str)]
    templates += [example for example in texts.EXAMPLES.values()]
    for template in templates:
        text = re.sub(r"\{[^{}]*\}", "", template)  # placeholders are filled before sending
        assert text.isascii() and is_gsm7(text), template


# HELP is not here: it says what CTIA asks, in up to two segments (tests/test_segments.py).
SHORT_CUSTOMER_REPLIES = [
    lambda: customer("STATUS"),
    lambda: customer(TOKEN),
    lambda: customer("hello?"),
    lambda: customer("CANCEL JOB", sender_open_jobs=[make_job()]),
    lambda: customer("START", opted_out=True),
    lambda: customer(TOKEN, phone_state={"token_misses": {"since": jobs.iso_utc(NOW), "count": 20}}),
]


@pytest.mark.parametrize("make", SHORT_CUSTOMER_REPLIES)
def test_customer_replies_without_links_fit_one_segment(make):
    decision: Decision = make()
    assert decision.reply is not None
    assert len(decision.reply) <= 160 and is_gsm7(decision.reply), decision.reply


def test_replies_with_one_tracking_link_fit_one_segment():
    job = make_job(status="en_route", eta=20)
    for decision in (customer("STATUS", sender_open_jobs=[job]), customer(TOKEN, token_job=job)):
        assert len(decision.reply) <= 160 and is_gsm7(decision.reply), decision.reply
