"""Transports: the httpx client under the twilio SDK, error classification, lookups, the console."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import httpx
import pytest
import respx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException

from config.settings import load_settings
from sender.transports import SendFailed, make_transport
from sender.transports.console import ConsoleTransport
from sender.transports.twilio import DEFAULT_TIMEOUT, HttpxTwilioClient, TwilioTransport, classify
from tests.support import CUSTOMER
from tests.twilio_fake import (
    ACCEPTED_THEN_TIMEOUT,
    API_KEY,
    API_SECRET,
    FROM_NUMBER,
    MESSAGES_PATH,
    MESSAGING_SERVICE_SID,
    FakeTwilio,
    basic_auth,
    message_json,
    page_json,
    status_callback_url,
    twilio_environ,
)


def settings_for(tmp_path, **overrides):
    return load_settings(twilio_environ(tmp_path, **overrides), env_file=None)


def run(coro):
    return asyncio.run(coro)


async def send_once(transport: TwilioTransport, body: str = "Hi Dana") -> object:
    try:
        return await transport.send(CUSTOMER, body, message_id="1042")
    finally:
        await transport.close()


def test_twilio_receives_exactly_the_form_and_api_key_auth(tmp_path):
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        accepted = run(send_once(TwilioTransport(settings_for(tmp_path)), "Hi Dana, 20 min"))
    (request,) = twilio.creates
    assert request.method == "POST" and request.url == twilio.url
    assert request.headers["authorization"] == basic_auth(API_KEY, API_SECRET)
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert twilio.form(request) == {
        "To": CUSTOMER,
        "From": FROM_NUMBER,
        "Body": "Hi Dana, 20 min",
        "StatusCallback": status_callback_url("1042"),  # its business and the message: SPEC
    }
    assert accepted.sid == twilio.held[0]["sid"] and accepted.status == "queued"


def test_base_url_rewrites_only_twilios_api_origin():
    client = HttpxTwilioClient("http://127.0.0.1:4010/mock/")
    assert client.rewrite("https://api.twilio.com/2010-04-01/x.json") == "http://127.0.0.1:4010/mock/2010-04-01/x.json"
    assert client.rewrite("https://api.twilio.com.evil.test/x") == "https://api.twilio.com.evil.test/x"
    assert client.rewrite("https://messaging.twilio.com/v1/x") == "https://messaging.twilio.com/v1/x"
    assert HttpxTwilioClient(None).rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"
    run(client.close())


def test_the_http_client_has_timeouts():
    client = HttpxTwilioClient()
    assert client._client.timeout == DEFAULT_TIMEOUT
    assert DEFAULT_TIMEOUT.connect and DEFAULT_TIMEOUT.read and DEFAULT_TIMEOUT.pool
    assert client.is_async and client.timeout == DEFAULT_TIMEOUT.read
    run(client.close())


def test_a_local_mock_at_twilio_api_base_url_gets_the_send(tmp_path):
    settings = settings_for(tmp_path, TWILIO_API_BASE_URL="http://127.0.0.1:4010")
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router, origin="http://127.0.0.1:4010")
        run(send_once(TwilioTransport(settings)))
    assert twilio.creates[0].url == f"http://127.0.0.1:4010{MESSAGES_PATH}"


def test_messaging_service_replaces_from(tmp_path):
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        run(send_once(TwilioTransport(settings_for(tmp_path, TWILIO_MESSAGING_SERVICE_SID=MESSAGING_SERVICE_SID))))
    form = twilio.form(twilio.creates[0])
    assert form["MessagingServiceSid"] == MESSAGING_SERVICE_SID and "From" not in form


@pytest.mark.parametrize(
    ("failure", "outcome", "code"),
    [
        (20429, "retry", 20429),
        (500, "retry", 500),
        (503, "retry", 503),
        (21211, "permanent", 21211),
        (21408, "permanent", 21408),
        (21610, "permanent", 21610),
        (21614, "permanent", 21614),
        (30006, "permanent", 30006),
        (httpx.ConnectError, "retry", None),
        (httpx.ConnectTimeout, "retry", None),
        (httpx.PoolTimeout, "retry", None),
        (httpx.ReadTimeout, "unsure", None),
        (httpx.WriteTimeout, "unsure", None),
        (httpx.RemoteProtocolError, "unsure", None),
        (httpx.ReadError, "unsure", None),
        (ACCEPTED_THEN_TIMEOUT, "unsure", None),
    ],
)
def test_each_failure_says_whether_a_retry_is_safe(tmp_path, failure, outcome, code):
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        twilio.fail_next(failure)
        with pytest.raises(SendFailed) as failed:
            run(send_once(TwilioTransport(settings_for(tmp_path))))
    assert failed.value.outcome == outcome
    assert failed.value.code == code
    assert failed.value.message and "Unable to create record" not in failed.value.message


def test_a_2xx_that_is_not_json_is_unsure(tmp_path):
    with respx.mock(assert_all_called=False) as router:
        router.post(url__regex=r".*/Messages\.json").respond(201, content=b"<html>proxy page</html>")
        with pytest.raises(SendFailed) as failed:
            run(send_once(TwilioTransport(settings_for(tmp_path))))
    assert failed.value.outcome == "unsure"


def test_classify_handles_429_without_a_twilio_code_and_rfc9457_errors():
    plain_429 = TwilioRestException(429, "/Messages.json", "Too Many Requests", None)
    assert classify(plain_429).outcome == "retry" and classify(plain_429).code == 429
    service = TwilioServiceException("https://x", "Invalid To", 400, 21211, detail="bad To number")
    refused = classify(service)
    assert (refused.outcome, refused.code, refused.message) == ("permanent", 21211, "bad To number")


def test_find_sent_matches_body_and_recipient_and_skips_old_texts(tmp_path):
    since = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    held = [
        message_json(
            "SM1", {"To": CUSTOMER, "From": FROM_NUMBER, "Body": "On our way"}, "sent", since - timedelta(days=2)
        ),
        message_json("SM2", {"To": CUSTOMER, "From": FROM_NUMBER, "Body": "On our way"}, "queued", since),
        message_json("SM3", {"To": CUSTOMER, "From": FROM_NUMBER, "Body": "Something else"}, "queued", since),
    ]
    with respx.mock(assert_all_called=False) as router:
        lookup = router.get(url__regex=r".*/Messages\.json").respond(200, json=page_json(held[::-1]))
        transport = TwilioTransport(settings_for(tmp_path))

        async def find():
            try:
                return await transport.find_sent(CUSTOMER, "On our way", since)
            finally:
                await transport.close()

        found = run(find())
    assert [(a.sid, a.status) for a in found] == [("SM2", "queued")]
    params = lookup.calls.last.request.url.params
    assert params["To"] == CUSTOMER and params["From"] == FROM_NUMBER and "DateSent" not in str(params)


def test_find_sent_failure_is_a_retry(tmp_path):
    with respx.mock(assert_all_called=False) as router:
        router.get(url__regex=r".*/Messages\.json").mock(side_effect=httpx.ConnectError)
        transport = TwilioTransport(settings_for(tmp_path))
        with pytest.raises(SendFailed) as failed:
            run(transport.find_sent(CUSTOMER, "x", datetime.now(UTC)))
        run(transport.close())
    assert failed.value.outcome == "retry"


def test_console_prints_the_text_with_a_masked_number_and_reports_it_sent():
    out = io.StringIO()
    accepted = run(ConsoleTransport(out).send(CUSTOMER, "QuickDumpNow: Hi Dana"))
    assert accepted.status == "sent" and accepted.sid is None
    assert out.getvalue() == "\n--- text to +1•••••••0199 ---\nQuickDumpNow: Hi Dana\n\n"
    assert run(ConsoleTransport(out).find_sent(CUSTOMER, "x", datetime.now(UTC))) == []


def test_make_transport_follows_the_settings(tmp_path, settings):
    assert isinstance(make_transport(settings), ConsoleTransport)
    live = make_transport(settings_for(tmp_path))
    assert isinstance(live, TwilioTransport) and live.live
    run(live.close())


def test_an_mms_repeats_media_url_once_per_picture_in_order(tmp_path):
    links = ["https://sms.example.test/m/default/AAA.k1.s1", "https://sms.example.test/m/default/BBB.k2.s2"]

    async def send_mms(transport: TwilioTransport) -> object:
        try:
            return await transport.send(CUSTOMER, "Delivered here", media_urls=links, message_id="1043")
        finally:
            await transport.close()

    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        run(send_mms(TwilioTransport(settings_for(tmp_path))))
    (request,) = twilio.creates
    assert sorted(parse_qsl(request.content.decode())) == [
        ("Body", "Delivered here"),
        ("From", FROM_NUMBER),
        ("MediaUrl", links[0]),
        ("MediaUrl", links[1]),
        ("StatusCallback", status_callback_url("1043")),
        ("To", CUSTOMER),
    ]
    assert [value for key, value in parse_qsl(request.content.decode()) if key == "MediaUrl"] == links


def test_console_prints_an_mms_with_its_picture_links():
    out = io.StringIO()
    run(ConsoleTransport(out).send(CUSTOMER, "Delivered here", media_urls=["http://127.0.0.1:8000/m/default/A.b.c"]))
    assert out.getvalue() == (
        "\n--- text to +1•••••••0199 ---\nDelivered here\n[picture] http://127.0.0.1:8000/m/default/A.b.c\n\n"
    )
