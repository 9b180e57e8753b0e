"""What texts mean: a table of realistic phrasings for customers and dispatchers (no HTTP)."""

import unicodedata

import pytest

from bot.conversation import (
    Confirm,
    FreeText,
    Help,
    Invalid,
    ListJobs,
    OptIn,
    OptOut,
    ReplyTo,
    SetStatus,
    ShowJob,
    Status,
    TokenQuery,
    Unknown,
    parse,
)

TOKEN = "K7M2-9XPQ-2HTR-4VWA-C3DF"

# (text, expected command fields) for dispatchers; `text`/`role` are checked separately.
DISPATCHER_MOVES = [
    ("EN ROUTE 1042", 1042, "en_route", None, None),
    ("EN ROUTE 1042 20", 1042, "en_route", 20, None),
    ("ENROUTE 1042 20", 1042, "en_route", 20, None),
    ("en route 1042", 1042, "en_route", None, None),
    ("1042 en route eta 20", 1042, "en_route", 20, None),
    ("OMW 1042", 1042, "en_route", None, None),
    ("omw 1042", 1042, "en_route", None, None),
    ("omw 1042 15 min", 1042, "en_route", 15, None),
    ("omw 1042 15min", 1042, "en_route", 15, None),
    ("en-route 1042 eta 15", 1042, "en_route", 15, None),
    ("En-Route 1042 ETA: 15", 1042, "en_route", 15, None),
    ("on my way 1042", 1042, "en_route", None, None),
    ("On my way to 1042, eta 25 mins", 1042, "en_route", 25, None),
    ("1042 omw 20min", 1042, "en_route", 20, None),
    ("en route 1042 in 20 minutes", 1042, "en_route", 20, None),
    ("eta 15 omw 1042", 1042, "en_route", 15, None),
    ("omw 30 min 1042", 1042, "en_route", 30, None),
    ("  omw   1042  ", 1042, "en_route", None, None),
    ("OMW #1042!", 1042, "en_route", None, None),
    ("en route 1042 0", 1042, "en_route", 0, None),
    ("en route 1042 1440", 1042, "en_route", 1440, None),
    ("otw 1042 10", 1042, "en_route", 10, None),
    ("ARRIVED 1042", 1042, "arrived", None, None),
    ("arrived 1042.", 1042, "arrived", None, None),
    ("HERE 1042", 1042, "arrived", None, None),
    ("1042 here", 1042, "arrived", None, None),
    ("1042 here!", 1042, "arrived", None, None),
    ("on site 1042", 1042, "arrived", None, None),
    ("DONE 1042", 1042, "complete", None, None),
    ("done 1042.", 1042, "complete", None, None),
    ("COMPLETE 1042 350", 1042, "complete", None, 350.0),
    ("complete 1042 $350", 1042, "complete", None, 350.0),
    ("done 1042 $1,200.00", 1042, "complete", None, 1200.0),
    ("done 1042 $1,200.00.", 1042, "complete", None, 1200.0),
    ("Done 1042 1200.50", 1042, "complete", None, 1200.5),
    ("done 1042 total 350", 1042, "complete", None, 350.0),
    ("done $350 1042", 1042, "complete", None, 350.0),
    ("1042 done 350 dollars", 1042, "complete", None, 350.0),
    ("finished 1042", 1042, "complete", None, None),
    ("CANCEL 1042", 1042, "cancelled", None, None),
    ("cancel job 1042", 1042, "cancelled", None, None),
    ("Cancel #1042 please", 1042, "cancelled", None, None),
]


@pytest.mark.parametrize(("text", "job_id", "status", "eta", "total"), DISPATCHER_MOVES)
def test_dispatcher_moves(text, job_id, status, eta, total):
    command = parse(text, "dispatcher")
    assert command == SetStatus(text, "dispatcher", job_id=job_id, status=status, eta_minutes=eta, total=total)
    assert command.understood


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JOBS", ListJobs),
        ("jobs?", ListJobs),
        ("STATUS", ListJobs),
        ("status?", ListJobs),
        ("Open jobs", ListJobs),
        ("list", ListJobs),
        ("HELP", Help),
        ("help.", Help),
        ("commands", Help),
    ],
)
def test_dispatcher_lookups_without_a_job(text, expected):
    assert parse(text, "dispatcher") == expected(text, "dispatcher")


@pytest.mark.parametrize("text", ["1042", "1042?", "STATUS 1042", "status 1042.", "#1042", "job 1042", "1042 status"])
def test_dispatcher_looks_up_one_job(text):
    assert parse(text, "dispatcher") == ShowJob(text, "dispatcher", job_id=1042)


REPLIES = [
    ("R 1042 running 10 min late", 1042, None, "running 10 min late"),
    ("r 1042 Running 10 min LATE!", 1042, None, "Running 10 min LATE!"),
    ("R 1042 Running late.", 1042, None, "Running late."),
    ("REPLY 1042 On our way", 1042, None, "On our way"),
    ("Reply 1042: On our way.", 1042, None, "On our way."),
    ("reply to 1042 ok", 1042, None, "ok"),
    ("R #1042 Be there at 3", 1042, None, "Be there at 3"),
    ("R1042 hi", 1042, None, "hi"),
    ("  R 1042   Gate code?  ", 1042, None, "Gate code?"),
    ("R 1042 555 0199 is the office", 1042, None, "555 0199 is the office"),
    ("R 1042 20 min out", 1042, None, "20 min out"),
    ("R +15125550199 Your trailer is ready", None, "+15125550199", "Your trailer is ready"),
    ("R +1 512-555-0199 hi", None, "+15125550199", "hi"),
    ("R +1 512 555 0199 15 min late", None, "+15125550199", "15 min late"),
    ("R (512) 555-0199 hi", None, "+15125550199", "hi"),
    ("R 512-555-0199 hi", None, "+15125550199", "hi"),
    ("R 512.555.0199 hi", None, "+15125550199", "hi"),
    ("R 5125550199 hi", None, "+15125550199", "hi"),
    ("R 512 555 0199 hi", None, "+15125550199", "hi"),
    ("r +15125550199: Call us back", None, "+15125550199", "Call us back"),
    ("R 1042 Señor, llegamos 🚚", 1042, None, "Señor, llegamos 🚚"),
]


@pytest.mark.parametrize(("text", "job_id", "phone", "body"), REPLIES)
def test_dispatcher_reply_keeps_the_text_verbatim(text, job_id, phone, body):
    assert parse(text, "dispatcher") == ReplyTo(text, "dispatcher", body=body, job_id=job_id, phone=phone)


def test_reply_text_keeps_inner_lines_and_case():
    text = "R 1042 Gate is locked.\nCall Mike at the yard"
    command = parse(text, "dispatcher")
    assert isinstance(command, ReplyTo)
    assert command.body == "Gate is locked.\nCall Mike at the yard"


INVALID = [
    ("EN ROUTE", "Which job? e.g. EN ROUTE 1042 20"),
    ("omw", "Which job? e.g. EN ROUTE 1042 20"),
    ("here", "Which job? e.g. ARRIVED 1042"),
    ("DONE", "Which job? e.g. DONE 1042 350"),
    ("cancel job", "Which job? e.g. CANCEL 1042"),
    ("EN ROUTE 1042 2000", "ETA must be whole minutes, 0 to 1440. e.g. EN ROUTE 1042 20"),
    ("EN ROUTE 1042 1441", "ETA must be whole minutes, 0 to 1440. e.g. EN ROUTE 1042 20"),
    ("EN ROUTE 1042 15.5", "ETA must be whole minutes, 0 to 1440. e.g. EN ROUTE 1042 20"),
    ("en route 1042 eta -5", 'Didn\'t understand "-5". e.g. EN ROUTE 1042 20'),
    ("en route 1042 soon", 'Didn\'t understand "soon". e.g. EN ROUTE 1042 20'),
    ("DONE 1042 abc", 'Didn\'t understand "abc". e.g. DONE 1042 350'),
    ("DONE 1042 $2,000,000", "Total must be a dollar amount up to $1,000,000. e.g. DONE 1042 350"),
    ("ARRIVED 1042 10", "Didn't understand the extra number. e.g. ARRIVED 1042"),
    ("cancel 1042 50", "Didn't understand the extra number. e.g. CANCEL 1042"),
    ("done 1042 eta 5", "Didn't understand the extra number. e.g. DONE 1042 350"),
    ("omw 1042 20 35", "One job and one number at a time, e.g. EN ROUTE 1042 20"),
    ("1042 1043", "One job and one number at a time, e.g. STATUS 1042"),
    ("omw 1042 done", "One command at a time. Text HELP for the list."),
    ("R", "Reply to which job or phone? e.g. R 1042 Running 10 min late"),
    ("reply", "Reply to which job or phone? e.g. R 1042 Running 10 min late"),
    ("R 1042", "What should it say? e.g. R 1042 Running 10 min late"),
    ("R +15125550199  ", "What should it say? e.g. R 1042 Running 10 min late"),
    ("R Dana running late", "Reply to which job or phone? e.g. R 1042 Running 10 min late"),
]


@pytest.mark.parametrize(("text", "error"), INVALID)
def test_dispatcher_mistakes_get_a_helpful_error(text, error):
    command = parse(text, "dispatcher")
    assert command == Invalid(text, "dispatcher", error=error)
    assert command.understood  # logged as a command: it was one, just not a usable one


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "Running late",
        "ok thanks",
        "",
        "   ",
        "ready",
        "where is 1042 going",
        "🚚",
        "help me",
        "K7M2-9XPQ-2HTR",
    ],
)
def test_anything_else_from_a_dispatcher_is_unknown(text):
    command = parse(text, "dispatcher")
    assert command == Unknown(text, "dispatcher")
    assert not command.understood


CUSTOMER = [
    ("STATUS", Status),
    ("status", Status),
    ("Status?", Status),
    ("Status please", Status),
    ("status.", Status),
    ("  STATUS  ", Status),
    ("Hi, status please!", Status),
    ("what's my status?", Status),
    ("What\u2019s my status?", Status),
    ("job status", Status),
    ("status update pls", Status),
    ("Status 1042", Status),
    ("HELP", Help),
    ("help", Help),
    ("Help!", Help),
    ("help me", Help),
    ("INFO", Help),
    ("info?", Help),
    ("EN ROUTE 1042", FreeText),
    ("1042 here", FreeText),
    ("DONE 1042", FreeText),
    ("R 1042 hi", FreeText),
    ("JOBS", FreeText),
    ("Where is my driver?", FreeText),
    ("My status is not right", FreeText),
    ("thank you", FreeText),
    ("Stop by at 3 please", FreeText),
    ("yes please", Confirm),  # answers a reminder; ordinary text (FreeText) without one (decide)
    ("start at 9?", FreeText),
    ("", FreeText),
    ("🚚🚚", FreeText),
]


@pytest.mark.parametrize(("text", "expected"), CUSTOMER)
def test_customer_texts(text, expected):
    command = parse(text, "customer")
    assert type(command) is expected
    assert command.text == text and command.role == "customer"
    assert command.understood == (expected is not FreeText)


@pytest.mark.parametrize(
    "text",
    [
        TOKEN,
        TOKEN.lower(),
        TOKEN.replace("-", ""),
        "  k7m2 9xpq 2htr 4vwa c3df  ",
        "k7m2-9xpq-2htr-4vwa-c3df.",
        "K7M2 9XPQ 2HTR 4VWA C3DF please",
        "my code is k7m2-9xpq-2htr-4vwa-c3df",
        "Status K7M2-9XPQ-2HTR-4VWA-C3DF?",
        "tracking: k7m29xpq2htr4vwac3df",
        "HERE-9XPQ-2HTR-4VWA-C3DF",  # a group that spells a filler word is still a token
    ],
)
def test_customer_token_in_any_form(text):
    token = TOKEN if not text.startswith("HERE") else "HERE-9XPQ-2HTR-4VWA-C3DF"
    assert parse(text, "customer") == TokenQuery(text, "customer", token=token)


@pytest.mark.parametrize(
    "text",
    [
        "K7M2-9XPQ-2HTR-4VWA",
        "K7M2-9XPQ-2HTR-4VWA-C3DF-ABCD",
        "K7M0-9XPQ-2HTR-4VWA-C3DF",
        "is K7M2 9XPQ 2HTR 4VWA C3DF right",
    ],
)
def test_almost_tokens_are_free_text(text):
    assert type(parse(text, "customer")) is FreeText


OPT_OUT = ["STOP", "stop", "Stop!", " STOP ", "stop.", "STOPALL", "Unsubscribe", "CANCEL", "cancel", "END", "quit"]
OPT_OUT += ["REVOKE", "OPTOUT", "optout!", "\tStop\n"]


@pytest.mark.parametrize("role", ["customer", "dispatcher"])
@pytest.mark.parametrize("text", OPT_OUT)
def test_opt_out_keyword_as_the_whole_text_from_anyone(text, role):
    command = parse(text, role)
    assert command == OptOut(text, role, keyword=text.strip(" \t\n.!").upper())


@pytest.mark.parametrize("role", ["customer", "dispatcher"])
@pytest.mark.parametrize("text", ["START", "start", "Unstop", "YES", "yes!", " Yes. "])
def test_opt_in_keyword_as_the_whole_text(text, role):
    assert parse(text, role) == OptIn(text, role, keyword=text.strip(" .!").upper())


@pytest.mark.parametrize(
    ("text", "cancel_request"),
    [
        ("I want to stop", False),
        ("CANCEL JOB", True),
        ("Cancel my trailer please", True),
        ("I need to cancel 1042", True),
        ("can I get a cancellation?", True),
        ("the end", False),
        ("stop at the gate", False),
    ],
)
def test_opt_keywords_inside_a_sentence_are_free_text(text, cancel_request):
    assert parse(text, "customer") == FreeText(text, "customer", cancel_request=cancel_request)


@pytest.mark.parametrize("text", ["please stop texting me", "stop please", "STOP ALL", "quit calling", "BAJA"])
def test_a_customers_stop_phrase_opts_out_with_its_words(text):
    """Not one of Twilio's keywords, so the service opts out and confirms itself (bot/stop_phrases.py)."""
    assert parse(text, "customer") == OptOut(text, "customer", keyword=text, phrase=True)


def test_a_dispatchers_stop_phrase_is_not_an_opt_out():
    assert not isinstance(parse("please stop texting me", "dispatcher"), OptOut)


def test_customer_dispatcher_words_are_never_dispatcher_commands():
    for text in ["EN ROUTE 1042", "omw 1042 15", "DONE 1042 $350", "CANCEL 1042", "R 1042 hi", "1042"]:
        assert type(parse(text, "customer")) is FreeText, text


def test_dispatcher_customer_words_are_not_customer_commands():
    assert type(parse(TOKEN, "dispatcher")) is Unknown
    assert type(parse("Where is my driver?", "dispatcher")) is Unknown
    assert type(parse("INFO", "dispatcher")) is Unknown


def test_control_characters_and_long_text_do_not_break_parsing():
    assert type(parse("STATUS\x00\x07", "customer")) is Status
    assert type(parse("sta\u200btus", "customer")) is FreeText  # we do not guess inside words
    long_text = "Is the trailer coming today? " * 55  # ~1,600 characters
    assert parse(long_text, "customer") == FreeText(long_text, "customer")
    assert type(parse("R 1042 " + long_text, "dispatcher")) is ReplyTo


def test_every_control_or_format_character_reads_as_a_space():
    """Zero-width spaces, BOMs, direction marks, soft hyphens ... around a keyword: it is still the keyword."""
    invisible = [chr(cp) for cp in range(0x110000) if unicodedata.category(chr(cp)) in ("Cc", "Cf")]
    assert len(invisible) > 150
    for ch in invisible:
        assert type(parse(f"{ch}STATUS{ch}", "customer")) is Status, f"U+{ord(ch):04X}"
        assert type(parse(f"STOP{ch}", "customer")) is not FreeText, f"U+{ord(ch):04X}"


def test_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError, match="role"):
        parse("STATUS", "admin")  # type: ignore[arg-type]
