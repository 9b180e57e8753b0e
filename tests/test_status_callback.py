"""POST /twilio/status: signed with the real algorithm, raw Twilio bodies, one table of cases."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import respx
from starlette.testclient import TestClient

from config.settings import load_settings
from tests.support import API_TOKEN, CUSTOMER, job_body
from tests.test_sms_webhook import ODD_NUMBERS
from tests.twilio_fake import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    FakeTwilio,
    drain,
    sign,
    twilio_environ,
)
from web.app import create_app

STATUS_URL = f"{PUBLIC_BASE_URL}/twilio/status"
SHARED_KEY = "shared-key-secret-31d9"
SHARED_KEY_SETTINGS = "key=webhooks_sharedkey_8c1f,algorithm=HMAC_SHA256"


def callback(sid: str, status: str, **extra: str) -> dict[str, str]:
    """A status callback body as Twilio sends it."""
    fields = {
        "SmsSid": sid,
        "SmsStatus": status,
        "MessageStatus": status,
        "To": CUSTOMER,
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": FROM_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    fields.update(extra)
    return fields


class App:
    def __init__(self, client: TestClient, twilio: FakeTwilio) -> None:
        self.client = client
        self.twilio = twilio

    def post(self, fields, *, signature="valid", key=AUTH_TOKEN, url=STATUS_URL, query="", headers=None, body=None):
        """POST a callback; `signature` is "valid", "none", or a literal header value."""
        path = "/twilio/status" + (f"?{query}" if query else "")
        sent_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        algorithm = (
            "HMAC_SHA256" if "HMAC_SHA256" in sent_headers.get("X-Twilio-Webhooks-Signature-Settings", "") else None
        )
        if signature == "valid":
            signed_url = url + (f"?{query}" if query else "")
            sent_headers["X-Twilio-Signature"] = sign(signed_url, fields, key, algorithm)
        elif signature != "none":
            sent_headers["X-Twilio-Signature"] = signature
        return self.client.post(path, content=body if body is not None else urlencode(fields), headers=sent_headers)

    def message(self, job_id: int = 1001) -> dict:
        return self.client.get(f"/jobs/{job_id}/messages").json()["messages"][0]

    @property
    def sid(self) -> str:
        return self.message()["twilio_sid"]


@contextlib.contextmanager
def app_with_a_sent_text(tmp_path, **overrides: str) -> Iterator[App]:
    """A live app whose job 1001 has one text Twilio accepted (status queued, SID known)."""
    settings = load_settings(twilio_environ(tmp_path, **overrides), env_file=None)
    with respx.mock(assert_all_called=False) as router:
        twilio = FakeTwilio(router)
        with TestClient(create_app(settings), headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
            client.post("/jobs", json=job_body())
            drain(client)
            app = App(client, twilio)
            assert app.message()["status"] == "queued"
            yield app


SID = "use the SID of job 1001's text"
CASES = [
    # label, fields, post options, expected HTTP status, expected message status, expected error code
    ("sent", callback(SID, "sent"), {}, 204, "sent", None),
    ("delivered", callback(SID, "delivered"), {}, 204, "delivered", None),
    ("sending", callback(SID, "sending"), {}, 204, "sending", None),
    ("accepted is still queued", callback(SID, "accepted"), {}, 204, "queued", None),
    ("undelivered with code only", callback(SID, "undelivered", ErrorCode="30003"), {}, 204, "undelivered", 30003),
    ("failed with message", callback(SID, "failed", ErrorCode="30007", ErrorMessage="Carrier filtered"), {}, 204,
     "failed", 30007),
    ("read", callback(SID, "read"), {}, 204, "read", None),
    ("status in other case", callback(SID, "Delivered"), {}, 204, "delivered", None),
    ("missing signature", callback(SID, "delivered"), {"signature": "none"}, 403, "queued", None),
    ("empty signature", callback(SID, "delivered"), {"signature": ""}, 403, "queued", None),
    ("blank signature", callback(SID, "delivered"), {"signature": "   "}, 403, "queued", None),
    ("wrong key", callback(SID, "delivered"), {"key": "not-the-auth-token"}, 403, "queued", None),
    ("garbage signature", callback(SID, "delivered"), {"signature": "bm90IGEgc2lnbmF0dXJl"}, 403, "queued", None),
    ("signed for the internal URL", callback(SID, "delivered"), {"url": "http://testserver/twilio/status"}, 403,
     "queued", None),
    ("no params", {}, {}, 400, "queued", None),
    ("unknown status", callback(SID, "exploded"), {}, 400, "queued", None),
    ("missing status", {"MessageSid": SID, "AccountSid": ACCOUNT_SID}, {}, 400, "queued", None),
    ("missing sid", {"MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}, {}, 400, "queued", None),
    ("unknown sid", callback("SM" + "0" * 32, "delivered"), {}, 204, "queued", None),
    ("extra fields Twilio adds", callback(SID, "sent", RawDlrDoneDate="2611271832", ChannelPrefix="sms"), {}, 204,
     "sent", None),
    # An ErrorCode no Twilio request carries is no code at all, never a 500.
    *[
        (f"ErrorCode {label}", callback(SID, "undelivered", ErrorCode=value), {}, 204, "undelivered", None)
        for label, value in ODD_NUMBERS.items()
    ],
    ("ErrorCode with spaces around it", callback(SID, "undelivered", ErrorCode=" 30003 "), {}, 204, "undelivered",
     30003),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "fields", "options", "http_status", "status", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_status_callback_cases(tmp_path, label, fields, options, http_status, status, code):
    with app_with_a_sent_text(tmp_path) as app:
        before = app.message()
        fields = {key: (app.sid if value == SID else value) for key, value in fields.items()}
        response = app.post(fields, **options)
        assert response.status_code == http_status, response.text
        after = app.message()
        assert after["status"] == status
        assert after["error_code"] == code
        if http_status == 204:
            assert response.content == b""
        else:
            assert response.json()["error"]["code"] == {400: "bad_request", 403: "forbidden"}[http_status]
            assert after == before  # refused: nothing changed


def test_unknown_status_names_the_allowed_ones(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        message = app.post(callback(app.sid, "exploded")).json()["error"]["message"]
    assert "'exploded'" in message
    for allowed in ("queued", "sending", "sent", "delivered", "undelivered", "failed", "read"):
        assert allowed in message


def test_error_code_alone_is_explained_and_a_given_message_is_kept(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        app.post(callback(app.sid, "undelivered", ErrorCode="30003"))
        assert app.message()["error_message"] == "Unreachable destination handset"
    with app_with_a_sent_text(tmp_path / "b") as app:
        app.post(callback(app.sid, "failed", ErrorCode="30007", ErrorMessage="Carrier filtered"))
        assert app.message()["error_message"] == "Carrier filtered"


def test_unknown_sid_is_answered_204_and_logged(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="qdn.status")
    with app_with_a_sent_text(tmp_path) as app:
        assert app.post(callback("SM" + "e" * 32, "delivered")).status_code == 204
    assert any("unknown message SM" + "e" * 32 in record.getMessage() for record in caplog.records)


def test_a_failed_text_is_logged_and_ordinary_progress_is_not(tmp_path, caplog):
    """The operator's log (INFO) names a text that failed; sent and delivered are in the message log only."""
    caplog.set_level(logging.INFO, logger="qdn.status")
    with app_with_a_sent_text(tmp_path) as app:
        for status in ("sent", "delivered"):
            assert app.post(callback(app.sid, status)).status_code == 204
        assert app.message()["status"] == "delivered"
        assert not [record for record in caplog.records if " -> " in record.getMessage()]
    with app_with_a_sent_text(tmp_path / "b") as app:
        assert app.post(callback(app.sid, "failed", ErrorCode="30007")).status_code == 204
        sid = app.sid
    logged = [record for record in caplog.records if " -> " in record.getMessage()]
    assert [(record.levelno, record.getMessage()) for record in logged] == [
        (logging.INFO, f"message 1001-1 ({sid}): queued -> failed")
    ]


@pytest.mark.parametrize(
    ("sequence", "final"),
    [
        (["delivered", "delivered"], "delivered"),  # duplicate
        (["delivered", "sent"], "delivered"),  # a late "sent" never moves it back
        (["sent", "sending", "queued"], "sent"),
        (["sent", "sent", "delivered", "sent"], "delivered"),
        (["failed", "delivered"], "failed"),  # the first final status stays
        (["undelivered", "failed"], "undelivered"),
        (["delivered", "undelivered"], "delivered"),
        (["delivered", "read"], "read"),  # read may follow delivered
        (["read", "delivered"], "read"),
        (["failed", "read"], "failed"),
    ],
)
def test_out_of_order_and_duplicate_callbacks_never_move_a_message_back(tmp_path, sequence, final):
    with app_with_a_sent_text(tmp_path) as app:
        for status in sequence:
            assert app.post(callback(app.sid, status)).status_code == 204
        assert app.message()["status"] == final


def test_a_duplicate_callback_changes_nothing(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        app.post(callback(app.sid, "delivered"))
        first = app.message()
        assert app.post(callback(app.sid, "delivered")).status_code == 204
        assert app.message() == first


def test_a_late_failure_after_delivery_keeps_no_error(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        app.post(callback(app.sid, "delivered"))
        app.post(callback(app.sid, "failed", ErrorCode="30008"))
        message = app.message()
    assert (message["status"], message["error_code"], message["error_message"]) == ("delivered", None, None)


def test_21610_in_a_callback_records_the_opt_out_and_later_texts_are_skipped(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        app.post(callback(app.sid, "failed", ErrorCode="21610"))
        assert app.message()["error_code"] == 21610
        later = app.client.post("/jobs/1001/messages", json={"body": "Are you home?"})
        assert later.status_code == 201 and later.json()["status"] == "skipped"
        moved = app.client.post("/jobs/1001/status", json={"status": "en_route"})
        assert moved.status_code == 200
        drain(app.client)
        statuses = [m["status"] for m in app.client.get("/jobs/1001/messages").json()["messages"]]
        assert len(app.twilio.creates) == 1
    assert statuses == ["failed", "skipped", "skipped"]


def test_the_signed_url_includes_the_raw_query_string(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        fields = callback(app.sid, "sent")
        assert app.post(fields, query="job=1001&x=%2F").status_code == 204
        unsigned_query = {"X-Twilio-Signature": sign(STATUS_URL, fields)}
        refused = app.client.post(
            "/twilio/status?job=1001",
            content=urlencode(fields),
            headers={"Content-Type": "application/x-www-form-urlencoded", **unsigned_query},
        )
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"MessageSid=SM1&MessageStatus=%ZZsent%ff", "application/x-www-form-urlencoded"),
        (b"MessageSid=SM1&&MessageStatus=sent", "application/x-www-form-urlencoded"),
        (b"\xff\xfe not utf-8", "application/x-www-form-urlencoded"),
        (b'{"MessageSid": "SM1", "MessageStatus": "sent"}', "application/json"),
        (b"--x\r\nContent-Disposition: form-data\r\n", "multipart/form-data; boundary=x"),
        ("&".join(f"F{n}=v" for n in range(500)).encode(), "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_400_never_500(tmp_path, body, content_type):
    with app_with_a_sent_text(tmp_path) as app:
        before = app.message()
        response = app.post({}, body=body, signature="c29tZXRoaW5n", headers={"Content-Type": content_type})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "bad_request"
        assert app.message() == before


def test_an_oversized_callback_is_413(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        response = app.post({}, body=b"Body=" + b"x" * 70_000, signature="c29tZXRoaW5n")
    assert response.status_code == 413


def test_shared_key_hmac_sha256_signatures(tmp_path):
    settings_header = {"X-Twilio-Webhooks-Signature-Settings": SHARED_KEY_SETTINGS}
    with app_with_a_sent_text(tmp_path, TWILIO_WEBHOOK_SHARED_KEY=SHARED_KEY) as app:
        assert app.post(callback(app.sid, "sent"), key=SHARED_KEY, headers=settings_header).status_code == 204
        # The auth token does not sign shared-key requests, and SHA-1 is not SHA-256.
        assert app.post(callback(app.sid, "delivered"), headers=settings_header).status_code == 403
        sha1 = sign(STATUS_URL, callback(app.sid, "delivered"), SHARED_KEY)
        assert app.post(callback(app.sid, "delivered"), signature=sha1, headers=settings_header).status_code == 403
        # Requests without the settings header are still checked against the auth token.
        assert app.post(callback(app.sid, "delivered")).status_code == 204
        assert app.message()["status"] == "delivered"


def test_twilio_may_sign_the_url_with_or_without_its_default_port(tmp_path):
    scheme, _, host = PUBLIC_BASE_URL.partition("://")
    default_port = {"https": 443, "http": 80}[scheme]
    with app_with_a_sent_text(tmp_path) as app:
        with_port = f"{scheme}://{host}:{default_port}/twilio/status"
        assert app.post(callback(app.sid, "sent"), url=with_port).status_code == 204
        other_port = f"{scheme}://{host}:8443/twilio/status"
        assert app.post(callback(app.sid, "delivered"), url=other_port).status_code == 403
        assert app.message()["status"] == "sent"


def test_a_signature_algorithm_twilio_does_not_define_is_refused(tmp_path):
    unknown = {"X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_8c1f,algorithm=HMAC_SHA512"}
    with app_with_a_sent_text(tmp_path, TWILIO_WEBHOOK_SHARED_KEY=SHARED_KEY) as app:
        signature = sign(STATUS_URL, callback(app.sid, "sent"), SHARED_KEY, "HMAC_SHA256")
        response = app.post(callback(app.sid, "sent"), signature=signature, headers=unknown)
        assert response.status_code == 403 and app.message()["status"] == "queued"


def test_a_shared_key_request_is_refused_when_no_shared_key_is_configured(tmp_path):
    settings_header = {"X-Twilio-Webhooks-Signature-Settings": SHARED_KEY_SETTINGS}
    with app_with_a_sent_text(tmp_path) as app:
        response = app.post(callback(app.sid, "sent"), key=AUTH_TOKEN, headers=settings_header)
        assert response.status_code == 403 and app.message()["status"] == "queued"


def test_console_mode_checks_signatures_with_the_local_development_secret(client, settings):
    fields = callback("SM" + "1" * 32, "delivered")
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = sign(f"{settings.public_base_url}/twilio/status", fields, str(settings.webhook_secret))
    ok = client.post("/twilio/status", content=urlencode(fields), headers={**headers, "X-Twilio-Signature": signed})
    assert ok.status_code == 204
    assert client.post("/twilio/status", content=urlencode(fields), headers=headers).status_code == 403


def inbound_text(app: App, sid: str, body: str = "Is the truck close?") -> None:
    """The customer texts the business number (a signed inbound webhook): an inbound row with a SID."""
    fields = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": CUSTOMER, "To": FROM_NUMBER,
              "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"}  # fmt: skip
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers["X-Twilio-Signature"] = sign(f"{PUBLIC_BASE_URL}/twilio/sms", fields)
    assert app.client.post("/twilio/sms", content=urlencode(fields), headers=headers).status_code == 200
    drain(app.client)


def opted_out(app: App, phone: str) -> bool:
    store = app.client.app_state["services"].store
    assert app.client.portal is not None
    return app.client.portal.call(store.is_opted_out, phone)


@pytest.mark.parametrize("status", ["failed", "undelivered", "delivered"])
def test_a_callback_naming_an_inbound_text_opts_nobody_out_and_changes_nothing(tmp_path, status):
    """21610 is about a text we sent and its recipient; an inbound text is `received` for good."""
    sid = "SM" + "5b" * 16
    with app_with_a_sent_text(tmp_path) as app:
        inbound_text(app, sid)
        (received,) = [m for m in app.client.get("/jobs/1001/messages").json()["messages"] if m["twilio_sid"] == sid]
        assert app.post(callback(sid, status, ErrorCode="21610", To=FROM_NUMBER, From=CUSTOMER)).status_code == 204
        (after,) = [m for m in app.client.get("/jobs/1001/messages").json()["messages"] if m["twilio_sid"] == sid]
        assert after == received  # still `received`, no error recorded
        assert not opted_out(app, FROM_NUMBER)  # the business's own number
        assert not opted_out(app, CUSTOMER)
        later = app.client.post("/jobs/1001/messages", json={"body": "On our way"})
        assert later.json()["status"] == "pending"  # the customer is still texted


def test_21610_opts_out_the_recipient_of_the_text_we_sent(tmp_path):
    with app_with_a_sent_text(tmp_path) as app:
        app.post(callback(app.sid, "undelivered", ErrorCode="21610", To=CUSTOMER, From=FROM_NUMBER))
        assert opted_out(app, CUSTOMER) and not opted_out(app, FROM_NUMBER)


def test_the_message_named_in_the_query_is_read_as_starlette_reads_it():
    """`m` as Request.query_params.get reads it: the last one, %- and +-decoded, blank kept."""
    from starlette.datastructures import QueryParams

    from handlers.twilio.status import _message_param

    for query in (b"m=1042", b"m=1042&m=7", b"m=%31%30%34%32", b"m=+1042+", b"m=", b"x=1", b"", b"m=\xb2", b"m=1;m=2"):
        assert _message_param(query) == QueryParams(query).get("m", ""), query
