"""The tracking page as HTML (no browser): content per status, texts, 404/429 pages, no inline code."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.track import POLL_SECONDS
from tests import test_track_api
from tests.support import CUSTOMER, DISPATCHER, eventually
from tests.test_track_api import UNKNOWN_TOKEN, add_text, assert_nothing_private, call, create, move, services_of

# The same fixtures as the API tests: an app whose token-miss limiter runs on a fake clock.
client = test_track_api.client
clock = test_track_api.clock

CHICAGO = ZoneInfo("America/Chicago")  # TIMEZONE in tests.support.base_environ


class Page(HTMLParser):
    """Just enough of the DOM for assertions: elements with their attributes and text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(element)
        if tag not in ("meta", "link", "br", "img", "input"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def find(self, tag: str | None = None, **attrs: str) -> list[dict[str, Any]]:
        def has(element: dict[str, Any], name: str, value: str) -> bool:
            actual = element["attrs"].get(name.rstrip("_").replace("_", "-"))
            if name.startswith("class"):
                return actual is not None and value in actual.split()
            return actual == value

        return [
            e
            for e in self.elements
            if (tag is None or e["tag"] == tag) and all(has(e, name, value) for name, value in attrs.items())
        ]

    def text(self, tag: str | None = None, **attrs: str) -> str:
        (element,) = self.find(tag, **attrs)
        return " ".join(element["text"].split())


def page(client, token: str, status: int = 200) -> tuple[Page, str]:
    response = client.get(f"/track?token={token}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text), response.text


def stepper(doc: Page) -> list[tuple[str, str | None]]:
    return [(" ".join(li["text"].split()), li["attrs"].get("aria-current")) for li in doc.find("li", class_="step")]


def clock_text(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


# --- content per status ---------------------------------------------------------------


def test_a_scheduled_job_shows_business_service_first_name_and_the_first_step(client):
    job = create(client)
    doc, html = page(client, job["token"])
    assert doc.text("p", class_="brand") == "QuickDumpNow"
    assert doc.text("h1") == "Scheduled"
    assert doc.text("p", class_="service") == "Junk removal for Dana"
    assert stepper(doc) == [
        ("Scheduled (now)", "step"),
        ("En route", None),
        ("Arrived", None),
        ("Complete", None),
    ]
    assert not doc.find(class_="eta")
    assert_nothing_private(html)


def test_both_addresses_and_any_spelling_of_the_token_show_the_same_job(client):
    job = create(client)
    first, _ = page(client, job["token"])
    response = client.get(f"/track/{job['token'].lower().replace('-', '')}")
    assert response.status_code == 200
    assert Page(response.text).text("h1") == first.text("h1")


def test_en_route_shows_the_eta_as_local_clock_time_and_minutes(client):
    job = create(client)
    moved = move(client, job, "en_route", eta_minutes=25)
    doc, _ = page(client, job["token"])
    assert doc.text("h1") == "On the way"
    assert [current for _, current in stepper(doc)] == [None, "step", None, None]
    assert stepper(doc)[0][0] == "Scheduled (done)"
    set_at = datetime.fromisoformat(moved["history"][-1]["at"]).astimezone(CHICAGO)
    arrival = set_at + timedelta(minutes=25)
    eta = doc.text("p", class_="eta")
    assert clock_text(arrival) in eta
    zone = arrival.tzname()
    assert zone is not None and zone in eta  # CST / CDT: the business's zone, not UTC
    assert "25 min" in eta
    assert doc.find("time", class_="eta-time")[0]["attrs"]["datetime"] == arrival.isoformat()


def test_a_skipped_step_is_shown_as_passed(client):
    job = create(client)
    move(client, job, "arrived")
    doc, _ = page(client, job["token"])
    assert stepper(doc) == [
        ("Scheduled (done)", None),
        ("En route (done)", None),
        ("Arrived (now)", "step"),
        ("Complete", None),
    ]


def test_complete_shows_total_and_invoice_link(client):
    job = create(client, invoice_url="https://pay.example.test/inv/88?ref=sms")
    move(client, job, "complete", total=1200)
    doc, html = page(client, job["token"])
    assert doc.text("h1") == "Complete"
    assert stepper(doc)[-1] == ("Complete (now)", "step")
    assert "$1,200.00" in doc.text("p", class_="total")
    (link,) = [a for a in doc.find("a") if a["attrs"].get("href", "").startswith("https://pay.")]
    assert link["attrs"]["href"] == "https://pay.example.test/inv/88?ref=sms"
    assert doc.text("a", href=link["attrs"]["href"]) == "Pay invoice"
    # Without REVIEW_URL there is nothing to review on: no button.
    assert "Leave a review" not in html
    assert "noreferrer" in link["attrs"]["rel"]


def test_before_completion_no_total_or_invoice_is_shown(client):
    job = create(client, total=350, invoice_url="https://pay.example.test/inv/88")
    move(client, job, "en_route")
    _, html = page(client, job["token"])
    assert "$350" not in html
    assert "pay.example.test" not in html


def test_cancelled_is_shown_plainly_without_a_stepper(client):
    job = create(client)
    move(client, job, "cancelled")
    doc, _ = page(client, job["token"])
    assert doc.text("h1") == "Cancelled"
    assert "Cancelled" in doc.text("p", class_="cancelled-note")
    assert stepper(doc) == []


def test_the_timeline_lists_every_change_newest_first_in_local_time(client):
    job = create(client)
    call(client, services_of(client).change_status, job["id"], "en_route", by=DISPATCHER, eta_minutes=15)
    move(client, job, "arrived")
    doc, html = page(client, job["token"])
    entries = doc.find("li", class_="timeline-entry")
    labels = [" ".join(e["text"].split()) for e in entries]
    # The first entry is the booking, named so it never reads as the appointment.
    assert [label.split(" Today")[0] for label in labels] == ["Arrived", "On the way · ETA 15 min", "Booked"]
    created = datetime.fromisoformat(job["created_at"]).astimezone(CHICAGO)
    assert clock_text(created) in labels[-1]
    assert_nothing_private(html)


# --- texts ------------------------------------------------------------------------------------


def test_texts_show_the_customers_conversation_escaped_and_without_dispatcher_relays(client):
    job = create(client)
    add_text(client, job, direction="inbound", kind="text", phone=CUSTOMER, body="<b>Is 9am ok?</b>", status="received")
    add_text(client, job, direction="outbound", kind="relay", phone=DISPATCHER, body="Dana asks: 9am?", status="sent")
    add_text(client, job, direction="outbound", kind="relay", phone=CUSTOMER, body="Yes!\nSee you.", status="failed")
    doc, html = page(client, job["token"])
    texts = doc.find("li", class_="text")
    assert len(texts) == 3  # booking text, the customer's question, the answer
    assert "text-theirs" in texts[0]["attrs"]["class"]
    mine = texts[1]
    assert "text-mine" in mine["attrs"]["class"]
    assert "You" in mine["text"] and "<b>Is 9am ok?</b>" in mine["text"]
    assert "&lt;b&gt;Is 9am ok?&lt;/b&gt;" in html
    assert "not delivered" in texts[2]["text"]
    assert "Dana asks" not in html


def test_a_text_cannot_break_out_of_the_embedded_state(client):
    job = create(client)
    body = "</script><script>alert(1)</script>"
    add_text(client, job, direction="inbound", kind="text", phone=CUSTOMER, body=body, status="received")
    doc, _ = page(client, job["token"])
    scripts = doc.find("script")
    assert len(scripts) == 2
    (state,) = doc.find("script", id="track-state")
    assert json.loads(state["text"])["messages"][-1]["body"] == body


# --- how the page updates itself --------------------------------------------------------------------


def test_the_embedded_state_is_exactly_what_the_token_api_returns(client):
    """The script compares polls with this state, so equal data must not look like a change."""
    job = create(client)
    move(client, job, "en_route", eta_minutes=10)
    add_text(client, job, direction="inbound", kind="text", phone=CUSTOMER, body="Thanks!", status="received")
    # The sender beside the app sends the status texts meanwhile: let it finish first, so the page
    # and the API below read the same rows (a text sent between the two reads is not a difference).
    eventually(
        lambda: all(m["status"] != "pending" for m in client.get(f"/jobs/{job['id']}/messages").json()["messages"]),
        "the status texts to be sent",
    )
    doc, _ = page(client, job["token"])
    (state,) = doc.find("script", id="track-state")
    assert json.loads(state["text"]) == {
        "view": client.get(f"/jobs/token/{job['token']}").json(),
        "messages": client.get(f"/jobs/token/{job['token']}/messages").json()["messages"],
    }
    (root,) = doc.find(id="job")
    assert root["attrs"]["data-token"] == job["token"]
    assert int(root["attrs"]["data-poll-seconds"]) == POLL_SECONDS
    assert 10 <= POLL_SECONDS <= 15


def test_no_inline_or_third_party_code_or_styles(client):
    job = create(client)
    doc, _ = page(client, job["token"])
    for script in doc.find("script"):
        if "src" in script["attrs"]:
            assert script["attrs"]["src"].startswith("/static/")
            assert not script["text"].strip()
        else:
            assert script["attrs"].get("type") == "application/json"  # data, never run
    for link in doc.find("link"):
        assert link["attrs"]["href"].startswith("/static/")
    assert not [e for e in doc.elements if "style" in e["attrs"] or any(a.startswith("on") for a in e["attrs"])]
    assert not doc.find("style")
    for path in [s["attrs"]["src"] for s in doc.find("script") if "src" in s["attrs"]] + [
        link["attrs"]["href"] for link in doc.find("link")
    ]:
        asset = client.get(path)
        assert asset.status_code == 200, path
        assert "http://" not in asset.text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in asset.text


def test_landmarks_and_headings(client):
    job = create(client)
    doc, _ = page(client, job["token"])
    assert doc.find("html")[0]["attrs"]["lang"] == "en"
    assert len(doc.find("header")) == len(doc.find("main")) == len(doc.find("footer")) == 1
    assert len(doc.find("h1")) == 1
    assert [" ".join(h["text"].split()) for h in doc.find("h2")] == ["Updates", "Texts"]
    assert doc.find("ol", class_="stepper")[0]["attrs"]["aria-label"] == "Progress"
    assert doc.find(id="announce")[0]["attrs"]["aria-live"] == "polite"
    viewport = [m for m in doc.find("meta") if m["attrs"].get("name") == "viewport"]
    assert "width=device-width" in viewport[0]["attrs"]["content"]


# --- not found and slowed down ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [f"/track?token={UNKNOWN_TOKEN}", "/track?token=nope", "/track", "/track/", "/track/1001", "/track/K7M2/9XPQ"],
)
def test_unknown_malformed_or_missing_tokens_get_the_same_friendly_404_page(client, path):
    reference = client.get(f"/track/{UNKNOWN_TOKEN}")
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == reference.text
    doc = Page(response.text)
    assert doc.text("h1") == "We couldn't find that job"
    assert "STATUS" in response.text
    assert UNKNOWN_TOKEN not in response.text


def test_the_slowed_down_page_is_html_with_retry_after(client, clock):
    for _ in range(20):
        assert client.get("/track?token=nope").status_code == 404
    clock.now += 15
    response = client.get("/track?token=nope")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "45"
    assert Page(response.text).text("h1") == "Please wait a moment"
    assert "45 seconds" in response.text
