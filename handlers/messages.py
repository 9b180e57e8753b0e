"""A job's conversation over the dashboard API (bearer-authenticated JSON).

GET  /jobs/{id}/messages  -> {"messages": [...], "next_cursor"}, oldest first, relays to dispatchers included
POST /jobs/{id}/messages  {"body"} -> 201 with the queued text (`skipped` if the customer opted out) and its
                          `text` outcome; honours Idempotency-Key (handlers/idempotency.py)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import ValidationError
from bot.job_fields import check_characters

# Twilio refuses longer bodies (error 21617); ten segments is already a letter, not a text.
from bot.messages import MAX_BODY_CHARS as MAX_BODY
from handlers import paging
from handlers.auth import require_api_token
from handlers.idempotency import Retry
from handlers.jobs import _job_id, json_body
from handlers.services import services, text_outcome
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
    # The limit holds for the body as sent (the published schema says so), surrounding spaces included.
    if len(text) > MAX_BODY:
        raise ValidationError("body", f"must be at most {MAX_BODY} characters")
    # Lines and tabs are fine in a text; other control characters are refused (a CRLF becomes one line break).
    text = check_characters("body", text, multiline=True).strip()
    if not text:
        raise ValidationError("body", "must not be empty")
    return text


@require_api_token
async def job_messages(request: Request) -> JSONResponse:
    kind = "job_messages"
    after, limit = paging.cursor_of(request, kind), paging.limit_of(request)
    page = await services(request).store.job_messages_page(_job_id(request), after=after, limit=limit)
    return JSONResponse(
        {"messages": [public_message(message) for message in page.rows], "next_cursor": paging.next_cursor(page, kind)}
    )


@require_api_token
async def send_to_customer(request: Request) -> JSONResponse:
    svc = services(request)
    body = await json_body(request)
    retry = Retry.of(request, body)
    if (first := await retry.first_answer(svc.store)) is not None:
        return first
    text, job_id = _text_body(body), _job_id(request)
    return await retry.respond(
        lambda once: svc.text_customer(job_id, text, kind="relay", once=once),
        lambda message: (201, {**public_message(message), "text": text_outcome(message)}),
    )
