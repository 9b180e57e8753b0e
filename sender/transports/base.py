"""One seam for outbound texts: a Transport sends a text or looks one up.

Two transports implement it: Twilio's REST API (sender/transports/twilio.py)
and the console (sender/transports/console.py), the local stand-in when no
Twilio settings are given. Tests check the form Twilio receives through
respx or a local fake, never by patching the SDK.

A failed send is a `SendFailed` whose `outcome` tells the worker what is safe:

- "retry": the text certainly did not go out (429/20429, 5xx, no connection);
- "permanent": Twilio refused it (other 4xx); retrying cannot help;
- "unsure": the request may have reached Twilio (a timeout or a reset after
  it was sent): look it up before doing anything else, never re-send blindly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Accepted:
    """What Twilio (or the console) says about a text it holds."""

    sid: str | None
    status: str  # Twilio's word: queued, accepted, sent, failed, ...
    error_code: int | None = None
    error_message: str | None = None
    created: datetime | None = None


@dataclass(frozen=True)
class Listing:
    """Every text Twilio lists to one phone (from our sender) created in a span, whatever its body.

    `complete`: nothing created in the span can be missing from `texts` -- Twilio's whole list
    for that phone fitted in the one page asked for. Only then can an absence be trusted.
    """

    texts: list[Accepted]
    complete: bool


class SendFailed(Exception):
    """A send or lookup that did not go through; `outcome` says what is safe to do next."""

    def __init__(self, outcome: str, message: str, code: int | None = None, http_status: int | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome  # "retry" | "permanent" | "unsure"
        self.message = message
        self.code = code
        self.http_status = http_status


class Transport(ABC):
    """Where outbound texts go."""

    live: bool  # True when texts reach real phones
    lists_texts = False  # True when `texts_since` can prove a text never reached Twilio

    @abstractmethod
    async def send(self, to: str, body: str, media_urls: Sequence[str] = (), *, message_id: str = "") -> Accepted:
        """Send one text (an MMS with `media_urls`: links the pictures are fetched from); raises SendFailed.

        `message_id` is the queue row's id: Twilio's delivery reports name it (bot/webhook_paths.py)."""

    @abstractmethod
    async def find_sent(self, to: str, body: str, since: datetime) -> list[Accepted]:
        """Texts to `to` with exactly `body`, created since about `since`, oldest first.

        For settling a send whose outcome is unknown; raises SendFailed("retry")
        when the lookup itself fails.
        """

    async def texts_since(self, to: str, since: datetime) -> Listing | None:
        """Every text to `to` created since about `since` (see Listing); raises SendFailed("retry")
        when the lookup fails. None: this transport cannot list texts (the console keeps none), so
        an absence proves nothing."""
        return None

    async def close(self) -> None:  # noqa: B027 -- optional hook, most transports hold nothing
        """Release connections."""
