"""The inbox's "Send again" for an `unknown` text, on TinyDB and PostgreSQL.

The button calls the same path as POST /jobs/{id}/messages/{message id}/resend (handlers/resend.py
`resend_text`): one new text with `resend_of`, never two, and nothing without the CSRF token.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.testclient import TestClient

from sender.attempt import UNKNOWN_REASON
from tests.support import CUSTOMER
from tests.test_inbox import api, book, client, conversation_links, environ, log_in, post, texts_to
from tests.test_resend import make_unknown

__all__ = ["client", "environ"]  # the fixtures, from tests/test_inbox.py

SEND_AGAIN = ">Send again</button>"


def a_conversation_with_an_unknown_text(client: TestClient) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """A job, its text left `unknown` by the sender, a logged-in dispatcher: (job, text, link, csrf)."""
    job = book(client)
    sent = client.post(f"/jobs/{job['id']}/messages", json={"body": "Running 10 minutes late"}, headers=api(client))
    assert sent.status_code == 201, sent.text
    make_unknown(client, sent.json()["id"])
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    return job, sent.json(), link, csrf


def resends_of(client: TestClient, message_id: str) -> list[dict[str, Any]]:
    return [m for m in texts_to(client, CUSTOMER) if m.get("resend_of") == message_id]


def test_only_an_unknown_text_shows_its_reason_and_the_send_again_button(client: TestClient) -> None:
    book(client)
    log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    assert SEND_AGAIN not in client.get(link).text  # the booking text is queued, not unknown
    job = book(client)
    sent = client.post(f"/jobs/{job['id']}/messages", json={"body": "Late, sorry"}, headers=api(client)).json()
    make_unknown(client, sent["id"])
    page = client.get(link).text
    assert page.count(SEND_AGAIN) == 1
    assert f'name="message" value="{sent["id"]}"' in page
    assert f"unknown: {html.escape(UNKNOWN_REASON)}" in page


def test_send_again_queues_one_new_text_and_a_second_press_sends_nothing(client: TestClient) -> None:
    job, unknown, link, csrf = a_conversation_with_an_unknown_text(client)
    form = {"csrf": csrf, "job": str(job["id"]), "message": unknown["id"]}
    answer = post(client, f"{link}/resend", form)
    assert answer.status_code == 303 and answer.headers["location"].startswith(link)
    (resent,) = resends_of(client, unknown["id"])
    assert (resent["body"], resent["job_id"]) == ("Running 10 minutes late", job["id"])
    assert resent["status"] in ("pending", "sent")  # queued (the test's sender may have sent it already)
    page = client.get(link).text
    assert SEND_AGAIN not in page and "Sent again" in page
    assert page.count("Running 10 minutes late") == 2  # the unknown one and the new pending one
    assert post(client, f"{link}/resend", form).status_code == 303  # pressed twice (two tabs)
    assert len(resends_of(client, unknown["id"])) == 1
    # the API answers the inbox's resend as its own: the same text
    again = client.post(f"/jobs/{job['id']}/messages/{unknown['id']}/resend", headers=api(client))
    assert again.status_code == 201 and again.json()["id"] == resent["id"]


def test_send_again_of_a_text_that_is_not_unknown_is_refused_with_the_reason(client: TestClient) -> None:
    job, unknown, link, csrf = a_conversation_with_an_unknown_text(client)
    booked = next(m for m in texts_to(client, CUSTOMER) if m["id"] != unknown["id"])
    answer = post(client, f"{link}/resend", {"csrf": csrf, "job": str(job["id"]), "message": booked["id"]})
    assert answer.status_code == 400 and "not unknown" in answer.text
    missing = post(client, f"{link}/resend", {"csrf": csrf, "job": str(job["id"]), "message": "nope"})
    assert missing.status_code == 404
    assert resends_of(client, unknown["id"]) == resends_of(client, booked["id"]) == []


def test_send_again_without_the_csrf_token_is_refused_and_sends_nothing(client: TestClient) -> None:
    job, unknown, link, csrf = a_conversation_with_an_unknown_text(client)
    form = {"job": str(job["id"]), "message": unknown["id"]}
    assert post(client, f"{link}/resend", form).status_code == 403
    assert post(client, f"{link}/resend", {**form, "csrf": "forged"}).status_code == 403
    assert post(client, f"{link}/resend", {**form, "csrf": csrf}, origin="https://evil.example").status_code == 403
    assert resends_of(client, unknown["id"]) == []
