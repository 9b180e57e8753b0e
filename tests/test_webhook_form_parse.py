"""A webhook's form is read exactly as `urllib.parse.parse_qsl` reads it, strictly (issue #30's faster parse).

handlers/twilio/forms.py `form_pairs` must give parse_qsl's fields, or refuse what it refuses,
for any body: Twilio's own, and anything else anyone may post.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import ClientDisconnect, Request

from handlers.twilio.forms import FORM_CONTENT_TYPE, MAX_FIELDS, form_pairs, webhook_form
from tests.twilio_fake import status_callback_form, twilio_form


def _stdlib(body: str) -> list[tuple[str, str]] | str:
    try:
        return parse_qsl(body, keep_blank_values=True, strict_parsing=True, errors="strict", max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as refused:
        return type(refused).__name__


def _ours(body: str) -> list[tuple[str, str]] | str:
    try:
        return form_pairs(body)
    except (UnicodeDecodeError, ValueError) as refused:
        return type(refused).__name__


@pytest.mark.parametrize(
    "body",
    [
        urlencode(twilio_form("+15125550199", "+15125550100", "SM" + "a" * 32, "AC" + "b" * 32, "Stop! café 😀 & <b>")),
        urlencode(status_callback_form("SM" + "c" * 32, "+15125550100", "+15125550199", "AC" + "d" * 32, "read")),
        "", "=", "a", "a=", "=b", "a=1&", "&a=1", "a=1&&b=2", "a==b", "a=1;b=2", "+=+", "a+b=c+d",
        "a=%zz", "a=%2", "a=%C3", "a=%C3%A9", "%61=%62", "a=%2B1512", "a=%252B", "a=1&a=2",
        "&".join(["f=1"] * MAX_FIELDS), "&".join(["f=1"] * (MAX_FIELDS + 1)),
    ],
)  # fmt: skip
def test_known_bodies_are_read_as_parse_qsl_reads_them(body):
    assert _ours(body) == _stdlib(body)


_PIECES = st.sampled_from(["a", "B", "=", "&", "+", "%", "%2B", "%C3", "%A9", "%zz", "%2", ";", " ", "é", "😀", "0"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_PIECES, max_size=24).map("".join))
def test_any_body_is_read_as_parse_qsl_reads_it(body):
    assert _ours(body) == _stdlib(body)


def _request(messages: list[dict[str, object]]) -> Request:
    """A webhook request whose body comes as these ASGI messages (a server splits a big body in several)."""
    pending = iter(messages)

    async def receive() -> dict[str, object]:
        return next(pending)

    headers = [(b"content-type", FORM_CONTENT_TYPE.encode())]
    return Request({"type": "http", "method": "POST", "headers": headers, "path": "/twilio/sms"}, receive)


def test_a_body_in_several_pieces_is_read_whole_and_stays_readable():
    body = urlencode(status_callback_form("SM" + "c" * 32, "+15125550100", "+15125550199", "AC" + "d" * 32, "read"))
    raw = body.encode()
    pieces = [raw[:7], b"", raw[7:40], raw[40:]]
    request = _request([{"type": "http.request", "body": piece, "more_body": True} for piece in pieces[:-1]]
                       + [{"type": "http.request", "body": pieces[-1]}])  # fmt: skip
    form = asyncio.run(webhook_form(request))
    assert list(form.multi_items()) == parse_qsl(body, keep_blank_values=True)
    assert asyncio.run(request.body()) == raw  # read once, kept as Starlette keeps it


def test_a_client_gone_mid_body_is_a_client_disconnect():
    request = _request(
        [{"type": "http.request", "body": b"From=%2B1512", "more_body": True}, {"type": "http.disconnect"}]
    )
    with pytest.raises(ClientDisconnect):  # web/middleware.py logs it as one line
        asyncio.run(webhook_form(request))
