"""A job's conversation over the dashboard API (bearer-authenticated JSON).

GET  /jobs/{id}/messages  -> {"messages": [...], "next_cursor"}, oldest first, relays to dispatchers included
POST /jobs/{id}/messages  {"body", "media"?, "send_at"?} -> 201 with the queued text (`skipped` if the customer
                          opted out) and its `text` outcome; honours Idempotency-Key (handlers/idempotency.py).
                          With `send_at` it is held until then (bot/send_later.py; DELETE: handlers/send_later.py)

`media` (SPEC "Pictures (MMS)"): ids of pictures this business keeps (a message's `media` item
`id`), at most 10, sent with the text as an MMS. With at least one picture the body may be
empty or left out (a picture alone is a text); without, it is required as before. An id this
business's store does not hold -- unknown, malformed, or another business's -- is a 422 naming
`media`, and nothing is queued.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.errors import ValidationError
from bot.job_fields import check_characters, quoted
from bot.media import MAX_PER_TEXT

# Twilio refuses longer bodies (error 21617); ten segments is already a letter, not a text.
from bot.messages import MAX_BODY_CHARS as MAX_BODY
from bot.send_later import parse_send_at
from handlers import paging
from handlers.auth import require_api_token
from handlers.idempotency import Retry, idempotent
from handlers.jobs import _job_id
from handlers.services import Services, services, text_outcome
from store import MediaFile
from store.media import is_media_id

MESSAGE_REQUEST_FIELDS = {"body", "media", "send_at"}


def clock() -> datetime:
    """The time a `send_at` is checked against; tests put a fake clock here."""
    return datetime.now(UTC)


def _request(data: object) -> tuple[str, list[str]]:
    """The text and the picture ids of a POST body (pictures not looked up yet)."""
    if not isinstance(data, dict):
        raise ValidationError("body", 'the request must be a JSON object like {"body": "..."}')
    unknown = sorted(set(data) - MESSAGE_REQUEST_FIELDS)
    if unknown:
        raise ValidationError(unknown[0], "is not accepted here; send body, and media and send_at if any")
    media = _media_ids(data["media"]) if "media" in data else []
    if media and data.get("body", "") == "":
        return "", media  # a picture alone
    return text_body(data, pictures=bool(media)), media


def _media_ids(raw: object) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValidationError("media", 'must be a list of picture ids, e.g. ["Zk3q8Xw1..."]')
    if len(raw) > MAX_PER_TEXT:
        raise ValidationError("media", f"holds at most {MAX_PER_TEXT} pictures")
    if len(set(raw)) != len(raw):
        raise ValidationError("media", "names a picture twice")
    for media_id in raw:
        if not is_media_id(media_id):
            raise ValidationError("media", f"{quoted(media_id)} is not a picture id")
    return raw


async def _pictures(svc: Services, media_ids: list[str]) -> list[dict[str, object]]:
    """The message's `media` items of pictures this business keeps; 422 naming `media` for any other id
    (each business has its own store: another business's id is not found, like an unknown one)."""
    kept: list[MediaFile] = []
    for media_id in media_ids:
        picture = await svc.store.load_media(media_id)
        if picture is None:
            raise ValidationError("media", f"{quoted(media_id)} is no picture of this business")
        kept.append(picture)
    return [{"id": picture.id, "type": picture.content_type, "size": picture.size} for picture in kept]


def text_body(data: dict[str, object], *, pictures: bool = False) -> str:
    text = data.get("body")
    if not isinstance(text, str):
        raise ValidationError("body", "is required: the text to send")
    # The limit holds for the body as sent (the published schema says so), surrounding spaces included.
    if len(text) > MAX_BODY:
        raise ValidationError("body", f"must be at most {MAX_BODY} characters")
    # Lines and tabs are fine in a text; other control characters are refused (a CRLF becomes one line break).
    text = check_characters("body", text, multiline=True).strip()
    if not text and not pictures:
        raise ValidationError("body", "must not be empty")
    return text


@require_api_token
async def job_messages(request: Request) -> JSONResponse:
    kind = "job_messages"
    after, limit = paging.cursor_of(request, kind), paging.limit_of(request)
    svc = services(request)
    page = await svc.store.job_messages_page(_job_id(request), after=after, limit=limit)
    messages = [svc.message_json(message) for message in page.rows]
    return JSONResponse({"messages": messages, "next_cursor": paging.next_cursor(page, kind)})


@require_api_token
@idempotent
async def send_to_customer(request: Request, svc: Services, body: Any, retry: Retry) -> JSONResponse:
    (text, media_ids), job_id = _request(body), _job_id(request)
    # Send later (bot/send_later.py): checked against the clock when asked; a retry is answered above.
    send_at = parse_send_at(body["send_at"], svc.settings.timezone, clock()) if "send_at" in body else None
    media = await _pictures(svc, media_ids)
    return await retry.respond(
        lambda once: svc.text_customer(job_id, text, kind="relay", once=once, media=media, send_at=send_at),
        lambda message: (201, {**svc.message_json(message), "text": text_outcome(message)}),
    )
