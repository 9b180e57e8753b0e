"""Twilio's webhook forms: the body parsed, then decoded once into a typed value.

    form = await webhook_form(request)          # the urlencoded fields (400 if malformed)
    sms = decode(form, InboundSms)              # 400 naming every field missing, or the one malformed

Every webhook goes through the one `decode` (nyaruka/courier's DecodeAndValidateForm over
its typed forms with `validate:"required"` tags), so a missing or malformed field is reported
the same way whichever webhook it is: a 400 that names the field. Each field of a form says
which Twilio field it reads, whether it is required, and how its text is read.
https://www.twilio.com/docs/messaging/guides/webhook-request
https://www.twilio.com/docs/messaging/guides/track-outbound-message-status

Numbers (NumMedia, ErrorCode): Twilio sends them as plain ASCII digits, but anyone can post
a form, and a field must never turn a webhook into a 500. `str.isdigit()` accepts "²", which
`int()` refuses; `int()` accepts "٣" and "１", which no Twilio request carries; and `int()`
of more than 4,300 digits raises ValueError
(https://docs.python.org/3/library/stdtypes.html#int-max-str-digits).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cache, lru_cache
from typing import Any, TypeVar
from urllib.parse import unquote

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request

from bot.errors import BadRequest, ValidationError
from bot.media import MAX_PER_TEXT
from bot.messages import TWILIO_STATUSES
from bot.phones import normalize_e164

Form = ImmutableMultiDict[str, str]
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_FIELDS = 200  # Twilio sends a few dozen at most
MAX_DECLARED_TYPE = 100  # MediaContentType{i} is kept for the log only (the bytes are sniffed); Twilio's are short

# Twilio's numbers are short (NumMedia <= 10, error codes 5 digits); 9 digits leaves room and fits 32 bits.
_PLAIN_NUMBER = re.compile(r"[0-9]{1,9}")  # [0-9], not \d: \d matches every script's digits


async def webhook_form(request: Request) -> Form:
    """The urlencoded form of a webhook; BadRequest (400) for anything malformed, never a 500."""
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type != FORM_CONTENT_TYPE:
        raise BadRequest(f"Expected a {FORM_CONTENT_TYPE} body.")
    try:
        pairs = form_pairs(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):  # bad UTF-8 or percent-escapes, stray "&", too many fields
        raise BadRequest("The form body is malformed.") from None
    return ImmutableMultiDict(pairs)


def form_pairs(body: str) -> list[tuple[str, str]]:
    """What `parse_qsl(body, keep_blank_values=True, strict_parsing=True, errors="strict",
    max_num_fields=MAX_FIELDS)` gives, or raises, in half its time (~8 us of ~16 a webhook, issue #30):
    the same steps, but a part is URL-decoded only when it holds a "+" or a "%"."""
    if not body:
        return []
    if body.count("&") >= MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    pairs = []
    for field_ in body.split("&"):
        name, equals, value = field_.partition("=")
        if not equals:
            raise ValueError(f"bad query field: {field_!r}")
        if "+" in name:
            name = name.replace("+", " ")
        if "%" in name:
            name = unquote(name, errors="strict")
        if "+" in value:
            value = value.replace("+", " ")
        if "%" in value:
            value = unquote(value, errors="strict")
        pairs.append((name, value))
    return pairs


def text(form: Form, name: str) -> str:
    """A field's text, surrounding spaces dropped ("" when absent): what routing reads before the signature check."""
    return form.get(name, "").strip()


def plain_number(raw: str | None) -> int | None:
    """The number in `raw` (surrounding spaces allowed), or None unless it is 1-9 ASCII digits."""
    stripped = (raw or "").strip()
    return int(stripped) if _PLAIN_NUMBER.fullmatch(stripped) else None


# -- reading one field: a parser takes the field's text and returns its value, or raises ValueError(why) ----


@lru_cache(maxsize=8192)
def e164(sender: str) -> str:
    """`From` in E.164, remembered: the same customers text again and again.

    Twilio sends E.164, which normalize_e164 checks against phonenumbers' metadata
    without the full parse (a never-seen phone cost ~13-90 us of parsing, issue #19);
    anything else gets the full parse, and the same answer it always got."""
    try:
        return normalize_e164(sender, "From")
    except ValidationError:
        raise ValueError("is not a phone number") from None


def status_name(reported: str) -> str:
    """A MessageStatus Twilio sends, in lower case; ValueError naming the ones there are."""
    name = reported.lower()
    if name not in TWILIO_STATUSES:
        raise ValueError(f"is not one of: {', '.join(TWILIO_STATUSES)}")
    return name


def twilio_field(name: str, *, required: bool = False, parse: Callable[[str], Any] | None = None,
                 strip: bool = True, default: Any = "") -> Any:  # fmt: skip
    """A form's field read from Twilio's `name`: required (missing or blank: 400), `parse`d (ValueError: 400),
    stripped of surrounding spaces unless `strip` is False; `default` when absent and not required."""
    return field(default=default, metadata={"twilio": name, "required": required, "parse": parse, "strip": strip})


T = TypeVar("T")


def decode(form: Form, kind: type[T]) -> T:
    """`form` as a `kind` (a dataclass of twilio_field()s): the one way a webhook's fields are read.

    BadRequest (400) names every required field missing at once, else the first malformed one
    and why (its text cut short) -- the same words for every webhook. A field with no `twilio` name is left to
    `kind`'s own __post_init__ (an MMS's numbered MediaUrl{i}).
    """
    values: dict[str, Any] = {}
    missing: list[str] = []
    malformed: list[str] = []
    for attribute, name, required, parse, strip in _twilio_fields(kind):  # type: ignore[arg-type]
        raw = form.get(name)
        if raw is not None and strip:
            raw = raw.strip()
        if raw is None or (raw == "" and required):
            if required:
                missing.append(name)
            continue
        try:
            values[attribute] = parse(raw) if parse else raw
        except ValueError as why:
            malformed.append(f"Twilio field {name}: {raw[:40]!r} {why}.")
    if missing:
        raise BadRequest(f"Missing Twilio field(s): {', '.join(missing)}.")
    if malformed:
        raise BadRequest(malformed[0])
    return kind(**values)


@cache
def _twilio_fields(kind: type) -> tuple[tuple[str, str, bool, Callable[[str], Any] | None, bool], ...]:
    """(attribute, Twilio's name, required, parse, strip) of each twilio_field() of `kind`: read once a
    form class, not on every webhook (dataclasses.fields() rebuilds its tuple each call, issue #30)."""
    return tuple(
        (spec.name, meta["twilio"], meta["required"], meta["parse"], meta["strip"])
        for spec in fields(kind)
        if (meta := spec.metadata).get("twilio") is not None
    )


# -- the forms --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    """One picture an MMS names: MediaUrl{i} and the type Twilio declared for it (MediaContentType{i})."""

    url: str
    declared_type: str


@dataclass(frozen=True)
class InboundSms:
    """A text (or MMS) to one of a business's numbers: Twilio's incoming-message webhook."""

    message_sid: str = twilio_field("MessageSid", required=True)
    sender: str = twilio_field("From", required=True, parse=e164)  # in E.164
    to: str = twilio_field("To", required=True)
    body: str = twilio_field("Body", strip=False)  # the words as typed (maybe none: a picture alone)
    num_media: str = twilio_field("NumMedia", strip=False, default="0")  # as Twilio sent it, for the log
    messaging_service_sid: str = twilio_field("MessagingServiceSid")
    # The first min(NumMedia, 10) pictures (a MediaUrl past NumMedia is not one); filled from the form by
    # decode_sms, since their field names are numbered.
    pictures: tuple[Picture, ...] = ()

    @property
    def picture_count(self) -> int:
        """How many pictures the text says it carries (NumMedia, at most MAX_PER_TEXT; not a number: none)."""
        return min(plain_number(self.num_media) or 0, MAX_PER_TEXT)


def decode_sms(form: Form) -> InboundSms:
    """An incoming-message webhook's form, decoded (400 naming the field), with its pictures."""
    sms = decode(form, InboundSms)
    pictures = tuple(
        Picture(text(form, f"MediaUrl{i}"), text(form, f"MediaContentType{i}")[:MAX_DECLARED_TYPE])
        for i in range(sms.picture_count)
    )
    return replace(sms, pictures=pictures) if pictures else sms


@dataclass(frozen=True)
class StatusReport:
    """Twilio's report on a text we sent: its StatusCallback's form."""

    message_sid: str = twilio_field("MessageSid", required=True)
    status: str = twilio_field("MessageStatus", required=True, parse=status_name)  # Twilio's name, lower case
    error_code: int | None = twilio_field("ErrorCode", parse=plain_number, default=None)  # not a number: none
    error_message: str | None = twilio_field("ErrorMessage", strip=False, default=None)

    @property
    def our_status(self) -> str:
        """The status the message log keeps for it (bot/messages.py TWILIO_STATUSES)."""
        return TWILIO_STATUSES[self.status]
