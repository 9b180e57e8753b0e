"""Named dispatchers (`DISPATCHER_NUMBERS=Maria:+15125550100`): start-up, the inbox and `qdn log`.

The phone is what matches a dispatcher, as before; the name is what people read.
"""

from __future__ import annotations

import pytest

from config.settings import ConfigError, load_settings
from tests.support import CUSTOMER, DISPATCHER, LiveServer, base_environ
from tests.test_cli import api as live_api
from tests.test_cli import qdn, service
from tests.test_inbox import app_client, book, conversation_links, environ, log_in, post, texts_to
from tests.test_startup_checks import serve

__all__ = ["environ", "qdn", "service"]  # the fixtures


def test_named_and_plain_entries_start_with_phones_and_names(tmp_path):
    entries = "Maria:+15125550100, (737) 555-0101, Mary-Jo O'Neil Jr.:512 555 0102"
    settings = load_settings(base_environ(tmp_path, DISPATCHER_NUMBERS=entries), env_file=None)
    assert settings.dispatcher_numbers == ("+15125550100", "+17375550101", "+15125550102")
    assert settings.dispatcher_names == {"+15125550100": "Maria", "+15125550102": "Mary-Jo O'Neil Jr."}


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("Maria:not-a-phone", "not-a-phone"),
        ("Maria2:+15125550100", "Maria2"),
        ("M@ria:+15125550100", "M@ria"),
        (" :+15125550100", "1 to 40 characters"),
        ("A" * 41 + ":+15125550100", "1 to 40 characters"),
    ],
)
def test_a_bad_name_or_phone_stops_start_up_naming_it(tmp_path, entry, said):
    with pytest.raises(ConfigError) as refused:
        load_settings(base_environ(tmp_path, DISPATCHER_NUMBERS=f"+17375550101,{entry}"), env_file=None)
    assert str(refused.value).startswith("DISPATCHER_NUMBERS: ") and said in str(refused.value)


def test_qdn_serve_with_a_bad_dispatcher_name_exits_2_with_one_line(tmp_path):
    done = serve(tmp_path, base_environ(tmp_path, DISPATCHER_NUMBERS="Maria<script>:+15125550100"))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: DISPATCHER_NUMBERS: ") and "Maria<script>" in line


def test_the_inbox_shows_a_named_dispatchers_reply_by_name(environ: dict[str, str]) -> None:
    with app_client({**environ, "DISPATCHER_NUMBERS": f"Maria:{DISPATCHER}"}) as client:
        job = book(client)
        csrf = log_in(client)  # logs in by the phone: the name changes nothing there
        (link,) = conversation_links(client.get("/inbox").text)
        answer = post(client, f"{link}/reply", {"csrf": csrf, "job": str(job["id"]), "body": "Be there at 11"})
        assert answer.status_code == 303
        assert texts_to(client, CUSTOMER)[-1]["body"] == "Be there at 11"
        page = client.get(link).text
        assert '<p class="who">Maria · #' in page and "Dispatcher ···" not in page


def test_qdn_log_names_a_named_dispatcher(service: LiveServer, qdn) -> None:
    with live_api(service) as client:  # a text to the dispatcher's phone: booked to it
        body = {"customer_name": "Maria Lopez", "customer_phone": DISPATCHER, "service_type": "junk removal"}
        assert client.post("/jobs", json=body).status_code == 201
    assert f"to dispatcher {DISPATCHER}" in qdn("log", "--phone", DISPATCHER).out
    named = qdn("log", "--phone", DISPATCHER, DISPATCHER_NUMBERS=f"Maria:{DISPATCHER}")
    assert named.code == 0 and f"to Maria (dispatcher) {DISPATCHER}" in named.out
