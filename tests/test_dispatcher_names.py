"""Named dispatchers (`DISPATCHER_NUMBERS=Maria:+15125550100`, and a business's `dispatchers` in the
admin API): start-up, the admin API, the inbox and `qdn log`.

The phone is what matches a dispatcher, as before; the name is what people read.
"""

from __future__ import annotations

import pytest

from config.settings import ConfigError, load_settings
from tests.businesses import register_business
from tests.support import ADMIN_TOKEN, CUSTOMER, DISPATCHER, LiveServer, base_environ, job_body
from tests.test_admin_api import ACME, ADMIN, documented
from tests.test_cli import api as live_api
from tests.test_cli import qdn, service
from tests.test_inbox import (
    app_client,
    book,
    codes_texted,
    conversation_links,
    csrf_of,
    environ,
    log_in,
    post,
    texts_to,
)
from tests.test_inbox_conversations import pick
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


# -- the admin API: a business's own dispatchers' names --------------------------------------------


def test_the_admin_api_takes_named_dispatchers_and_gives_them_back_as_given(environ: dict[str, str]) -> None:
    named = {**environ, "ADMIN_TOKEN": ADMIN_TOKEN, "DISPATCHER_NUMBERS": f"Maria:{DISPATCHER},+15125550166"}
    with app_client(named) as client:
        body = {**ACME, "dispatchers": ["Ana Díaz:512-555-0177", "512-555-0178"]}
        created = client.post("/admin/businesses", json=body, headers=ADMIN)
        assert created.status_code == 201, created.text
        documented(created, "/admin/businesses", "post")
        assert created.json()["business"]["dispatchers"] == ["Ana Díaz:+15125550177", "+15125550178"]
        shown = client.get("/admin/businesses/acme", headers=ADMIN)
        assert shown.json()["business"]["dispatchers"] == ["Ana Díaz:+15125550177", "+15125550178"]
        # What GET gave, PATCHed back, changes nothing; a bare phone is unnamed: the list is replaced whole.
        same = client.patch("/admin/businesses/acme", json={"dispatchers": ["Ana Díaz:+15125550177"]}, headers=ADMIN)
        assert same.json()["business"]["dispatchers"] == ["Ana Díaz:+15125550177"]
        bare = client.patch("/admin/businesses/acme", json={"dispatchers": ["+15125550177"]}, headers=ADMIN)
        documented(bare, "/admin/businesses/{slug}", "patch")
        assert bare.json()["business"]["dispatchers"] == ["+15125550177"]
        # The settings' own business shows DISPATCHER_NUMBERS' names the same way.
        default = client.get("/admin/businesses/default", headers=ADMIN).json()["business"]
        assert default["dispatchers"] == [f"Maria:{DISPATCHER}", "+15125550166"]


@pytest.mark.parametrize(
    ("entry", "said"),
    [("Maria2:+15125550177", "only letters"), ("Maria:555-0177", "no area code"), ("<b>:+15125550177", "only letters")],
)
def test_the_admin_api_refuses_a_bad_name_or_phone_naming_the_entry(environ, entry: str, said: str) -> None:
    with app_client({**environ, "ADMIN_TOKEN": ADMIN_TOKEN}) as client:
        refused = client.post("/admin/businesses", json={**ACME, "dispatchers": ["+15125550178", entry]}, headers=ADMIN)
        assert refused.status_code == 422
        documented(refused, "/admin/businesses", "post")
        message = refused.json()["error"]["message"]
        assert message.startswith("dispatchers[1]: ") and said in message
        assert client.get("/admin/businesses/acme", headers=ADMIN).status_code == 404


def test_a_business_inbox_names_its_dispatcher_by_its_own_list(environ: dict[str, str]) -> None:
    """The same phone is Maria to the settings' business and Ana to acme, whose list names it so."""
    with app_client({**environ, "DISPATCHER_NUMBERS": f"Maria:{DISPATCHER}"}) as client:
        acme = {
            "slug": "acme",
            "name": "Acme Hauling",
            "numbers": ["+13035550100"],
            "dispatchers": [f"Ana:{DISPATCHER}"],
        }
        token = register_business(client, acme)
        job = client.post("/jobs", json=job_body(), headers={"Authorization": f"Bearer {token}"}).json()
        post(client, "/inbox/login", {"phone": DISPATCHER})
        (code,) = codes_texted(client)
        assert post(client, "/inbox/login/code", {"code": code}).status_code == 303
        pick(client, "acme")
        (link,) = conversation_links(client.get("/inbox").text)
        csrf = csrf_of(client.get(link).text)
        assert post(client, f"{link}/reply", {"csrf": csrf, "job": str(job["id"]), "body": "On it"}).status_code == 303
        page = client.get(link).text
        assert '<p class="who">Ana · #' in page and "Maria" not in page
