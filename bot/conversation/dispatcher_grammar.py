"""The dispatcher's commands: status changes, lookups and R/REPLY relays.

Status changes take a job id and an optional number in either order: "EN ROUTE 1042
20", "1042 en route eta 20", "omw 1042 15 min", "DONE 1042 $1,200.00". A
number marked as an ETA ("eta 20", "20 min") or as money ("$350", "total
350") is that, whatever its place; of the unmarked plain numbers the first is
the job and the second the ETA or total. Anything left over is refused with
an example rather than guessed at, because a wrong guess texts a customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot import jobs
from bot.conversation import texts
from bot.conversation.commands import (
    DISPATCHER,
    Command,
    DayJobs,
    Help,
    Invalid,
    ListJobs,
    ReplyTo,
    SetStatus,
    ShowJob,
    Unknown,
)
from bot.conversation.normalize import POLITE_WORDS, squash
from bot.errors import ValidationError
from bot.job_fields import MAX_ETA_MINUTES, MAX_TOTAL, parse_total
from bot.phones import normalize_phone

# The statuses a dispatcher sets by text ("scheduled" is where a job starts, never a command).
_STATUS_VERBS = {f"_{status}": status for status in ("en_route", "arrived", "complete", "cancelled")}


def _any_of(words: tuple[str, ...]) -> str:
    """A regex for any of `words`, where a space may be spaces, "-" or nothing ("en-route", "onsite")."""
    return "|".join(r"[\s-]*".join(map(re.escape, word.split())) for word in words)


# Multi-word verbs become one word before splitting. The status words are bot.jobs.STATUS_WORDS,
# the spellings the API and `qdn` take too.
_VERB_PHRASES = (
    *(
        (re.compile(rf"\b(?:{_any_of(jobs.STATUS_WORDS[status])})\b"), f" {verb} ")
        for verb, status in _STATUS_VERBS.items()
    ),
    (re.compile(r"\b(?:jobs|list|open)\b"), " _jobs "),
    (re.compile(r"\bstatus\b"), " _status "),
    (re.compile(r"\b(?:help|commands|menu)\b"), " _help "),
    (re.compile(r"\btoday(?:'?s)?(?=\s|$)"), " _today "),
    (re.compile(r"\b(?:tomorrow|tmrw|tmr)(?:'?s)?(?=\s|$)"), " _tomorrow "),
)
# TODAY / TOMORROW, with the word each stands for when it turns out not to be one.
_DAYS = {"_today": (0, "today"), "_tomorrow": (1, "tomorrow")}
_LISTS = frozenset({"_jobs", "_status"})  # "jobs today", "today's jobs", "status tomorrow" are TODAY / TOMORROW too
_VERBS = frozenset({*_STATUS_VERBS, *_DAYS, "_jobs", "_status", "_help"})

_ETA_BEFORE = frozenset({"eta", "in"})
_ETA_AFTER = frozenset({"min", "mins", "minute", "minutes", "m", "mn"})
_TOTAL_BEFORE = frozenset({"total", "for", "$", "amount", "paid"})
_TOTAL_AFTER = frozenset({"dollars", "usd", "bucks"})
_FILLER = frozenset({"job", "#", "the", "is", "of", "now", "at", "to"}) | POLITE_WORDS

_PLAIN_NUMBER = re.compile(r"#?(\d{1,12})")
_MONEY = re.compile(r"\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?|\$?\d+\.\d+|\$\d+")
_GLUED_UNIT = re.compile(r"(\d)(mins?|minutes?|m)\b")

_REPLY = re.compile(
    r"\s*(?:r|reply)(?:\s*[:,.-]\s*|\s+|(?=[#+(\d])|\s*$)(?:to\s+)?(?P<rest>.*)", re.IGNORECASE | re.DOTALL
)


@dataclass
class _Reading:
    """The words of a status change or lookup, sorted by what they are."""

    verbs: list[str] = field(default_factory=list)
    plain: list[str] = field(default_factory=list)  # unmarked whole numbers, in order
    eta: list[str] = field(default_factory=list)  # numbers marked as minutes
    money: list[str] = field(default_factory=list)  # numbers marked as dollars
    unknown: list[str] = field(default_factory=list)


def parse_dispatcher(text: str, *, with_pictures: bool = False) -> Command:
    """A dispatcher's command (opt keywords are handled before this is called).

    `with_pictures`: the text carries pictures, so "R 1042" with no words is complete (the
    pictures are what is sent).
    """
    reply = _REPLY.fullmatch(text)
    if reply:
        return _parse_reply(text, reply.group("rest"), with_pictures)
    reading = _read(squash(text))
    if not reading.verbs and not reading.plain and not reading.eta and not reading.money:
        return Unknown(text, DISPATCHER)
    days = [verb for verb in reading.verbs if verb in _DAYS]
    if days:
        if len(set(days)) == 1 and set(reading.verbs) - _LISTS == set(days):
            if reading.plain or reading.eta or reading.money or reading.unknown:
                return Unknown(text, DISPATCHER)
            return DayJobs(text, DISPATCHER, days_ahead=_DAYS[days[0]][0])
        # Beside another command ("EN ROUTE 1042 today") the day is a word that command does not take.
        reading.verbs = [verb for verb in reading.verbs if verb not in _DAYS]
        reading.unknown += [_DAYS[day][1] for day in days]
        if not reading.verbs:
            return Unknown(text, DISPATCHER)
    verbs = set(reading.verbs)
    if len(verbs) > 1 and verbs != {"_status", "_jobs"}:
        if verbs & set(_STATUS_VERBS):
            return Invalid(text, DISPATCHER, error=texts.ONE_COMMAND)
        return Unknown(text, DISPATCHER)
    verb = reading.verbs[0] if reading.verbs else "_status"
    if verb in _STATUS_VERBS:
        return _set_status(text, _STATUS_VERBS[verb], reading)
    if reading.unknown or reading.eta or reading.money:
        return Unknown(text, DISPATCHER)
    if verb == "_help":
        return Help(text, DISPATCHER) if not reading.plain else Unknown(text, DISPATCHER)
    if not reading.plain:
        return ListJobs(text, DISPATCHER)
    if len(reading.plain) == 1:
        return ShowJob(text, DISPATCHER, job_id=int(reading.plain[0]))
    return Invalid(text, DISPATCHER, error=texts.ONE_JOB_AT_A_TIME.format(example=texts.EXAMPLES["_status"]))


def _read(squashed: str) -> _Reading:
    for phrase, verb in _VERB_PHRASES:
        squashed = phrase.sub(verb, squashed)
    squashed = _GLUED_UNIT.sub(r"\1 \2", squashed)
    reading = _Reading()
    pending: str | None = None  # a marker waiting for its number: "eta" or "total"
    last: list[str] | None = None  # the list the previous word (a number) went to
    for raw in re.split(r"[\s;:=]+|,(?!\d{3})", squashed):
        word = raw.rstrip(".!?")
        after_number, last = last, None
        if not word:
            continue
        if word in _VERBS:
            reading.verbs.append(word)
        elif word in _ETA_BEFORE:
            pending = "eta"
        elif word in _TOTAL_BEFORE:
            pending = "total"
        elif word in _ETA_AFTER and after_number is not None:
            _remark(after_number, reading.eta)
        elif word in _TOTAL_AFTER and after_number is not None:
            _remark(after_number, reading.money)
        elif (plain := _PLAIN_NUMBER.fullmatch(word)) or _MONEY.fullmatch(word):
            if pending == "eta":
                last = reading.eta
            elif pending == "total" or not plain:
                last = reading.money
            else:
                last = reading.plain
            last.append(plain.group(1) if plain else word)
            pending = None
        elif word not in _FILLER:
            reading.unknown.append(word)
    return reading


def _remark(source: list[str], target: list[str]) -> None:
    """Put the number just read in `target`: "20 min" marks 20 as minutes after the fact."""
    if source is not target:
        target.append(source.pop())


def _set_status(text: str, status: str, reading: _Reading) -> Command:
    example = texts.EXAMPLES[status]
    if reading.unknown:
        return Invalid(
            text, DISPATCHER, error=texts.NOT_UNDERSTOOD_WORD.format(word=reading.unknown[0], example=example)
        )
    if not reading.plain:
        return Invalid(text, DISPATCHER, error=texts.WHICH_JOB.format(example=example))
    job_id, *extra = reading.plain
    # The second plain number is the ETA of EN ROUTE or the total of DONE.
    if status == "en_route":
        # "15.5" is a bad ETA, not a total; only "$" makes a number money here.
        reading.eta.extend(extra + [n for n in reading.money if not n.startswith("$")])
        reading.money = [n for n in reading.money if n.startswith("$")]
    elif status == "complete":
        reading.money.extend(extra)
    elif extra:
        return Invalid(text, DISPATCHER, error=texts.ONLY_JOB.format(example=example))
    if len(reading.eta) + len(reading.money) > 1:
        return Invalid(text, DISPATCHER, error=texts.ONE_JOB_AT_A_TIME.format(example=example))
    if (reading.eta and status != "en_route") or (reading.money and status != "complete"):
        return Invalid(text, DISPATCHER, error=texts.ONLY_JOB.format(example=example))
    eta = total = None
    if reading.eta:
        if not reading.eta[0].isdigit() or int(reading.eta[0]) > MAX_ETA_MINUTES:
            return Invalid(text, DISPATCHER, error=texts.BAD_ETA.format(max=MAX_ETA_MINUTES, example=example))
        eta = int(reading.eta[0])
    if reading.money:
        try:
            total = parse_total(reading.money[0])
        except ValidationError:
            return Invalid(text, DISPATCHER, error=texts.BAD_TOTAL.format(max=MAX_TOTAL, example=example))
    return SetStatus(text, DISPATCHER, job_id=int(job_id), status=status, eta_minutes=eta, total=total)


# --- R / REPLY --------------------------------------------------------------

_PHONE_CHUNK = re.compile(r"\s*([+(#]?[\d().\-]*\d\)?)(?=\s|$|[:,])")
_US_GROUPS = ((3, 3, 4), (1, 3, 3, 4), (3, 7))


def _parse_reply(text: str, rest: str, with_pictures: bool = False) -> Command:
    """R/REPLY <job id or phone> <text>; the text is kept exactly as typed (case, punctuation)."""
    ends: list[int] = []
    chunks: list[str] = []
    position = 0
    while len(chunks) < 5 and (chunk := _PHONE_CHUNK.match(rest, position)):
        chunks.append(chunk.group(1))
        position = chunk.end()
        ends.append(position)
    if not chunks:
        return Invalid(text, DISPATCHER, error=texts.REPLY_TARGET)
    for count in range(len(chunks), 0, -1):
        phone = _phone(chunks[:count])
        if phone:
            return _reply(text, rest[ends[count - 1] :], with_pictures, phone=phone)
    job = _PLAIN_NUMBER.fullmatch(chunks[0].lstrip("#"))
    if job is None or len(chunks[0].strip("#")) > 9:
        return Invalid(text, DISPATCHER, error=texts.REPLY_TARGET)
    return _reply(text, rest[ends[0] :], with_pictures, job_id=int(job.group(1)))


def _phone(chunks: list[str]) -> str | None:
    """E.164 if these chunks spell a phone number, read strictly so "R 1042 555 0199" stays a job."""
    candidate = " ".join(chunks)
    digits = [re.sub(r"\D", "", chunk) for chunk in chunks]
    if not candidate.startswith(("+", "(")) and not (
        (len(chunks) == 1 and len(digits[0]) in (10, 11)) or tuple(len(group) for group in digits) in _US_GROUPS
    ):
        return None
    try:
        return normalize_phone(candidate)
    except ValidationError:
        return None


def _reply(
    text: str, after_target: str, with_pictures: bool, *, job_id: int | None = None, phone: str | None = None
) -> Command:
    body = after_target.lstrip(" \t:,-").strip()
    if not body and not with_pictures:
        return Invalid(text, DISPATCHER, error=texts.REPLY_TEXT)
    return ReplyTo(text, DISPATCHER, body=body, job_id=job_id, phone=phone)
