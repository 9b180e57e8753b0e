"""Keep tracking tokens and phone numbers out of operational logs.

A tracking token is a bearer credential and a phone number is personal data;
neither belongs in access or application logs (SPEC, HTTP surface). The
message log in the store keeps bodies as sent -- that is the record -- but
anything written to stderr/stdout goes through `web.logging.RedactingFilter`,
which masks every record with `redact` before it is formatted:

- tracking paths: ``/track/<anything>`` and ``/jobs/token/<anything>`` become
  ``[token]``, whatever the token's case, separators or URL-encoding;
- credentials in a query: the value of every parameter whose name says token,
  key, secret, pass(word), pwd, signature, code, auth, credential or session
  (``token=``, ``access_token=``, ``api_key=``, ``X-Amz-Signature=``, in any case
  and however the name is encoded) is never shown: ``[token]`` for a token,
  ``[secret]`` for the rest;
- a picture's private link (bot/media.py): ``/m/<business>/<anything>`` keeps
  the business and becomes ``/m/<business>/[link]`` -- the link opens the picture;
- anything token-shaped elsewhere (20 token symbols, optionally in groups of
  four with ``-``, ``_``, ``.``, space or ``+`` between them);
- phone numbers: E.164 (also ``%2B``-encoded, once or more), US national formats, and bare
  runs of 10-15 digits keep only their last four digits;
- query values (every parameter, not only ``phone``) are URL-decoded first --
  repeatedly, so a value encoded twice (``%252B15125550199``) is read as the
  number it is -- and a number written any way there -- ``%28512%29+555-0199``,
  ``%2B1%20512%20555%200199``, ``1.512.555.0199`` -- is masked the same. A
  value still encoded after MAX_DECODES rounds is not shown at all.

Over-masking (a 10-digit number that was not a phone) is the accepted cost
of never under-masking.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from bot.tokens import ALPHABET

TOKEN_MARK = "[token]"  # noqa: S105 -- the mask, not a secret
SECRET_MARK = "[secret]"  # noqa: S105 -- the mask, not a secret
HIDDEN_MARK = "[encoded]"  # a value encoded more deeply than anyone sends one (see MAX_DECODES)
LINK_MARK = "[link]"

_SYMBOL = f"[{ALPHABET}{ALPHABET.lower()}]"
_SEPARATOR = r"(?:[-_. +]|%20)?"
_TOKEN_SHAPED = re.compile(rf"(?<![A-Za-z0-9])(?:{_SYMBOL}{{4}}{_SEPARATOR}){{4}}{_SYMBOL}{{4}}(?![A-Za-z0-9])")
_TOKEN_PATH = re.compile(r"(/track/|/jobs/token/)[^/?#\s\"']+")
_MEDIA_LINK = re.compile(r"(/m/[^/?#\s\"']+/)[^?#\s\"']+")

_E164 = re.compile(r"(?:\+|%(?:25)*2[Bb])(\d{7,11})(\d{4})(?!\d)")  # `+`, `%2B`, `%252B` ...
_US_NATIONAL = re.compile(r"(?<![\w+])(?:1[-. ])?\(?\d{3}\)?[-. ]?\d{3}[-. ]\d{4}(?!\d)")
_DIGIT_RUN = re.compile(r"(?<![\w+])\d{6,11}(\d{4})(?!\w)")

# One query parameter: its `name=` and its raw (still URL-encoded) value, which may be empty.
_QUERY_PARAM = re.compile(r"([?&;][^=&#?\s\"']*=)([^&#\s\"']*)")
# A parameter name that says its value is a credential (matched in the decoded name, any case).
_SECRET_NAME = re.compile(r"token|key|secret|pass|pwd|signature|code|auth|credential|session", re.IGNORECASE)
# URL-decoding rounds before a value is read: clients and proxies encode a value twice, sometimes
# three times; more than this is not a client's doing, and such a value is hidden rather than read.
MAX_DECODES = 4
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# In a decoded query value, a full number however it is written: 10-15 digits,
# an optional leading `+`, and up to two of space ( ) . - + between digits
# (a `+` left by form encoding is a space).
_PHONE_ANY_FORM = re.compile(r"(?<![\w+])(\+?)\(?\d(?:[\s().+\-]{0,2}\d){9,14}(?!\d)")
_QUERY_SAFE = "+()*,:@/!$"  # kept as they are when the rest of a masked value is re-encoded
# A value with fewer than ten digit characters cannot hold a phone even
# %-encoded (each escaped digit still shows one), so most skip the decoding.
_TEN_DIGITS = re.compile(r"(?:\D*\d){10}")
_NOT_DIGIT = re.compile(r"\D")


def _phone_mask(phone: re.Match[str]) -> str:
    last_four = _NOT_DIGIT.sub("", phone.group(0))[-4:]
    return ("+•••••••" if phone.group(1) else "•••-•••-") + last_four


def decoded(raw: str) -> str | None:
    """`raw` URL-decoded until no %-escape is left; None if one is still there after MAX_DECODES rounds."""
    value = raw
    for _ in range(MAX_DECODES + 1):
        if not _ESCAPE.search(value):
            return value
        value = unquote(value)
    return None


def _mask_query_param(param: re.Match[str]) -> str:
    """`name=value` with a credential's value hidden, or every phone in the decoded value masked.

    Untouched when neither is there, so an ordinary query keeps its encoding.
    """
    name, raw = param.groups()
    plain_name = decoded(name)
    if plain_name is None or _SECRET_NAME.search(plain_name):
        return name + (TOKEN_MARK if plain_name and "token" in plain_name.lower() else SECRET_MARK)
    if not _TEN_DIGITS.match(raw):
        return param.group(0)
    value = decoded(raw)
    if value is None:
        return name + HIDDEN_MARK
    shown, end = [], 0
    for phone in _PHONE_ANY_FORM.finditer(value):
        # The mask goes in as is; the text around it is re-encoded, so the line keeps its query shape.
        shown += [quote(value[end : phone.start()], safe=_QUERY_SAFE), _phone_mask(phone)]
        end = phone.end()
    if not shown:
        return param.group(0)
    return name + "".join(shown) + quote(value[end:], safe=_QUERY_SAFE)


def redact(text: str) -> str:
    """`text` with tracking tokens and phone numbers masked."""
    text = _TOKEN_PATH.sub(rf"\1{TOKEN_MARK}", text)
    if "/m/" in text:
        text = _MEDIA_LINK.sub(rf"\1{LINK_MARK}", text)
    text = _TOKEN_SHAPED.sub(TOKEN_MARK, text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_mask_query_param, text)
    text = _E164.sub(lambda m: "+•••••••" + m.group(2), text)
    text = _US_NATIONAL.sub(lambda m: "•••-•••-" + m.group(0)[-4:], text)
    return _DIGIT_RUN.sub(lambda m: "•••••••" + m.group(1), text)
