"""The webhook's TwiML answer is written by hand (handlers/twilio/receive.py `twiml`, issue #30):
it must stay byte for byte what Twilio's SDK writes for the same reply, whatever the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from twilio.twiml.messaging_response import MessagingResponse

from handlers.twilio.receive import twiml


def sdk_twiml(reply: str | None) -> bytes:
    """What the answer was when the SDK built it: str(MessagingResponse) as the Response's UTF-8 body."""
    answer = MessagingResponse()
    if reply:
        answer.message(reply)
    return str(answer).encode("utf-8")


# Every code point, lone surrogates included (the SDK writes one as a character reference).
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))
PIECES = ["&", "<", ">", '"', "'", "&amp;", "]]>", "<!--", "\n", "\r", "\t", "é", "a", " ", "\ud800", "\U0001f69a"]
MARKUP = st.lists(st.sampled_from(PIECES)).map("".join)  # what escaping could get wrong, densely


@given(st.one_of(ANY_TEXT, MARKUP))
def test_the_answer_is_the_sdks_for_any_text(reply):
    response = twiml(reply)
    assert response.body == sdk_twiml(reply)
    assert response.media_type == "text/xml"


def test_no_answer_is_an_empty_response():
    for reply in (None, ""):
        assert twiml(reply).body == sdk_twiml(reply) == b'<?xml version="1.0" encoding="UTF-8"?><Response />'


def test_markup_in_a_reply_is_escaped_as_text():
    body = twiml('Tom & Jerry <b>"hi"</b>').body
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
        b'Tom &amp; Jerry &lt;b&gt;"hi"&lt;/b&gt;</Message></Response>'
    )
