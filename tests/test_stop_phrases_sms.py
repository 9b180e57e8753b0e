"""A stop phrase texted in, end to end (SPEC "Compliance in code"): the phone opts out, the service itself sends
exactly one confirmation, the dispatchers hear of it with the words; Twilio's own keywords keep their behaviour
(Twilio confirms, we send nothing); a text that merely contains "stop" is ordinary text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_sms_webhook import JOB, C, D, Harness, _harness, replies_of
from tests.twilio_fake import drain


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Harness]:
    yield from _harness(tmp_path)


CONFIRMATION = "You won't get more texts from QuickDumpNow. Reply START to resume."


def relays(app: Harness) -> list[str]:
    drain(app.client)
    return [m["body"] for m in app.log().values() if m["kind"] == "relay" and m["phone"] == D]


def test_a_stop_phrase_opts_out_and_is_confirmed_once(app: Harness) -> None:
    assert replies_of(app.text(C, "please stop texting me")) == [CONFIRMATION]
    assert app.phone_state(C)["opted_out"]
    assert any("opted out by text: 'please stop texting me'" in body for body in relays(app))
    # Said again: no second confirmation, no second relay.
    before = len(relays(app))
    assert replies_of(app.text(C, "Stop. Thank you")) == []
    assert len(relays(app)) == before
    # Nothing else reaches the phone now: a dashboard text is skipped.
    assert app.client.post(f"/jobs/{JOB}/messages", json={"body": "Running late"}).json()["status"] == "skipped"


def test_a_spanish_phrase_opts_out_too(app: Harness) -> None:
    assert replies_of(app.text(C, "No más mensajes, gracias")) == [CONFIRMATION]
    assert app.phone_state(C)["opted_out"]


def test_twilios_own_keyword_is_still_answered_by_twilio(app: Harness) -> None:
    assert replies_of(app.text(C, "STOP")) == []
    assert app.phone_state(C)["opted_out"]


def test_a_text_that_only_contains_the_word_is_for_a_person(app: Harness) -> None:
    (answer,) = replies_of(app.text(C, "can you stop at the gate?"))
    assert "A person will reply soon" in answer
    assert not app.phone_state(C).get("opted_out")
    assert any("can you stop at the gate?" in body for body in relays(app))


def test_the_confirmation_goes_even_past_the_hourly_answer_cap(app: Harness) -> None:
    for n in range(30):
        app.text(C, f"question {n}?")
    assert replies_of(app.text(C, "unsubscribe me")) == [CONFIRMATION]
