"""Webhook addresses that name the business: /twilio/{business}/sms and /twilio/{business}/status?m=<id>.

Two businesses (the default one and acme, each with its own Twilio key) on one app, on each backend
(a TinyDB folder, a fresh PostgreSQL database); webhooks signed with Twilio's real algorithm over
PUBLIC_BASE_URL + path + query. Each case checks what the answer is and what each business holds
afterwards (nothing changed where a webhook is refused).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from bot.jobs import utc_now
from bot.messages import outbound_message
from tests.businesses import ACME, ACME_ACCOUNT_SID, CUSTOMER, DEFAULT, Business, World, call, drain_all, two_businesses
from tests.test_business_isolation_sms import AcmeTwilio
from tests.test_media_fetch import backend
from tests.test_sms_webhook import replies_of
from tests.twilio_fake import ACCOUNT_SID, PUBLIC_BASE_URL, FakeTwilio, sign


@pytest.fixture(params=["tinydb", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    for database in backend(request.param):
        with two_businesses(tmp_path, "default is A", **database) as world:
            yield world


def sms_path(business: Business) -> str:
    return f"/twilio/{business.slug}/sms"


def status_path(business: Business, message_id: str) -> str:
    return f"/twilio/{business.slug}/status?m={message_id}"


def sent_text(world: World, business: Business, sid: str) -> dict[str, Any]:
    """A text `business` sent to CUSTOMER that Twilio accepted as `sid` (as the sender records it)."""
    store = world.store(business)
    row = outbound_message(kind="relay", to=CUSTOMER, body="On our way", sender=business.number, now=utc_now(),
                           opted_out=False, job_id=1001)  # fmt: skip
    added = call(world.client, store.add_message, row)
    return dict(call(world.client, store.update_message, added["id"], lambda m: {**m, "status": "queued",
                                                                                 "twilio_sid": sid}))  # fmt: skip


def report(sid: str, business: Business, status: str = "delivered") -> dict[str, str]:
    """What Twilio posts to a StatusCallback."""
    account = ACME_ACCOUNT_SID if business == ACME else ACCOUNT_SID
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": account, "From": business.number, "To": CUSTOMER,
            "MessageStatus": status, "ApiVersion": "2010-04-01"}  # fmt: skip


def status_of(world: World, business: Business, message_id: str) -> str:
    return str(call(world.client, world.store(business).get_message, message_id)["status"])


# -- texts in --------------------------------------------------------------------------------------


@pytest.mark.parametrize("business", [DEFAULT, ACME], ids=["default", "acme"])
def test_a_text_to_the_address_of_a_business_is_that_business_s(world: World, business: Business) -> None:
    other = world.other(business)
    before = world.snapshot(other)
    form = world.sms_form(business.number, CUSTOMER, "STATUS")

    response = world.post_webhook(sms_path(business), form, business.key)

    assert response.status_code == 200, response.text
    (reply,) = replies_of(response)
    assert business.service in reply  # its own job 1001, in its own words
    stored = [m for m in world.messages(business).values() if m.get("twilio_sid") == form["MessageSid"]]
    assert [(m["direction"], m["body"]) for m in stored] == [("inbound", "STATUS")]
    assert world.snapshot(other) == before


def test_a_text_to_one_business_s_address_signed_with_the_other_s_key_is_refused(world: World) -> None:
    before = [world.snapshot(business) for business in (world.a, world.b)]
    form = world.sms_form(ACME.number, CUSTOMER, "STATUS")

    assert world.post_webhook(sms_path(ACME), form, DEFAULT.key).status_code == 403
    assert world.post_webhook(sms_path(DEFAULT), world.sms_form(DEFAULT.number, CUSTOMER, "STATUS"),
                              ACME.key).status_code == 403  # fmt: skip
    assert [world.snapshot(business) for business in (world.a, world.b)] == before


@pytest.mark.parametrize("path", ["/twilio/nobody/sms", "/twilio/nobody/status?m=1", "/twilio/ACME/sms"])
def test_an_address_no_business_has_is_a_404_and_nothing_is_stored(world: World, path: str) -> None:
    before = [world.snapshot(business) for business in (world.a, world.b)]
    form = world.sms_form(DEFAULT.number, CUSTOMER, "STATUS")

    response = world.post_webhook(path, form, DEFAULT.key)  # signed, with a key the deployment has

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert [world.snapshot(business) for business in (world.a, world.b)] == before


def test_the_signature_covers_the_query_of_a_text_s_address(world: World) -> None:
    form = world.sms_form(DEFAULT.number, CUSTOMER, "STATUS")
    signature = sign(f"{PUBLIC_BASE_URL}/twilio/default/sms?via=a", form, DEFAULT.key)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    before = world.snapshot(DEFAULT)

    refused = world.client.post("/twilio/default/sms?via=b", data=form, headers=headers)

    assert refused.status_code == 403
    assert world.snapshot(DEFAULT) == before
    assert world.client.post("/twilio/default/sms?via=a", data=form, headers=headers).status_code == 200


def test_the_old_address_still_routes_a_text_by_the_number_texted(world: World) -> None:
    form = world.sms_form(ACME.number, CUSTOMER, "STATUS")

    response = world.post_webhook("/twilio/sms", form, ACME.key)

    assert response.status_code == 200
    assert ACME.service in replies_of(response)[0]
    assert any(m.get("twilio_sid") == form["MessageSid"] for m in world.messages(ACME).values())


# -- delivery reports ------------------------------------------------------------------------------


@pytest.mark.parametrize("business", [DEFAULT, ACME], ids=["default", "acme"])
def test_a_report_to_the_address_its_text_named_is_applied(world: World, business: Business) -> None:
    text = sent_text(world, business, "SM" + "a1" * 16)

    response = world.post_webhook(status_path(business, text["id"]), report(text["twilio_sid"], business),
                                  business.key)  # fmt: skip

    assert response.status_code == 204, response.text
    assert status_of(world, business, text["id"]) == "delivered"


def test_a_report_signed_for_one_message_and_replayed_for_another_is_refused(world: World) -> None:
    first, second = sent_text(world, ACME, "SM" + "b1" * 16), sent_text(world, ACME, "SM" + "b2" * 16)
    form = report(second["twilio_sid"], ACME)
    signature = sign(PUBLIC_BASE_URL + status_path(ACME, first["id"]), form, ACME.key)  # signed for ?m=first
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}

    replayed = world.client.post(status_path(ACME, second["id"]), data=form, headers=headers)

    assert replayed.status_code == 403
    assert (status_of(world, ACME, first["id"]), status_of(world, ACME, second["id"])) == ("queued", "queued")


def test_a_report_whose_m_names_another_business_s_message_is_refused(world: World) -> None:
    acmes = sent_text(world, ACME, "SM" + "c1" * 16)
    defaults = sent_text(world, DEFAULT, "SM" + "c2" * 16)
    before = [world.snapshot(business) for business in (world.a, world.b)]

    # At acme's address, signed with acme's key: m and the SID are the default business's text.
    theirs = world.post_webhook(status_path(ACME, defaults["id"]), report(defaults["twilio_sid"], DEFAULT), ACME.key)
    # ... and acme's own message id with the other's SID. (Ids are each business's own: on TinyDB
    # the two texts may share one, so an id alone names no business.)
    crossed = world.post_webhook(status_path(ACME, acmes["id"]), report(defaults["twilio_sid"], ACME), ACME.key)

    assert [theirs.status_code, crossed.status_code] == [404, 404]
    assert [world.snapshot(business) for business in (world.a, world.b)] == before


def test_a_report_whose_m_is_another_of_the_business_s_messages_is_refused(world: World) -> None:
    first, second = sent_text(world, ACME, "SM" + "d1" * 16), sent_text(world, ACME, "SM" + "d2" * 16)

    response = world.post_webhook(status_path(ACME, first["id"]), report(second["twilio_sid"], ACME), ACME.key)

    assert response.status_code == 404
    assert (status_of(world, ACME, first["id"]), status_of(world, ACME, second["id"])) == ("queued", "queued")


def sending_text(world: World, business: Business) -> dict[str, Any]:
    """A text `business`'s sender is sending: marked started, Twilio's answer (its SID) not recorded yet."""
    store = world.store(business)
    row = outbound_message(kind="relay", to=CUSTOMER, body="Running late", sender=business.number, now=utc_now(),
                           opted_out=False, job_id=1001)  # fmt: skip
    added = call(world.client, store.add_message, row)
    started = {"send_started_at": utc_now(), "attempts": 1}
    return dict(call(world.client, store.update_message, added["id"], lambda m: {**m, **started}))


@pytest.mark.parametrize("business", [DEFAULT, ACME], ids=["default", "acme"])
def test_a_report_that_comes_before_the_sender_recorded_the_sid_records_it_and_is_applied(
    world: World, business: Business
) -> None:
    """Twilio's first callback may beat the sender's record of the REST answer; a 4xx is never retried."""
    text = sending_text(world, business)
    sid = "SM" + "a7" * 16

    first = world.post_webhook(status_path(business, text["id"]), report(sid, business, "sent"), business.key)
    assert first.status_code == 204, first.text
    stored = call(world.client, world.store(business).get_message, text["id"])
    assert (stored["status"], stored["twilio_sid"]) == ("sent", sid)

    # Later reports find it by its SID, at its own address and at the old one; none moves it back.
    delivered = world.post_webhook(status_path(business, text["id"]), report(sid, business), business.key)
    late = world.post_webhook(status_path(business, text["id"]), report(sid, business, "sent"), business.key)
    read = world.post_webhook("/twilio/status", report(sid, business, "read"), business.key)
    assert [delivered.status_code, late.status_code, read.status_code] == [204, 204, 204]
    assert status_of(world, business, text["id"]) == "read"


def test_a_report_before_the_sid_is_recorded_keeps_the_first_sid_and_refuses_another(world: World) -> None:
    text = sending_text(world, ACME)
    sid, other = "SM" + "a8" * 16, "SM" + "a9" * 16
    assert world.post_webhook(status_path(ACME, text["id"]), report(sid, ACME, "queued"), ACME.key).status_code == 204

    refused = world.post_webhook(status_path(ACME, text["id"]), report(other, ACME), ACME.key)

    assert refused.status_code == 404
    stored = call(world.client, world.store(ACME).get_message, text["id"])
    assert (stored["status"], stored["twilio_sid"]) == ("queued", sid)


def test_a_report_before_the_sid_is_recorded_for_no_message_or_another_business_s_is_refused(world: World) -> None:
    defaults = sending_text(world, DEFAULT)
    before = [world.snapshot(business) for business in (world.a, world.b)]

    nobody = world.post_webhook(status_path(ACME, "99999"), report("SM" + "b7" * 16, ACME), ACME.key)
    junk = world.post_webhook(status_path(ACME, "no-such-id"), report("SM" + "b8" * 16, ACME), ACME.key)
    theirs = world.post_webhook(status_path(DEFAULT, defaults["id"]), report("SM" + "b9" * 16, DEFAULT), ACME.key)

    assert [nobody.status_code, junk.status_code, theirs.status_code] == [404, 404, 403]
    assert [world.snapshot(business) for business in (world.a, world.b)] == before


def test_a_report_to_a_status_address_without_m_is_a_400_naming_it(world: World) -> None:
    text = sent_text(world, ACME, "SM" + "e1" * 16)

    response = world.post_webhook("/twilio/acme/status", report(text["twilio_sid"], ACME), ACME.key)

    assert response.status_code == 400
    assert "m" in response.json()["error"]["message"].split()
    assert status_of(world, ACME, text["id"]) == "queued"


def test_the_old_status_address_still_finds_the_text_by_its_sid(world: World) -> None:
    text = sent_text(world, ACME, "SM" + "f1" * 16)

    response = world.post_webhook("/twilio/status", report(text["twilio_sid"], ACME), ACME.key)

    assert response.status_code == 204
    assert status_of(world, ACME, text["id"]) == "delivered"


# -- the StatusCallback each text carries ----------------------------------------------------------


@pytest.fixture(params=["tinydb", "postgres"])
def sending(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[World, dict[str, list[Any]]]]:
    """Both businesses sending, each through its own Twilio account (respx): the creates by slug."""
    for database in backend(request.param):
        with respx.mock(assert_all_called=False) as router:
            default_account, acme_account = FakeTwilio(router), AcmeTwilio(router)
            with two_businesses(tmp_path, "default is A", RUN_SENDER="true", **database) as world:
                drain_all(world.client)
                yield world, {DEFAULT.slug: default_account.creates, ACME.slug: acme_account.creates}


def test_every_text_names_its_business_and_itself_and_twilio_s_report_there_is_applied(
    sending: tuple[World, dict[str, list[Any]]],
) -> None:
    world, creates = sending
    for business in (DEFAULT, ACME):
        booked = [m for m in world.messages(business).values() if m["kind"] == "notification"]
        assert booked, business.slug
        callbacks = {FakeTwilio.form(request)["StatusCallback"] for request in creates[business.slug]}
        assert callbacks == {f"{PUBLIC_BASE_URL}/twilio/{business.slug}/status?m={m['id']}" for m in booked}
        for message in booked:  # Twilio reports at the address the text gave it, signed for that address
            path = f"/twilio/{business.slug}/status?m={message['id']}"
            assert world.post_webhook(path, report(message["twilio_sid"], business), business.key).status_code == 204
            assert status_of(world, business, message["id"]) == "delivered"


# -- a field missing or malformed: the same 400, naming it, from either webhook ---------------------


FIELD_CASES = [
    ("sms", {"MessageSid": None}, "Missing Twilio field(s): MessageSid."),
    ("sms", {"From": None, "To": "  "}, "Missing Twilio field(s): From, To."),
    ("sms", {"From": "call me"}, "Twilio field From: 'call me' is not a phone number."),
    ("status", {"MessageSid": None}, "Missing Twilio field(s): MessageSid."),
    ("status", {"MessageStatus": "exploded"}, "Twilio field MessageStatus: 'exploded' is not one of: "),
]


@pytest.mark.parametrize(("webhook", "change", "said"), FIELD_CASES, ids=[said for _, _, said in FIELD_CASES])
def test_a_missing_or_malformed_field_is_a_400_naming_it(
    world: World, webhook: str, change: dict[str, str | None], said: str
) -> None:
    text = sent_text(world, ACME, "SM" + "9a" * 16)
    if webhook == "sms":
        form, path = world.sms_form(ACME.number, CUSTOMER, "STATUS"), sms_path(ACME)
    else:
        form, path = report(text["twilio_sid"], ACME), status_path(ACME, text["id"])
    form = {name: value for name, value in {**form, **change}.items() if value is not None}
    before = world.snapshot(ACME)

    response = world.post_webhook(path, form, ACME.key)

    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(said)
    assert world.snapshot(ACME) == before
