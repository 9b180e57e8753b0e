"""The office inbox's conversations over HTTP (SPEC "The office inbox"), on TinyDB and PostgreSQL.

"Needs reply" first, search, a conversation's reply / move / reschedule through the same Services
as the text commands, no phone or token in any inbox URL, the one 404, and several businesses.
"""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.support import CUSTOMER, DISPATCHER, job_body
from tests.test_inbox import (
    api,
    book,
    client,
    codes_texted,
    conversation_links,
    csrf_of,
    customer_texts,
    environ,
    log_in,
    post,
    texts_to,
)

__all__ = ["client", "environ"]  # the fixtures, from tests/test_inbox.py

# -- conversations, a conversation, its actions ---------------------------------------------------

SECOND = "+15125550188"


def test_the_waiting_conversation_comes_first_marked_needs_reply(client: TestClient) -> None:
    book(client)  # Dana, +1 512 555 0199
    book(client, customer_name="Lee Ortiz", customer_phone=SECOND)
    customer_texts(client, "Can you come before noon?")  # Dana waits ...
    customer_texts(client, "Thanks!", phone=SECOND)  # ... and then Lee: Dana waited longer
    log_in(client)
    page = client.get("/inbox").text
    assert page.index("Dana Whitfield") < page.index("Lee Ortiz")
    assert page.count("Needs reply") == 2
    assert "2 waiting for a reply" in page
    assert "<title>(2) Conversations" in page
    assert "Can you come before noon?" in page


def test_a_reply_answers_the_customer_and_clears_needs_reply(client: TestClient) -> None:
    job = book(client)
    customer_texts(client, "Can you come before noon?")
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    conversation = client.get(link).text
    assert "Can you come before noon?" in conversation and "Needs reply" in conversation
    assert '<label for="reply">Reply</label>' in conversation and ">Send</button>" in conversation
    answer = post(client, f"{link}/reply", {"csrf": csrf, "job": str(job["id"]), "body": "Yes, 11 AM works"})
    assert answer.status_code == 303
    sent = texts_to(client, CUSTOMER)[-1]
    assert (sent["body"], sent["kind"], sent["job_id"]) == ("Yes, 11 AM works", "relay", job["id"])
    assert "Needs reply" not in client.get("/inbox").text
    shown = client.get(link).text
    assert "Yes, 11 AM works" in shown and f"Dispatcher ···{DISPATCHER[-4:]}" in shown  # who answered


def test_a_move_texts_the_customer_as_the_text_command_does(client: TestClient) -> None:
    job = book(client)
    customer_texts(client, "Where are you?")
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    data = {"csrf": csrf, "job": str(job["id"]), "status": "en_route", "eta_minutes": "25"}
    assert post(client, f"{link}/status", data).status_code == 303
    moved = client.get(f"/jobs/{job['id']}", headers=api(client)).json()
    assert (moved["status"], moved["eta_minutes"]) == ("en_route", 25)
    assert moved["history"][-1]["by"] == DISPATCHER
    assert texts_to(client, CUSTOMER)[-1]["kind"] == "notification"
    assert "Needs reply" not in client.get("/inbox").text  # a status move answers too
    refused = post(client, f"{link}/status", {**data, "status": "scheduled"})
    assert refused.status_code == 400 and 'role="alert"' in refused.text


def test_a_reschedule_is_the_patch_with_its_one_text(client: TestClient) -> None:
    job = book(client, scheduled_for="2031-05-02T09:00")
    csrf = log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    before = len(texts_to(client, CUSTOMER))
    data = {"csrf": csrf, "job": str(job["id"]), "date": "2031-05-03", "time": "14:30"}
    assert post(client, f"{link}/reschedule", data).status_code == 303
    moved = client.get(f"/jobs/{job['id']}", headers=api(client)).json()
    assert moved["scheduled_for"].startswith("2031-05-03T14:30")
    after = texts_to(client, CUSTOMER)
    assert len(after) == before + 1 and "2:30 PM" in after[-1]["body"]


def test_search_finds_a_name_a_phone_or_a_job_id(client: TestClient) -> None:
    book(client)
    lee = book(client, customer_name="Lee Ortiz", customer_phone=SECOND)
    log_in(client)
    for query in ("ortiz", "555-0188", str(lee["id"])):
        page = client.get("/inbox", params={"q": query}).text
        assert "Lee Ortiz" in page and "Dana Whitfield" not in page, query


def test_no_phone_or_token_in_any_inbox_url(client: TestClient) -> None:
    job = book(client)
    customer_texts(client, "Hello?")
    log_in(client)
    pages = [client.get("/inbox").text]
    links = conversation_links(pages[0])
    pages += [client.get(link).text for link in links] + [client.get("/inbox/today").text]
    urls = {url for page in pages for url in re.findall(r'(?:href|action)="(/inbox[^"]*)"', page)}
    assert urls
    digits = CUSTOMER[-10:]
    for url in urls:
        assert digits not in url and DISPATCHER[-10:] not in url and job["token"] not in url, url


def test_an_unknown_conversation_or_a_job_of_another_conversation_is_the_same_404(client: TestClient) -> None:
    dana = book(client)
    book(client, customer_name="Lee Ortiz", customer_phone=SECOND)
    csrf = log_in(client)
    links = conversation_links(client.get("/inbox").text)
    lee_link = next(link for link in links if "Lee Ortiz" in client.get(link).text)
    missing = client.get("/inbox/c/" + "0" * 24)
    assert missing.status_code == 404
    # Dana's job through Lee's conversation: not reachable that way, and nothing sent
    wrong_job = post(client, f"{lee_link}/reply", {"csrf": csrf, "job": str(dana["id"]), "body": "hi"})
    assert wrong_job.status_code == 404 and wrong_job.text == missing.text


# -- several businesses --------------------------------------------------------------------------

ACME = {"slug": "acme", "name": "Acme Hauling", "numbers": ["+13035550100"], "dispatchers": [DISPATCHER]}


def pick(client: TestClient, slug: str) -> None:
    page = client.get("/inbox/business")
    assert page.status_code == 200
    answer = post(client, "/inbox/business", {"csrf": csrf_of(page.text), "business": slug})
    assert answer.status_code == 303 and answer.headers["location"] == "/inbox"


def test_a_dispatcher_of_two_businesses_picks_one_and_sees_only_its_conversations(client: TestClient) -> None:
    from tests.businesses import register_business

    acme_token = register_business(client, ACME)
    book(client)  # the default business's: Dana
    acme_job = client.post(
        "/jobs", json=job_body(customer_name="Acme Customer"), headers={"Authorization": f"Bearer {acme_token}"}
    )
    assert acme_job.status_code == 201
    post(client, "/inbox/login", {"phone": DISPATCHER})
    (code,) = codes_texted(client)
    assert post(client, "/inbox/login/code", {"code": code}).headers["location"] == "/inbox/business"
    choices = client.get("/inbox/business").text
    assert "QuickDumpNow" in choices and "Acme Hauling" in choices
    assert 'href="/inbox/today"' not in choices and ">Log out</button>" in choices  # no links back to here
    assert client.get("/inbox").headers["location"] == "/inbox/business"  # nothing before picking

    pick(client, "acme")
    acme_page = client.get("/inbox").text
    assert "Acme Customer" in acme_page and "Dana Whitfield" not in acme_page
    (acme_link,) = conversation_links(acme_page)

    pick(client, "default")
    default_page = client.get("/inbox").text
    assert "Dana Whitfield" in default_page and "Acme Customer" not in default_page
    # Acme's conversation (the same customer phone!) from the default business: the one 404
    other = client.get(acme_link)
    assert other.status_code == 404
    assert other.text == client.get("/inbox/c/" + "f" * 24).text
    refused = post(client, "/inbox/business", {"csrf": csrf_of(default_page), "business": "nobody"})
    assert refused.status_code == 200 and client.get("/inbox").status_code == 200


def test_a_texts_pictures_show_inline_by_signed_links(client: TestClient) -> None:
    from tests.test_track_api import call, services_of

    job = book(client)
    svc = services_of(client)
    row = call(client, svc.text_row, CUSTOMER, "Here is the pile", kind="relay", job_id=job["id"])
    picture = {"id": "Zk3q8Xw1abcDEF", "type": "image/jpeg", "size": 2048}
    call(client, svc.store.add_message, {**row, "media": [picture]})
    log_in(client)
    (link,) = conversation_links(client.get("/inbox").text)
    page = client.get(link).text
    found = re.search(r'<img class="picture" src="(/m/[^"]+)" alt="Picture 1 with this text"', page)
    assert found, "no inline picture: a signed /m/ link on this site (the CSP's img-src 'self')"


def test_today_lists_todays_jobs_by_time_with_the_move_buttons(client: TestClient) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    today = datetime.now(ZoneInfo("America/Chicago")).date()  # TIMEZONE in tests.support.base_environ
    late = book(client, customer_name="Late Larry", scheduled_for=f"{today}T16:00")
    early = book(client, customer_name="Early Erin", customer_phone="+15125550166", scheduled_for=f"{today}T08:00")
    book(client, customer_name="Tomorrow Tom", customer_phone="+15125550155",
         scheduled_for=f"{today + timedelta(days=1)}T08:00")  # fmt: skip
    csrf = log_in(client)
    page = client.get("/inbox/today").text
    assert "Tomorrow Tom" not in page
    assert page.index("Early Erin") < page.index("Late Larry")
    assert page.count(">En route</button>") == 2
    erin_link = next(link for link in conversation_links(page) if "Early Erin" in client.get(link).text)
    moved = post(
        client, f"{erin_link}/status", {"csrf": csrf, "job": str(early["id"]), "status": "arrived", "back": "today"}
    )
    assert moved.status_code == 303 and moved.headers["location"].startswith("/inbox/today")
    assert client.get(f"/jobs/{early['id']}", headers=api(client)).json()["status"] == "arrived"
    assert client.get(f"/jobs/{late['id']}", headers=api(client)).json()["status"] == "scheduled"
    refused = post(  # a move refused on Today's page answers with Today's page and the reason
        client, f"{erin_link}/status", {"csrf": csrf, "job": str(early["id"]), "status": "en_route", "back": "today"}
    )
    assert refused.status_code == 400 and "<h1>Today</h1>" in refused.text
    assert 'role="alert"' in refused.text and "Late Larry" in refused.text


def test_a_dispatchers_r_text_shows_as_theirs_and_answers_the_customer(client: TestClient) -> None:
    job = book(client)
    customer_texts(client, "Is 3 PM ok?")
    customer_texts(client, f"R {job['id']} Yes, 3 PM is fine", phone=DISPATCHER)  # the dispatcher's text command
    log_in(client)
    page = client.get("/inbox").text
    assert "Needs reply" not in page
    (link,) = conversation_links(page)
    shown = client.get(link).text
    assert "Yes, 3 PM is fine" in shown and f"Dispatcher ···{DISPATCHER[-4:]}" in shown
