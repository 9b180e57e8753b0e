"""Numbers that cannot take texts, on both backends: Twilio's 30006 / 30005 / 21614 on a send or in a
status callback mark the phone; later texts are skipped with the reason without trying; the dispatchers
are told once per phone per job to call; the job shows `phone_status`; a text from the phone clears it."""

from __future__ import annotations

import pytest

from bot.segments import count_segments
from tests.consent_support import backend_url, live_app, status_report, text_in
from tests.support import CUSTOMER, DISPATCHER, job_body
from tests.twilio_fake import drain

__all__ = ["backend_url"]  # the fixture, used by name

LANDLINE_NOTICE = "Can't text Dana (1001) at (512) 555-0199: landline. Call them."


def texts_to(client, phone: str) -> list[dict]:
    return client.get("/messages", params={"phone": phone}).json()["messages"]


def test_a_landline_answer_on_a_send_marks_the_phone_skips_later_texts_and_tells_the_dispatchers_once(
    tmp_path, backend_url
):
    with live_app(tmp_path, backend_url) as (client, twilio):
        twilio.fail_next(30006)
        job = client.post("/jobs", json=job_body()).json()
        drain(client)
        shown = client.get(f"/jobs/{job['id']}").json()
        client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20})
        client.post(f"/jobs/{job['id']}/messages", json={"body": "Running late, sorry"})
        drain(client)
        customer = [m for m in texts_to(client, CUSTOMER) if m["direction"] == "outbound"]
        dispatcher = texts_to(client, DISPATCHER)
        listed = client.get("/jobs").json()["jobs"]
        tried = [twilio.form(request)["To"] for request in twilio.creates]
    assert shown["phone_status"]["can_text"] is False and shown["phone_status"]["reason"] == "landline"
    assert shown["phone_status"]["since"] >= job["created_at"]
    assert listed[0]["phone_status"] == shown["phone_status"]
    assert [(m["status"], m["error_code"]) for m in customer] == [
        ("failed", 30006),
        ("skipped", None),
        ("skipped", None),
    ]
    assert {m["error_message"] for m in customer[1:]} == {"can't receive texts: landline"}
    assert tried.count(CUSTOMER) == 1  # the later texts never went to Twilio
    assert [m["body"] for m in dispatcher] == [LANDLINE_NOTICE]  # once for this job, however many texts
    assert dispatcher[0]["kind"] == "relay" and dispatcher[0]["job_id"] == job["id"]
    assert count_segments(LANDLINE_NOTICE).encoding == "GSM-7"


def test_a_second_job_for_the_same_landline_tells_the_dispatchers_again_naming_it(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, twilio):
        twilio.fail_next(21614)
        client.post("/jobs", json=job_body())
        drain(client)
        second = client.post("/jobs", json=job_body(customer_name="Dana Whitfield")).json()
        drain(client)
        notices = [m["body"] for m in texts_to(client, DISPATCHER)]
        customer = [m for m in texts_to(client, CUSTOMER) if m["direction"] == "outbound"]
    assert second["phone_status"]["reason"] == "not a mobile number"  # known when it was booked
    assert [m["status"] for m in customer] == ["failed", "skipped"]
    assert notices == [
        "Can't text Dana (1001) at (512) 555-0199: not a mobile number. Call them.",
        "Can't text Dana (1002) at (512) 555-0199: not a mobile number. Call them.",
    ]


@pytest.mark.parametrize(("code", "reason"), [("30006", "landline"), ("30005", "unknown handset")])
def test_a_status_callback_with_the_code_marks_the_phone_and_emits_nothing_twice(tmp_path, backend_url, code, reason):
    with live_app(tmp_path, backend_url) as (client, _):
        job = client.post("/jobs", json=job_body()).json()
        drain(client)
        (booked,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        assert status_report(client, booked, "undelivered", ErrorCode=code) == 204
        assert status_report(client, booked, "undelivered", ErrorCode=code) == 204  # Twilio repeats itself
        drain(client)
        shown = client.get(f"/jobs/{job['id']}").json()
        client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20})
        drain(client)
        customer = [m for m in texts_to(client, CUSTOMER) if m["direction"] == "outbound"]
        notices = [m["body"] for m in texts_to(client, DISPATCHER)]
    assert shown["phone_status"]["reason"] == reason
    assert [m["status"] for m in customer] == ["undelivered", "skipped"]
    assert customer[1]["error_message"] == f"can't receive texts: {reason}"
    assert notices == [f"Can't text Dana (1001) at (512) 555-0199: {reason}. Call them."]


def test_a_text_from_the_marked_phone_clears_the_mark_and_texts_go_again(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, twilio):
        twilio.fail_next(30006)
        job = client.post("/jobs", json=job_body()).json()
        drain(client)
        assert client.get(f"/jobs/{job['id']}").json()["phone_status"] is not None
        text_in(client, "This is my cell, text me here")
        cleared = client.get(f"/jobs/{job['id']}").json()
        client.post(f"/jobs/{job['id']}/status", json={"status": "en_route", "eta_minutes": 20})
        drain(client)
        last = [m for m in texts_to(client, CUSTOMER) if m["direction"] == "outbound" and m["kind"] == "notification"]
    assert cleared["phone_status"] is None
    assert last[-1]["status"] == "queued"  # sent to Twilio again


def test_other_failures_mark_nothing(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, twilio):
        twilio.fail_next(21211)  # an invalid number: that text fails, the phone is not "a landline"
        job = client.post("/jobs", json=job_body()).json()
        drain(client)
        (booked,) = client.get(f"/jobs/{job['id']}/messages").json()["messages"]
        shown = client.get(f"/jobs/{job['id']}").json()
    assert booked["status"] == "failed" and booked["error_code"] == 21211
    assert shown["phone_status"] is None
