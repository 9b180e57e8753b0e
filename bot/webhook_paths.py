"""The addresses Twilio calls the service at: the one place they are spelled.

web/app.py routes these paths to the Twilio channel (handlers/twilio/), and the sender gives every
text it sends `StatusCallback = PUBLIC_BASE_URL + status_callback_path(business, message id)`
(sender/transports/twilio.py), so a callback names its business and its message and finds the
route that receives it. Here, below both, because the sender and the handlers import nothing of
each other (the layers in pyproject.toml) -- as bot/media.py's `link_path` is for picture links.

The first two addresses (before businesses had their own) still route by `To` and by SID.
"""

from __future__ import annotations

from urllib.parse import quote

SMS_ROUTE = "/twilio/{business}/sms"  # a business's number (or Messaging Service) is configured with this
STATUS_ROUTE = "/twilio/{business}/status"  # ...and every text it sends names this, with ?m=<message id>
MESSAGE_PARAM = "m"  # the query parameter naming the message a status callback reports on
OLD_SMS_PATH = "/twilio/sms"  # routed by `To` (or MessagingServiceSid)
OLD_STATUS_PATH = "/twilio/status"  # routed by MessageSid


def sms_path(business: str) -> str:
    """Where Twilio posts the texts sent to `business`'s numbers: paste PUBLIC_BASE_URL + this into Twilio."""
    return SMS_ROUTE.format(business=quote(business, safe=""))


def status_callback_path(business: str, message_id: str) -> str:
    """The StatusCallback (after PUBLIC_BASE_URL) of `business`'s text `message_id`."""
    return STATUS_ROUTE.format(business=quote(business, safe="")) + f"?{MESSAGE_PARAM}={quote(message_id, safe='')}"
