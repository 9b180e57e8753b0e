"""The Twilio channel: every webhook Twilio calls, in one package (nyaruka/courier's handlers/twiml).

    receive.py    POST /twilio/{business}/sms: a text in -> the TwiML answer (and /twilio/sms, by `To`)
    status.py     POST /twilio/{business}/status?m=<id>: a delivery report (and /twilio/status, by SID)
    signature.py  is the webhook signed by the business's key (URL, every field, the key -> yes or no)
    forms.py      the body parsed, then decoded once into InboundSms / StatusReport (400 naming the field)
    facts.py      what the conversation's decision reads, in one store call
    pictures.py   the pictures an MMS names (fetched later, by the sender)

The addresses are spelled in bot/webhook_paths.py, which the sender's StatusCallback is built
from as well (the sender imports nothing of handlers/). `routes` is what web/app.py mounts.
"""

from __future__ import annotations

from starlette.routing import Route

from bot.webhook_paths import OLD_SMS_PATH, OLD_STATUS_PATH, SMS_ROUTE, STATUS_ROUTE
from handlers.twilio import receive, status

routes = [
    Route(SMS_ROUTE, receive.business_sms, methods=["POST"]),
    Route(STATUS_ROUTE, status.business_status, methods=["POST"]),
    Route(OLD_SMS_PATH, receive.inbound_sms, methods=["POST"]),
    Route(OLD_STATUS_PATH, status.status_callback, methods=["POST"]),
]
