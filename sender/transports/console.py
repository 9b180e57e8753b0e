"""Local development: each text is printed (the simulated phone screen) and counts as sent.

An MMS is printed with the links of its pictures, one a line after the text."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from bot.phones import redact_phone
from sender.transports.base import Accepted, Transport


class ConsoleTransport(Transport):
    """Local development: the text is printed (the simulated phone screen) and counts as sent."""

    live = False

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out

    async def send(self, to: str, body: str, media_urls: Sequence[str] = (), *, message_id: str = "") -> Accepted:
        # Only the last digits of the number: the console often ends up in a log file.
        pictures = "".join(f"[picture] {url}\n" for url in media_urls)  # what the phone would show
        print(f"\n--- text to {redact_phone(to)} ---\n{body}\n{pictures}", file=self.out or sys.stdout, flush=True)
        return Accepted(None, "sent")

    async def find_sent(self, to: str, body: str, since: datetime) -> list[Accepted]:
        return []  # nothing is kept: an interrupted console send is left for a person
