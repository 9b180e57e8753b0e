"""Consent on record through the API, on both backends: how a customer came in, every STOP and START
with the words and the inbound SID, GET /consent for one phone and a page of every phone."""

from __future__ import annotations

from tests.consent_support import backend_url, live_app, text_in
from tests.support import CUSTOMER, job_body
from tests.twilio_fake import drain

__all__ = ["backend_url"]  # the fixture, used by name

OTHER = "+15125550142"
THIRD = "+17375550123"


def consent_of(client, phone: str = "(512) 555-0199", **params: str):
    return client.get("/consent", params={"phone": phone, **params})


def test_a_booking_records_how_consent_was_given_when_and_by_which_token(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, _):
        first = client.post("/jobs", json=job_body(consent="paper_form"))
        second = client.post("/jobs", json=job_body())  # no `consent`: the booking itself
        assert first.status_code == second.status_code == 201
        answer = consent_of(client)  # the phone in another format than it was booked with
    assert answer.status_code == 200
    history = answer.json()
    first_job = first.json()
    assert history["phone"] == CUSTOMER and history["state"] == "opted_in"
    assert history["since"] == history["events"][0]["at"] and history["source"] == "paper_form"
    assert [(e["type"], e["source"], e["by"], e["job_id"]) for e in history["events"]] == [
        ("consent", "paper_form", "token:api", first_job["id"]),
        ("consent", "booking", "token:api", second.json()["id"]),
    ]
    assert history["since"] == first_job["created_at"]  # booked and consented in the same moment
    assert history["next_cursor"] is None


def test_a_consent_the_api_does_not_know_is_refused_naming_the_field_and_books_nothing(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, twilio):
        answers = [client.post("/jobs", json=job_body(consent=value)) for value in ("email", "VERBAL", 5, ["text"])]
        drain(client)
        jobs = client.get("/jobs").json()["jobs"]
        nothing = consent_of(client)
    for answer in answers:
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_error"
        assert answer.json()["error"]["message"].startswith("consent")
        assert "verbal, web_form, paper_form, text, import" in answer.json()["error"]["message"]
    assert jobs == [] and twilio.creates == []
    assert nothing.status_code == 404  # no consent on record: none is made up


def test_stop_and_start_by_text_are_on_record_with_the_words_and_the_inbound_sid(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, _):
        client.post("/jobs", json=job_body(consent="verbal"))
        stop_sid = text_in(client, "stop")
        stopped = consent_of(client).json()
        start_sid = text_in(client, "START")
        started = consent_of(client).json()
    assert stopped["state"] == "opted_out" and stopped["source"] == "STOP"
    opt_out = stopped["events"][-1]
    assert opt_out["type"] == "opt_out" and opt_out["words"] == "stop" and opt_out["sid"] == stop_sid
    assert stopped["since"] == opt_out["at"]
    assert started["state"] == "opted_in" and started["source"] == "START"
    assert [(e["type"], e.get("sid")) for e in started["events"]] == [
        ("consent", None), ("opt_out", stop_sid), ("opt_in", start_sid)
    ]  # fmt: skip
    assert started["events"][-1]["words"] == "START" and started["since"] == started["events"][-1]["at"]


def test_a_21610_from_twilio_on_a_send_is_on_record_as_an_opt_out(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, twilio):
        twilio.fail_next(21610)
        client.post("/jobs", json=job_body())
        drain(client)
        history = consent_of(client).json()
    assert history["state"] == "opted_out"
    assert history["events"][-1]["type"] == "opt_out"
    assert history["events"][-1]["source"] == "Twilio error 21610 on a send"
    assert "sid" not in history["events"][-1]  # no text of theirs to point to


def test_the_history_pages_with_limit_and_cursor(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, _):
        for _ in range(3):
            client.post("/jobs", json=job_body())
        pages = [consent_of(client, limit="2").json()]
        pages.append(consent_of(client, limit="2", cursor=pages[0]["next_cursor"]).json())
        forged = consent_of(client, cursor="eyJsaXN0IjoiY29uc2VudCIsImFmdGVyIjpbIjAiXX0")
    assert [len(page["events"]) for page in pages] == [2, 1]
    assert [e["job_id"] for page in pages for e in page["events"]] == [1001, 1002, 1003]
    assert pages[1]["next_cursor"] is None
    assert forged.status_code == 422 and forged.json()["error"]["message"].startswith("cursor")


def test_without_a_phone_every_phone_is_listed_a_page_at_a_time_no_number_in_a_cursor(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, _):
        for phone in (CUSTOMER, OTHER, THIRD):
            client.post("/jobs", json=job_body(customer_phone=phone, consent="web_form"))
        text_in(client, "STOP", sender=OTHER)
        first = client.get("/consent", params={"limit": "2"}).json()
        second = client.get("/consent", params={"limit": "2", "cursor": first["next_cursor"]}).json()
        wrong_list = client.get("/jobs", params={"cursor": first["next_cursor"]})
    rows = first["phones"] + second["phones"]
    assert sorted(row["phone"] for row in rows) == sorted([CUSTOMER, OTHER, THIRD]) and second["next_cursor"] is None
    assert len(first["phones"]) == 2
    by_phone = {row["phone"]: row for row in rows}
    assert by_phone[OTHER]["state"] == "opted_out" and by_phone[OTHER]["source"] == "STOP"
    assert "texted 'STOP'" in by_phone[OTHER]["evidence"] and "inbound SM" in by_phone[OTHER]["evidence"]
    assert by_phone[CUSTOMER] == {
        "phone": CUSTOMER,
        "state": "opted_in",
        "since": by_phone[CUSTOMER]["since"],
        "source": "web_form",
        "evidence": "web_form; by token:api; job 1001",
    }
    for phone in (CUSTOMER, OTHER, THIRD):
        assert phone[2:] not in first["next_cursor"]
    assert wrong_list.status_code == 422  # a cursor of this list is no other list's


def test_consent_needs_the_bearer_token_and_a_phone_that_is_one(tmp_path, backend_url):
    with live_app(tmp_path, backend_url) as (client, _):
        anonymous = client.get("/consent", params={"phone": CUSTOMER}, headers={"Authorization": ""})
        bad = consent_of(client, phone="not a phone")
        unknown = consent_of(client, phone=THIRD)
    assert anonymous.status_code == 401
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("phone")
    assert unknown.status_code == 404
