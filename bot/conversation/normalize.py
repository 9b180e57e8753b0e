"""Text clean-up shared by both grammars: case, spaces, trailing punctuation, polite words.

SPEC: "Matching ignores case, surrounding spaces and trailing punctuation,
and forgives polite words". Only matching uses these forms; the body that is
logged and relayed is always the text as received.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Carrier keyword lists (SPEC "Texts the service understands"); Twilio acts on
# them only when they are the whole message, so we match the same way.
OPT_OUT_KEYWORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPT_IN_KEYWORDS = frozenset({"start", "unstop", "yes"})

POLITE_WORDS = frozenset(
    {"please", "pls", "plz", "thanks", "thank", "you", "thankyou", "thx", "ty", "hi", "hello", "hey", "ok", "okay"}
)

_TRAILING_PUNCTUATION = ".!?,;:¡¿…"
_SPACES = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00a0": " "})


def _visible(text: str) -> str:
    """`text` with control and format characters (zero-width spaces, etc.) turned into spaces."""
    if text.isprintable():  # no character of category C* or Z* but the space, so no Cc or Cf: nearly every text
        return text
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)


@lru_cache(maxsize=256)  # one text is squashed by each grammar that reads it (~5 us each, issue #30)
def squash(text: str) -> str:
    """Lower case, one space between words, no surrounding spaces or trailing punctuation.

    "  Stop!! " -> "stop"; "Status please?" -> "status please".
    """
    cleaned = _SPACES.sub(" ", _visible(text.translate(_APOSTROPHES))).strip().lower()
    return cleaned.rstrip(_TRAILING_PUNCTUATION + " ").lstrip(_TRAILING_PUNCTUATION + " ")


def words(squashed: str) -> list[str]:
    """The words of a squashed text, split on spaces and punctuation between words."""
    return [word for word in re.split(r"[\s,;:!?]+", squashed) if word]


def without(tokens: list[str], ignored: frozenset[str]) -> list[str]:
    return [token for token in tokens if token not in ignored]


def whole_keyword(text: str, keywords: frozenset[str]) -> str | None:
    """The keyword (upper-case) when the entire text is one of `keywords`, else None.

    Polite words are not forgiven here: "stop" opts out, "please stop texting
    me" is ordinary text for a person to read, as it is for Twilio.
    """
    squashed = squash(text)
    return squashed.upper() if squashed in keywords else None
