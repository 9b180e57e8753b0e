"""A job's conversation over the dashboard API (bearer-authenticated JSON).

GET  /jobs/{id}/messages  -> {"messages": [...]}, oldest first, relays to dispatchers included
POST /jobs/{id}/messages  {"body"} -> 201 with the queued text (`skipped` if the customer opted out)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import ValidationError
from bot.job_fields import check_characters

# Twilio refuses longer bodies (error 21617); ten segments is already a letter, not a text.
from bot.messages import MAX_BODY_CHARS as MAX_BODY
from handlers.auth import require_api_token
from handlers.jobs import _job_id, json_body
from handlers.services import services
from store import public_message

MESSAGE_REQUEST_FIELDS = {"body"}


def _text_body(data: object) -> str:
    if not isinstance(data, dict):
        raise ValidationError("body", 'the request must be a JSON object like {"body": "..."}')
    unknown = sorted(set(data) - MESSAGE_REQUEST_FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not accepted here; send only body")
    text = data.get("body")
    if not isinstance(text, str):
        raise ValidationError("body", "is required: the text to send")
    # Lines and tabs are fine in a text; other control characters are refused (a CRLF becomes one line break).
    text = check_characters("body", text.strip(), multiline=True)
    if not text:
        raise ValidationError("body", "must not be empty")
    if len(text) > MAX_BODY:
        raise ValidationError("body", f"must be at most {MAX_BODY} characters")
    return text


@require_api_token
async def job_messages(request: Request) -> JSONResponse:
    messages = await services(request).store.job_messages(_job_id(request))
    return JSONResponse({"messages": [public_message(message) for message in messages]})


@require_api_token
async def send_to_customer(request: Request) -> JSONResponse:
    svc = services(request)
    text = _text_body(await json_body(request))
    message = await svc.text_customer(_job_id(request), text, kind="relay")
    return JSONResponse(public_message(message), status_code=201)
