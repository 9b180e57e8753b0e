"""Where outbound texts go: Twilio when its settings are complete, else the console."""

from __future__ import annotations

from config.settings import Settings
from sender.transports.base import Accepted, SendFailed, Transport

__all__ = ["Accepted", "SendFailed", "Transport", "make_transport"]


def make_transport(settings: Settings) -> Transport:
    """Twilio when its settings are complete, else the console."""
    if not settings.twilio_live:
        from sender.transports.console import ConsoleTransport

        return ConsoleTransport()
    from sender.transports.twilio import TwilioTransport  # imports the twilio SDK only when it is used

    return TwilioTransport(settings)
