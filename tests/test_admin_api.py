"""The businesses' admin API (SPEC "Businesses"): ADMIN_TOKEN only, secrets sealed and never shown,
conflicts and refusals naming the field, tokens shown once and revoked at once, a registry that
survives a restart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from starlette.testclient import TestClient

from config.secret_box import SecretBox
from config.settings import Settings, load_settings
from tests.support import ADMIN_TOKEN, API_TOKEN, DISPATCHER, base_environ, job_body
from tests.twilio_fake import FROM_NUMBER, twilio_environ
from web.app import create_app
from web.openapi import DOCUMENT

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DASHBOARD = {"Authorization": f"Bearer {API_TOKEN}"}
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2
AUTH_TOKEN = "acme-auth-token-5f1d0c3b9a7e2468"
API_SECRET = "acme-api-secret-8e2b4f6a1c3d5079"
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRETS = (AUTH_TOKEN, API_SECRET, EVENTS_SECRET)
ACME = {
    "slug": "acme",
    "name": "Acme Hauling",
    "phone": "(512) 555-0150",
    "timezone": "America/Denver",
    "numbers": ["512-555-0140"],
    "dispatchers": ["512-555-0177"],
    "accent_color": "#17A",
}
OWN_ACCOUNT = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_key": API_KEY, "api_secret": API_SECRET}


def error_of(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return str(error["message"])


def documented(response: Any, path: str, method: str) -> None:
    """The answer is one /openapi.json describes, in the shape it describes."""
    described = DOCUMENT["paths"][path][method]["responses"]
    assert str(response.status_code) in described, f"{method} {path} {response.status_code} not described"
    if response.status_code != 204:
        schema = described[str(response.status_code)]["content"]["application/json"]["schema"]
        Draft202012Validator({**schema, "components": DOCUMENT["components"]}).validate(response.json())


def admin_settings(tmp_path: Path, **overrides: str) -> Settings:
    return load_settings(base_environ(tmp_path, ADMIN_TOKEN=ADMIN_TOKEN, **overrides), env_file=None)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    """An app with a known ADMIN_TOKEN; every request says its own credentials."""
    with TestClient(create_app(admin_settings(tmp_path))) as client:
        yield client


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/admin/businesses", json={**ACME, **fields}, headers=ADMIN)
    assert response.status_code == 201, response.text
    documented(response, "/admin/businesses", "post")
    return dict(response.json())


def registry_text(tmp_path: Path) -> str:
    return (tmp_path / "data" / "qdn.businesses.json").read_text()


# -- who may -----------------------------------------------------------------------------------------


def test_only_the_admin_token_manages_businesses(app):
    token = create(app)["token"]["token"]
    for headers, status, code in [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer nope"}, 401, "unauthorized"),
        ({"Authorization": f"Basic {ADMIN_TOKEN}"}, 401, "unauthorized"),
        (DASHBOARD, 403, "forbidden"),  # API_TOKEN: the default business's dashboard token
        ({"Authorization": f"Bearer {token}"}, 403, "forbidden"),  # a registered business's
    ]:
        response = app.get("/admin/businesses", headers=headers)
        message = error_of(response, status, code)
        documented(response, "/admin/businesses", "get")
        if status == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert message == "A dashboard token cannot manage businesses; use ADMIN_TOKEN."
        assert error_of(app.post("/admin/businesses", json={**ACME, "slug": "b2"}, headers=headers), status, code)
    assert app.get("/admin/businesses", headers=ADMIN).status_code == 200
    # The admin token is no dashboard token: /jobs is not the operator's.
    assert app.get("/jobs", headers=ADMIN).status_code == 401


def test_an_empty_admin_token_matches_nothing(tmp_path):
    settings = load_settings(base_environ(tmp_path), env_file=None, read_only=True)  # nothing made: ADMIN_TOKEN ""
    assert str(settings.admin_token) == ""
    with TestClient(create_app(settings)) as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer"}):
            error_of(client.get("/admin/businesses", headers=headers), 401, "unauthorized")


# -- create, list, show, update ----------------------------------------------------------------------


def test_create_answers_the_business_and_its_first_token_once(app):
    created = create(app, twilio=OWN_ACCOUNT, events_url="https://dash.example.test/e", events_secret=EVENTS_SECRET)
    business, token = created["business"], created["token"]
    assert (
        business
        == {
            "slug": "acme",
            "name": "Acme Hauling",
            "phone": "+15125550150",
            "timezone": "America/Denver",
            "numbers": ["+15125550140"],
            "messaging_service_sid": None,
            "webhook_url": "https://sms.example.test/twilio/acme/sms",  # what to paste into Twilio
            "dispatchers": ["+15125550177"],
            "twilio": {
                "account_sid": ACCOUNT_SID,
                "api_key": API_KEY,
                "auth_token_last4": AUTH_TOKEN[-4:],
                "api_secret_last4": API_SECRET[-4:],
            },
            "templates": None,
            "templates_file": None,  # TEMPLATES_PATH is the settings' business's alone
            "accent_color": "#1177aa",
            "ack_interval_hours": None,
            "send_rate_per_second": None,
            "quiet_hours": None,
            "reminder_hour": None,
            "review_url": None,
            "review_hour": None,
            "review_interval_days": None,
            "state_quiet_hours": None,
            "events_url": "https://dash.example.test/e",
            "events_secret_last4": EVENTS_SECRET[-4:],
            "tokens": [{"id": token["id"], "created_at": token["created_at"]}],
            "managed_by": "admin_api",
            "created_at": business["created_at"],
            "updated_at": business["created_at"],
        }
    )
    assert token["token"].startswith("qdn_") and token["id"].startswith("tok_")
    # Shown once: no later answer holds it.
    for path in ("/admin/businesses", "/admin/businesses/acme"):
        assert token["token"] not in app.get(path, headers=ADMIN).text


def test_list_has_the_default_business_first_then_the_others_oldest_first(app):
    create(app)
    create(app, slug="bravo", name="Bravo Bins", numbers=["512-555-0141"], dispatchers=[])
    listed = app.get("/admin/businesses", headers=ADMIN)
    documented(listed, "/admin/businesses", "get")
    businesses = listed.json()["businesses"]
    assert [b["slug"] for b in businesses] == ["default", "acme", "bravo"]
    default = businesses[0]
    assert default["managed_by"] == "settings" and businesses[1]["managed_by"] == "admin_api"
    assert (default["name"], default["phone"], default["timezone"]) == (
        "QuickDumpNow",
        "+15125550123",
        "America/Chicago",
    )
    assert (default["numbers"], default["dispatchers"], default["tokens"]) == ([], [DISPATCHER], [])


def test_the_default_business_names_its_templates_file_and_others_have_none(tmp_path):
    wording = tmp_path / "wording.toml"
    wording.write_text('[generic]\nen_route = "On our way to {first_name}. {tracking_url}"\n')
    with TestClient(create_app(admin_settings(tmp_path, TEMPLATES_PATH=str(wording)))) as client:
        create(client)
        listed = client.get("/admin/businesses", headers=ADMIN).json()["businesses"]
    assert [b["templates_file"] for b in listed] == [str(wording), None]


def test_show_one_and_the_default_read_only(app):
    create(app)
    shown = app.get("/admin/businesses/acme", headers=ADMIN)
    documented(shown, "/admin/businesses/{slug}", "get")
    assert shown.json()["business"]["name"] == "Acme Hauling"
    default = app.get("/admin/businesses/default", headers=ADMIN)
    documented(default, "/admin/businesses/{slug}", "get")
    assert default.json()["business"]["managed_by"] == "settings"
    missing = app.get("/admin/businesses/nobody", headers=ADMIN)
    assert error_of(missing, 404, "not_found") == "No business 'nobody'."
    documented(missing, "/admin/businesses/{slug}", "get")


def test_update_changes_what_is_given_and_keeps_the_rest(app):
    before = create(app, twilio=OWN_ACCOUNT)["business"]
    changed = app.patch(
        "/admin/businesses/acme",
        json={
            "name": " Acme Hauling & Bins ",
            "dispatchers": ["512-555-0178"],
            "reminder_hour": "",
            "quiet_hours": "22-7",
            "review_url": "https://g.page/r/acme/review",
            "review_hour": 9,
        },
        headers=ADMIN,
    )
    documented(changed, "/admin/businesses/{slug}", "patch")
    after = changed.json()["business"]
    assert (after["name"], after["dispatchers"]) == ("Acme Hauling & Bins", ["+15125550178"])
    assert (after["reminder_hour"], after["quiet_hours"]) == ("", "22-7")
    assert (after["review_url"], after["review_hour"], after["review_interval_days"]) == (
        "https://g.page/r/acme/review",
        9,
        None,
    )
    assert after["twilio"] == before["twilio"] and after["numbers"] == before["numbers"]
    assert after["created_at"] == before["created_at"] and after["updated_at"] >= before["updated_at"]
    assert app.get("/admin/businesses/acme", headers=ADMIN).json()["business"] == after

    # twilio: null goes back to the deployment's account; an object replaces the credentials whole.
    assert (
        app.patch("/admin/businesses/acme", json={"twilio": None}, headers=ADMIN).json()["business"]["twilio"] is None
    )
    own = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN}
    replaced = app.patch("/admin/businesses/acme", json={"twilio": own}, headers=ADMIN).json()["business"]["twilio"]
    assert replaced == {
        "account_sid": ACCOUNT_SID,
        "api_key": None,
        "auth_token_last4": "2468",
        "api_secret_last4": None,
    }


def test_a_patch_that_leaves_no_way_to_text_the_business_is_refused(app):
    create(app)
    message = error_of(
        app.patch("/admin/businesses/acme", json={"numbers": []}, headers=ADMIN), 422, "validation_error"
    )
    assert message.startswith("numbers: needs at least one Twilio number or a messaging_service_sid")
    assert app.get("/admin/businesses/acme", headers=ADMIN).json()["business"]["numbers"] == ["+15125550140"]


# -- secrets ---------------------------------------------------------------------------------------


def test_secrets_are_sealed_on_disk_and_never_answered(app, tmp_path):
    answers = [
        app.post(
            "/admin/businesses",
            json={
                **ACME,
                "twilio": OWN_ACCOUNT,
                "events_url": "https://d.example.test/e",
                "events_secret": EVENTS_SECRET,
            },
            headers=ADMIN,
        ),
        app.get("/admin/businesses", headers=ADMIN),
        app.get("/admin/businesses/acme", headers=ADMIN),
        app.patch("/admin/businesses/acme", json={"name": "Acme 2"}, headers=ADMIN),
        app.post("/admin/businesses/acme/tokens", headers=ADMIN),
    ]
    on_disk = registry_text(tmp_path)
    for answer in answers:
        assert answer.status_code < 300, answer.text
        for secret in SECRETS:
            assert secret not in answer.text
        assert "hash" not in answer.text and "sealed" not in answer.text
    for secret in SECRETS:
        assert secret not in on_disk
    record = json.loads(on_disk)["businesses"]["acme"]
    box = SecretBox(app.app_state["tenants"].settings.secret_key)
    assert box.open(record["twilio"]["auth_token"]["sealed"]) == AUTH_TOKEN
    assert box.open(record["twilio"]["api_secret"]["sealed"]) == API_SECRET
    assert box.open(record["events_secret"]["sealed"]) == EVENTS_SECRET
    assert record["twilio"]["auth_token"]["sealed"].startswith("gAAAAA")  # a Fernet token
    token_hash = record["tokens"][0]["hash"]
    assert len(token_hash) == 64 and all(token_hash not in answer.text for answer in answers)
    assert answers[0].json()["token"]["token"] not in on_disk


def test_a_short_secret_shows_no_last_four(app):
    business = create(app, twilio={"account_sid": ACCOUNT_SID, "auth_token": "t0ken"})["business"]
    assert business["twilio"]["auth_token_last4"] is None


# -- refusals ----------------------------------------------------------------------------------------


def test_a_taken_slug_is_a_conflict(app):
    create(app)
    response = app.post("/admin/businesses", json={**ACME, "numbers": ["512-555-0149"]}, headers=ADMIN)
    assert error_of(response, 409, "conflict") == "slug: A business with slug 'acme' already exists."
    documented(response, "/admin/businesses", "post")


def test_a_number_another_business_owns_is_a_conflict(app):
    create(app)
    taken = app.post("/admin/businesses", json={**ACME, "slug": "bravo", "numbers": ["+1 512 555 0140"]}, headers=ADMIN)
    assert error_of(taken, 409, "conflict") == "numbers: +15125550140 already belongs to another business (acme)."
    create(app, slug="bravo", numbers=["512-555-0141"])
    patched = app.patch("/admin/businesses/bravo", json={"numbers": ["512-555-0141", "512-555-0140"]}, headers=ADMIN)
    assert error_of(patched, 409, "conflict").startswith("numbers: +15125550140 already belongs")
    documented(patched, "/admin/businesses/{slug}", "patch")
    assert [b["slug"] for b in app.get("/admin/businesses", headers=ADMIN).json()["businesses"]] == [
        "default",
        "acme",
        "bravo",
    ]


def test_the_default_business_number_is_taken_too(tmp_path):
    settings = load_settings(twilio_environ(tmp_path, ADMIN_TOKEN=ADMIN_TOKEN), env_file=None)
    with TestClient(create_app(settings)) as client:
        default = client.get("/admin/businesses/default", headers=ADMIN).json()["business"]
        assert default["numbers"] == [FROM_NUMBER]
        response = client.post("/admin/businesses", json={**ACME, "numbers": [FROM_NUMBER]}, headers=ADMIN)
        assert (
            error_of(response, 409, "conflict")
            == f"numbers: {FROM_NUMBER} already belongs to another business (default)."
        )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"numbers": ["555-1234"]}, "numbers[0]"),
        ({"numbers": ["512-555-0140", "not a phone"]}, "numbers[1]"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"accent_color": "blue"}, "accent_color"),
        ({"templates": "[generic]\nen_route = 'On our way {nope}'"}, "templates"),
        ({"templates": "not = [toml"}, "templates"),
        ({"twilio": {"account_sid": ACCOUNT_SID}}, "twilio.auth_token"),
        ({"twilio": {"auth_token": AUTH_TOKEN}}, "twilio.account_sid"),
        ({"twilio": {**OWN_ACCOUNT, "api_secret": None}}, "twilio.api_secret"),
        ({"events_url": "https://dash.example.test/e"}, "events_secret"),
        ({"slug": "Acme!"}, "slug"),
        ({"slug": "default"}, "slug"),
        ({"colour": "#fff"}, "colour"),
        ({"numbers": [], "messaging_service_sid": None}, "numbers"),
    ],
)
def test_malformed_fields_are_422_naming_the_field(app, fields, field):
    response = app.post("/admin/businesses", json={**ACME, **fields}, headers=ADMIN)
    assert error_of(response, 422, "validation_error").startswith(f"{field}: ")
    documented(response, "/admin/businesses", "post")
    assert AUTH_TOKEN not in response.text


def test_bodies_that_are_not_a_json_object(app):
    garbled = app.post("/admin/businesses", content=b"{nope", headers={**ADMIN, "Content-Type": "application/json"})
    assert error_of(garbled, 400, "bad_request") == "The request body is not valid JSON."
    assert error_of(app.post("/admin/businesses", json=[ACME], headers=ADMIN), 422, "validation_error").startswith(
        "body: "
    )
    create(app)
    assert error_of(app.patch("/admin/businesses/acme", json="x", headers=ADMIN), 422, "validation_error")


def test_patch_cannot_change_the_slug_nor_touch_the_default_business(app):
    create(app)
    message = error_of(
        app.patch("/admin/businesses/acme", json={"slug": "acme2"}, headers=ADMIN), 422, "validation_error"
    )
    assert message == "slug: cannot be changed"
    for response in (
        app.patch("/admin/businesses/default", json={"name": "Renamed"}, headers=ADMIN),
        app.post("/admin/businesses/default/tokens", headers=ADMIN),
        app.delete("/admin/businesses/default/tokens/tok_00000000", headers=ADMIN),
    ):
        message = error_of(response, 409, "conflict")
        assert "configured by the settings" in message and "BUSINESS_NAME" in message and "API_TOKEN" in message
    error_of(app.patch("/admin/businesses/nobody", json={"name": "x"}, headers=ADMIN), 404, "not_found")


# -- dashboard tokens --------------------------------------------------------------------------------


def test_tokens_issue_and_revoke(app):
    first = create(app)["token"]
    first_auth = {"Authorization": f"Bearer {first['token']}"}
    assert app.get("/jobs", headers=first_auth).status_code == 200

    issued = app.post("/admin/businesses/acme/tokens", headers=ADMIN)
    documented(issued, "/admin/businesses/{slug}/tokens", "post")
    second = issued.json()["token"]
    assert second["token"].startswith("qdn_") and second["id"] != first["id"]
    second_auth = {"Authorization": f"Bearer {second['token']}"}
    listed = app.get("/admin/businesses/acme", headers=ADMIN).json()["business"]["tokens"]
    assert [token["id"] for token in listed] == [first["id"], second["id"]]

    revoked = app.delete(f"/admin/businesses/acme/tokens/{first['id']}", headers=ADMIN)
    assert revoked.status_code == 204 and revoked.content == b""
    documented(revoked, "/admin/businesses/{slug}/tokens/{token_id}", "delete")
    error_of(app.get("/jobs", headers=first_auth), 401, "unauthorized")  # at once
    again = app.delete(f"/admin/businesses/acme/tokens/{first['id']}", headers=ADMIN)
    assert error_of(again, 404, "not_found") == f"Business 'acme' has no token '{first['id']}'."
    error_of(app.post("/admin/businesses/nobody/tokens", headers=ADMIN), 404, "not_found")

    # The new token works, for acme alone.
    job = app.post("/jobs", json=job_body(), headers=second_auth)
    assert job.status_code == 201, job.text
    assert [j["id"] for j in app.get("/jobs", headers=second_auth).json()["jobs"]] == [job.json()["id"]]
    assert app.get("/jobs", headers=DASHBOARD).json()["jobs"] == []
    assert job.json()["token"] not in app.get("/jobs", headers=DASHBOARD).text


def test_the_registry_survives_a_restart(tmp_path):
    settings = admin_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        created = create(client, twilio=OWN_ACCOUNT)
        token = created["token"]["token"]
        job = client.post("/jobs", json=job_body(), headers={"Authorization": f"Bearer {token}"}).json()
    with TestClient(create_app(admin_settings(tmp_path))) as client:
        listed = client.get("/admin/businesses", headers=ADMIN).json()["businesses"]
        assert [b["slug"] for b in listed] == ["default", "acme"]
        assert listed[1] == created["business"]
        jobs = client.get("/jobs", headers={"Authorization": f"Bearer {token}"})
        assert jobs.status_code == 200 and [j["id"] for j in jobs.json()["jobs"]] == [job["id"]]


# -- the published schema and the API agree on the edges ---------------------------------------------

CREATE_SCHEMA = DOCUMENT["paths"]["/admin/businesses"]["post"]["requestBody"]["content"]["application/json"]["schema"]
EDGES = [
    ("accent_color", " #17a "),
    ("accent_color", "\u00a0#17a"),
    ("accent_color", "#17a\t"),
    ("accent_color", "#1177aaf"),
    ("reminder_hour", 23),
    ("reminder_hour", 24),
    ("reminder_hour", " 7 "),
    ("reminder_hour", "24"),
    ("reminder_hour", "007"),
    ("reminder_hour", ""),
    ("reminder_hour", "\u00b2"),
    ("reminder_hour", True),
    ("name", "a" * 100),
    ("name", "a" * 101),
    ("name", "   "),
    ("name", "Acme\x1c"),
    ("send_rate_per_second", 0),
    ("send_rate_per_second", 1000),
    ("send_rate_per_second", 1000.5),
    ("numbers", ["512-555-0140"] * 20),
    ("numbers", [f"512-555-{n:04d}" for n in range(21)]),
    ("twilio", {"account_sid": ACCOUNT_SID, "auth_token": " "}),
    ("twilio", {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "api_key": None}),
    ("messaging_service_sid", "MG" + "a" * 31),
    ("review_url", ""),
    ("review_url", " https://g.page/r/acme/review "),
    ("review_url", "HTTPS://g.page/r/acme/review"),
    ("review_url", "ftp://g.page/r/acme/review"),
    ("review_url", "https://g.page/r/acme review"),
    ("review_url", "https://g.page/r/`acme`"),
    ("review_url", "https://g.page/r/acme\t"),
    ("review_url", 7),
    ("review_hour", 0),
    ("review_hour", 23),
    ("review_hour", 24),
    ("review_hour", "10"),
    ("review_interval_days", 0),
    ("review_interval_days", 3650),
    ("review_interval_days", 3651),
    ("review_interval_days", 1.5),
]


@pytest.mark.parametrize(("field", "value"), EDGES, ids=[f"{f}={v!r}"[:40] for f, v in EDGES])
def test_schema_and_api_agree(app, field, value):
    body = {**ACME, field: value}
    response = app.post("/admin/businesses", json=body, headers=ADMIN)
    assert response.status_code in (201, 422), response.text
    assert Draft202012Validator(CREATE_SCHEMA).is_valid(body) == (response.status_code == 201)
