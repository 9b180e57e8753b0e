"""What Twilio sends the service for one inbound SMS, and how its TwiML answer reads (for `qdn chat`).

The form is the one Twilio POSTs to the messaging webhook, field for field:
https://www.twilio.com/docs/messaging/guides/webhook-request
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence

import phonenumbers

from bot.business_fields import DEFAULT_SLUG
from bot.segments import count_segments
from bot.webhook_paths import OLD_SMS_PATH, sms_path
from cli.api_client import CliError
from config.settings import Settings

TWILIO_API_VERSION = "2010-04-01"
# Twilio's documented magic test number: valid-looking and never a real subscriber.
PLACEHOLDER_BUSINESS_NUMBER = "+15005550006"
PLACEHOLDER_ACCOUNT_SID = "AC" + "0" * 32


def business_number(settings: Settings) -> str:
    """The number the simulated phone texts by default (the default business's: what Twilio sends as `To`)."""
    return settings.twilio_from_number or settings.business_phone or PLACEHOLDER_BUSINESS_NUMBER


def webhook_path(own_number: bool, owner: str | None) -> str:
    """Where Twilio posts a text to the number texted (SPEC "Webhook addresses name the business").

    The settings' own number: `/twilio/default/sms`. Another business's (`owner`, its slug, when
    known): `/twilio/{slug}/sms`. A number whose business is not known here: the older `/twilio/sms`,
    which the service still routes by `To` -- never another business's address, which would take
    the text as that business's whatever `To` says.
    """
    if own_number:
        return sms_path(DEFAULT_SLUG)
    return sms_path(owner) if owner else OLD_SMS_PATH


def _country(phone: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or ""
    except phonenumbers.NumberParseException:
        return ""


def inbound_sms_form(
    settings: Settings, sender: str, body: str, to: str | None = None, media: Sequence[tuple[str, str]] = ()
) -> dict[str, str]:
    """The fields Twilio POSTs for one inbound SMS to `to` (E.164; default `business_number`), a fresh MessageSid each.

    `media`: the (MediaUrl, MediaContentType) of each picture, for an MMS.

    The service routes the text by `To` (or `MessagingServiceSid`) to the business that
    owns the number. The deployment's Messaging Service SID goes with texts to its own
    number only: sent with another business's number it would route them to the default business.
    """
    sid = "SM" + secrets.token_hex(16)
    own_number = business_number(settings)
    to = to or own_number
    form = {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(sender),
        "To": to,
        "ToZip": "",
        "NumSegments": str(max(1, count_segments(body).segments)),
        "MessageSid": sid,
        "AccountSid": settings.twilio_account_sid or PLACEHOLDER_ACCOUNT_SID,
        "From": sender,
        "ApiVersion": TWILIO_API_VERSION,
    }
    form["NumMedia"] = str(len(media))
    for index, (url, kind) in enumerate(media):
        form[f"MediaUrl{index}"] = url
        form[f"MediaContentType{index}"] = kind
    if settings.twilio_messaging_service_sid and to == own_number:
        form["MessagingServiceSid"] = settings.twilio_messaging_service_sid
    return form


def twiml_messages(xml: str) -> list[str]:
    """The bodies of a TwiML <Response>'s <Message> verbs, in order."""
    try:
        # Our own service's answer over a connection we opened; expat refuses
        # external entities and caps entity expansion.
        root = ElementTree.fromstring(xml)  # noqa: S314
    except ElementTree.ParseError:
        raise CliError("the service's reply to the text is not TwiML (XML did not parse)") from None
    if root.tag != "Response":
        raise CliError(f"the service's reply to the text is not TwiML (<{root.tag}> instead of <Response>)")
    bodies = []
    for message in root.iter("Message"):
        body = message.find("Body")
        bodies.append(((body.text if body is not None else message.text) or "").strip())
    return bodies
