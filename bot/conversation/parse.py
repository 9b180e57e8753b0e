"""`parse(text, role)`: what an inbound text means, by who sent it.

The role decides the grammar: a customer texting "EN ROUTE 1042" is just
talking to us (free text), and a dispatcher's "1042 here" is never read as a
customer's words. Opt-out and opt-in keywords mean the same from anyone
(SPEC: a dispatcher's own bare opt-out keyword opts that phone out).
"""

from __future__ import annotations

import re

from bot.conversation import dispatcher_grammar
from bot.conversation.commands import (
    CUSTOMER,
    DISPATCHER,
    Command,
    Confirm,
    FreeText,
    Help,
    OptIn,
    OptOut,
    RescheduleRequest,
    Role,
    Status,
    TokenQuery,
)
from bot.conversation.normalize import (
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    POLITE_WORDS,
    squash,
    whole_keyword,
    without,
    words,
)
from bot.stop_phrases import asks_to_stop
from bot.tokens import normalize_token

HELP_WORDS = frozenset({"help", "info"})
# Words people put around STATUS: "what's my status", "job status update", "status 1042".
_STATUS_FILLER = frozenset(
    {"what", "whats", "what's", "is", "my", "the", "of", "on", "check", "job", "jobs", "order", "current", "update"}
    | {"can", "could", "i", "get", "a", "me", "for", "your", "our"}
)
# Words people put around a tracking token: "my code is K7M2-...", "track K7M2...".
_TOKEN_FILLER = frozenset({"my", "code", "token", "tracking", "track", "is", "job", "status", "number", "the", "link"})
_JOB_NUMBER = re.compile(r"#?\d{1,9}")
# A customer asking for a cancellation in words rather than with a bare CANCEL.
_CANCEL_REQUEST = re.compile(r"\bcancel(l?ed|l?ing|lation)?\b")
PHRASE_KEPT = 160  # how much of a stop phrase the phone's state keeps as its words
# A confirmation (SPEC "Confirmations and reviews"): the whole text, polite words forgiven ("C thanks").
# YES alone is an opt-in keyword and parses as OptIn; decide() reads it as a confirmation when not opted out.
CONFIRM_WORDS = frozenset({"c", "confirm", "confirmed", "y", "yes", "yep", "yeah", "\U0001f44d"})
# Skin tones and the emoji presentation selector, so every thumbs up is the same 👍.
_EMOJI_MODIFIERS = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
# A short text asking to move the appointment: "RESCHEDULE", "change", "can we move it?", "need another day".
_RESCHEDULE_REQUEST = re.compile(
    r"\b(re-?schedul\w*|change|move|moving|postpone|push (it |this )?back|another (day|time)|different (day|time))\b"
)
_RESCHEDULE_MAX_WORDS = 12  # longer texts are read by a person as they are (still relayed)


def parse(text: str, role: Role, *, with_pictures: bool = False) -> Command:
    """The command `text` carries when sent by a `role` ("customer" or "dispatcher").

    `with_pictures`: the text carries pictures we keep, which completes a dispatcher's "R 1042"
    with no words (decide() treats a customer's pictures; the words parse as ever).

    Never raises: anything not understood is FreeText (customer) or Unknown
    (dispatcher), and a dispatcher command with a bad number is Invalid with
    an error saying why.
    """
    if role not in (CUSTOMER, DISPATCHER):
        raise ValueError(f"role must be {CUSTOMER!r} or {DISPATCHER!r}, not {role!r}")
    if keyword := whole_keyword(text, OPT_OUT_KEYWORDS):
        return OptOut(text, role, keyword=keyword)
    if keyword := whole_keyword(text, OPT_IN_KEYWORDS):
        return OptIn(text, role, keyword=keyword)
    if role == CUSTOMER and asks_to_stop(text):  # Twilio does not block these: the service opts them out
        return OptOut(text, role, keyword=" ".join(text.split())[:PHRASE_KEPT], phrase=True)
    if role == DISPATCHER:
        return dispatcher_grammar.parse_dispatcher(text, with_pictures=with_pictures)
    return _parse_customer(text)


def _parse_customer(text: str) -> Command:
    squashed = squash(text)
    tokens = without(words(squashed), POLITE_WORDS)
    if len(tokens) in (1, 2) and tokens[0] in HELP_WORDS and tokens[1:] in ([], ["me"]):
        return Help(text, CUSTOMER)
    token = _token_in(squashed, tokens)
    if token is not None:
        return TokenQuery(text, CUSTOMER, token=token)
    if _is_status(tokens):
        return Status(text, CUSTOMER)
    if len(tokens) == 1 and _EMOJI_MODIFIERS.sub("", tokens[0]) in CONFIRM_WORDS:
        return Confirm(text, CUSTOMER)
    if _RESCHEDULE_REQUEST.search(squashed) and len(tokens) <= _RESCHEDULE_MAX_WORDS:
        return RescheduleRequest(text, CUSTOMER)
    return FreeText(text, CUSTOMER, cancel_request=bool(_CANCEL_REQUEST.search(squashed)))


def _token_in(squashed: str, tokens: list[str]) -> str | None:
    """The canonical token when the text is a token, maybe wrapped in polite or filler words."""
    # The bare text first: a token group could itself spell a filler word ("HERE").
    for candidate in (squashed, " ".join(tokens), " ".join(without(tokens, _TOKEN_FILLER))):
        if candidate and (token := normalize_token(candidate)) is not None:
            return token
    return None


def _is_status(tokens: list[str]) -> bool:
    if "status" not in tokens:
        return False
    rest = [word for word in without(tokens, _STATUS_FILLER) if word != "status"]
    # "status 1042": customers may name a job; they still only see their own jobs.
    return all(_JOB_NUMBER.fullmatch(word) for word in rest) and len(rest) <= 1
