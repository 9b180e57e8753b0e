"""A business's fields as the admin API takes them (bot/businesses.py, bot/business_fields.py).

Each refusal must name its field (nested ones dotted or indexed: "twilio.auth_token",
"numbers[1]") so the API's 422 tells the operator exactly what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.business_fields import MAX_TEMPLATES_BYTES, TWILIO_KEYS
from bot.businesses import FIELDS, SECRET_FIELDS, clean_business, create_defaults, require_routing
from bot.errors import ValidationError
from bot.templates import TemplateError, load_templates

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
API_KEY = "SK" + "fedcba9876543210" * 2
SERVICE_SID = "MG" + "0123456789ABCDEF" * 2
# A Standard Webhooks secret: whsec_ + base64 of 32 bytes.
EVENTS_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SHORT_EVENTS_SECRET = "whsec_c2hvcnQ="  # base64 of b"short": 5 bytes, under the 24 the spec asks for
OWN_ACCOUNT = "api_key and api_secret are optional, together"
CREATE = {"slug": "acme-hauling", "name": "Acme Hauling", "numbers": ["+15125550100"]}


def refused(payload: Any, *, creating: bool = False) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        clean_business(payload, creating=creating)
    return caught.value


# -- every field: what is stored -------------------------------------------------------------------

STORED = [
    ("name stripped", {"name": "  Acme Hauling "}, {"name": "Acme Hauling"}),
    ("name of 100 characters", {"name": "a" * 100}, {"name": "a" * 100}),
    ("phone to E.164", {"phone": "(512) 555-0199"}, {"phone": "+15125550199"}),
    ("phone cleared", {"phone": None}, {"phone": None}),
    ("timezone", {"timezone": "America/Chicago"}, {"timezone": "America/Chicago"}),
    ("timezone back to TIMEZONE", {"timezone": None}, {"timezone": None}),
    (
        "numbers normalized, duplicates dropped, order kept",
        {"numbers": ["512-555-0101", "+15125550100", "(512) 555-0101"]},
        {"numbers": ["+15125550101", "+15125550100"]},
    ),
    ("numbers emptied", {"numbers": []}, {"numbers": []}),
    (
        "messaging service, any case of hex",
        {"messaging_service_sid": SERVICE_SID},
        {"messaging_service_sid": SERVICE_SID},
    ),
    ("messaging service cleared", {"messaging_service_sid": None}, {"messaging_service_sid": None}),
    (
        "dispatchers deduplicated",
        {"dispatchers": ["5125550177", "+1 512 555 0177"]},
        {"dispatchers": ["+15125550177"], "dispatcher_names": {}},
    ),
    (
        "dispatchers named as DISPATCHER_NUMBERS names them",
        {"dispatchers": ["Maria:512-555-0177", "+15125550178", " Mary-Jo  O'Neil :(512) 555-0179"]},
        {
            "dispatchers": ["+15125550177", "+15125550178", "+15125550179"],
            "dispatcher_names": {"+15125550177": "Maria", "+15125550179": "Mary-Jo O'Neil"},
        },
    ),
    (
        "a dispatcher listed twice keeps the name it was given",
        {"dispatchers": ["+15125550177", "Maria:512-555-0177", "Ana:512-555-0177"]},
        {"dispatchers": ["+15125550177"], "dispatcher_names": {"+15125550177": "Maria"}},
    ),
    ("twilio: the deployment's account", {"twilio": None}, {"twilio": None}),
    (
        "twilio: account SID and auth token",
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "t0ken"}},
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "t0ken"}},
    ),
    (
        "twilio: with an API key, null keys left out",
        {"twilio": {"auth_token": "t0ken", "api_secret": "s3cret", "account_sid": ACCOUNT_SID, "api_key": API_KEY}},
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "t0ken", "api_key": API_KEY, "api_secret": "s3cret"}},
    ),
    (
        "twilio: null API key and secret are none given",
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "t0ken", "api_key": None, "api_secret": None}},
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": "t0ken"}},
    ),
    ("accent colour #rgb doubled, lowercase", {"accent_color": "#1AF"}, {"accent_color": "#11aaff"}),
    ("accent colour #rrggbb lowercase", {"accent_color": " #1A7F37 "}, {"accent_color": "#1a7f37"}),
    ("accent colour cleared", {"accent_color": None}, {"accent_color": None}),
    ("ack interval int", {"ack_interval_hours": 3}, {"ack_interval_hours": 3.0}),
    ("ack interval fraction", {"ack_interval_hours": 0.5}, {"ack_interval_hours": 0.5}),
    ("send rate at the limit", {"send_rate_per_second": 1000}, {"send_rate_per_second": 1000.0}),
    ("send rate back to the default", {"send_rate_per_second": None}, {"send_rate_per_second": None}),
    ("quiet hours normalized", {"quiet_hours": " 21 - 08 "}, {"quiet_hours": "21-8"}),
    ("quiet hours by day", {"quiet_hours": "9-17"}, {"quiet_hours": "9-17"}),
    ("no quiet hours", {"quiet_hours": ""}, {"quiet_hours": ""}),
    ("quiet hours of the deployment", {"quiet_hours": None}, {"quiet_hours": None}),
    ("reminder hour int", {"reminder_hour": 17}, {"reminder_hour": 17}),
    ("reminder hour midnight", {"reminder_hour": 0}, {"reminder_hour": 0}),
    ("reminder hour digits", {"reminder_hour": " 07 "}, {"reminder_hour": 7}),
    ("reminders off", {"reminder_hour": ""}, {"reminder_hour": ""}),
    ("reminder hour of the deployment", {"reminder_hour": None}, {"reminder_hour": None}),
    ("review link", {"review_url": " https://g.page/r/acme/review "}, {"review_url": "https://g.page/r/acme/review"}),
    ("reviews off", {"review_url": ""}, {"review_url": ""}),
    ("review link of the deployment", {"review_url": None}, {"review_url": None}),
    ("review hour", {"review_hour": 9}, {"review_hour": 9}),
    ("review interval", {"review_interval_days": 30}, {"review_interval_days": 30}),
    ("review interval none", {"review_interval_days": 0}, {"review_interval_days": 0}),
    ("templates kept as given", {"templates": '[generic]\nen_route = "On our way."'}, None),
    ("templates of the deployment", {"templates": None}, {"templates": None}),
    (
        "events: both",
        {"events_url": "https://dash.example.test/hooks", "events_secret": EVENTS_SECRET},
        {"events_url": "https://dash.example.test/hooks", "events_secret": EVENTS_SECRET},
    ),
    ("events: null clears both", {"events_url": None}, {"events_url": None, "events_secret": None}),
    ("events: both null", {"events_url": None, "events_secret": None}, {"events_url": None, "events_secret": None}),
    ("events: empty is none", {"events_url": "", "events_secret": ""}, {"events_url": None, "events_secret": None}),
]


@pytest.mark.parametrize(("payload", "stored"), [c[1:] for c in STORED], ids=[c[0] for c in STORED])
def test_a_patch_stores_the_normalized_value_of_each_field_it_gives(payload, stored):
    assert clean_business(payload, creating=False) == (stored or payload)


def test_an_empty_patch_changes_nothing():
    assert clean_business({}, creating=False) == {}


# -- every field: what is refused, and the field named ------------------------------------------------

REFUSED = [
    ("name not a string", {"name": 7}, "name", "must be a string"),
    ("name blank", {"name": "   "}, "name", "must not be empty"),
    ("name too long", {"name": "a" * 101}, "name", "at most 100 characters"),
    ("name on two lines", {"name": "Acme\nHauling"}, "name", "one line"),
    ("phone not a phone", {"phone": "call us"}, "phone", "not a phone number"),
    ("phone with no area code", {"phone": "555-0199"}, "phone", "no area code"),
    ("phone a number", {"phone": 5125550199}, "phone", "must be a string"),
    ("timezone unknown", {"timezone": "Mars/Olympus"}, "timezone", "not a known time zone"),
    ("timezone a path", {"timezone": "../etc/passwd"}, "timezone", "not a known time zone"),
    ("timezone empty", {"timezone": ""}, "timezone", "not a known time zone"),
    ("timezone lowercase", {"timezone": "america/chicago"}, "timezone", "not a known time zone"),
    ("numbers not a list", {"numbers": "+15125550100"}, "numbers", "must be a list"),
    ("numbers null", {"numbers": None}, "numbers", "must be a list"),
    ("numbers: the second bad", {"numbers": ["+15125550100", "nope"]}, "numbers[1]", "not a phone number"),
    ("numbers: not a string", {"numbers": [15125550100]}, "numbers[0]", "must be a string"),
    ("numbers: too many", {"numbers": [f"+1512555{n:04}" for n in range(21)]}, "numbers", "at most 20"),
    ("dispatchers: the third bad", {"dispatchers": ["+15125550100"] * 2 + ["555"]}, "dispatchers[2]", "phone"),
    ("dispatchers: too many", {"dispatchers": [f"+1512555{n:04}" for n in range(51)]}, "dispatchers", "at most 50"),
    ("dispatchers: a name with a digit", {"dispatchers": ["Maria2:+15125550100"]}, "dispatchers[0]", "only letters"),
    ("dispatchers: markup for a name", {"dispatchers": ["<b>M</b>:+15125550100"]}, "dispatchers[0]", "only letters"),
    ("dispatchers: an empty name", {"dispatchers": [" :+15125550100"]}, "dispatchers[0]", "1 to 40 characters"),
    ("dispatchers: a long name", {"dispatchers": ["A" * 41 + ":+15125550100"]}, "dispatchers[0]", "1 to 40"),
    ("dispatchers: named, no phone", {"dispatchers": ["Maria:"]}, "dispatchers[0]", "phone number is required"),
    ("dispatchers: named, bad phone", {"dispatchers": ["Maria:555"]}, "dispatchers[0]", "phone"),
    ("dispatchers: an object", {"dispatchers": [{"phone": "+15125550100"}]}, "dispatchers[0]", "must be a string"),
    ("dispatchers: too long", {"dispatchers": ["A" * 300 + ":+15125550100"]}, "dispatchers[0]", "at most 300"),
    ("dispatchers: on two lines", {"dispatchers": ["Maria\n:+15125550100"]}, "dispatchers[0]", "one line"),
    ("messaging service SID short", {"messaging_service_sid": "MG123"}, "messaging_service_sid", "32 hex"),
    ("messaging service SID an account", {"messaging_service_sid": ACCOUNT_SID}, "messaging_service_sid", "MG"),
    ("twilio not an object", {"twilio": "AC..."}, "twilio", "must be an object or null"),
    ("twilio unknown key", {"twilio": {"account_sid": ACCOUNT_SID, "token": "x"}}, "twilio.token", "unknown field"),
    (
        "twilio account SID malformed",
        {"twilio": {"account_sid": "AC12", "auth_token": "t"}},
        "twilio.account_sid",
        "32 hex",
    ),
    (
        "twilio account SID is an API key",
        {"twilio": {"account_sid": API_KEY, "auth_token": "t"}},
        "twilio.account_sid",
        "goes in twilio.api_key",
    ),
    ("twilio API key malformed", {"twilio": {"api_key": "SK1"}}, "twilio.api_key", "SK followed by 32 hex"),
    (
        "twilio auth token blank",
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": " "}},
        "twilio.auth_token",
        "empty",
    ),
    (
        "twilio auth token a number",
        {"twilio": {"account_sid": ACCOUNT_SID, "auth_token": 1}},
        "twilio.auth_token",
        "string",
    ),
    ("accent colour name", {"accent_color": "green"}, "accent_color", "not a colour like #1a7f37"),
    ("accent colour without #", {"accent_color": "1a7f37"}, "accent_color", "not a colour"),
    ("accent colour of 4 digits", {"accent_color": "#1a7f"}, "accent_color", "not a colour"),
    ("accent colour not hex", {"accent_color": "#ggg"}, "accent_color", "not a colour"),
    ("ack interval zero", {"ack_interval_hours": 0}, "ack_interval_hours", "more than 0"),
    ("ack interval negative", {"ack_interval_hours": -1}, "ack_interval_hours", "more than 0"),
    ("ack interval too big", {"ack_interval_hours": 1000.5}, "ack_interval_hours", "at most 1000"),
    ("ack interval a bool", {"ack_interval_hours": True}, "ack_interval_hours", "must be a number"),
    ("send rate a string", {"send_rate_per_second": "1"}, "send_rate_per_second", "must be a number"),
    ("send rate infinite", {"send_rate_per_second": float("inf")}, "send_rate_per_second", "must be a number"),
    ("quiet hours one hour", {"quiet_hours": "21"}, "quiet_hours", "not two hours like 21-8"),
    ("quiet hours past 23", {"quiet_hours": "21-24"}, "quiet_hours", "hours are 0 to 23"),
    ("quiet hours empty span", {"quiet_hours": "8-8"}, "quiet_hours", "same hour"),
    ("quiet hours a number", {"quiet_hours": 21}, "quiet_hours", "must be a string"),
    ("reminder hour 24", {"reminder_hour": 24}, "reminder_hour", "from 0 to 23"),
    ("reminder hour negative", {"reminder_hour": -1}, "reminder_hour", "from 0 to 23"),
    ("reminder hour text 24", {"reminder_hour": "24"}, "reminder_hour", "from 0 to 23"),
    ("reminder hour words", {"reminder_hour": "5 PM"}, "reminder_hour", "from 0 to 23"),
    ("reminder hour superscript", {"reminder_hour": "²"}, "reminder_hour", "from 0 to 23"),
    ("reminder hour off spelled out", {"reminder_hour": "off"}, "reminder_hour", "from 0 to 23"),
    ("reminder hour a fraction", {"reminder_hour": 17.5}, "reminder_hour", "must be an hour"),
    ("reminder hour a bool", {"reminder_hour": True}, "reminder_hour", "must be an hour"),
    ("review link not http", {"review_url": "javascript:alert(1)"}, "review_url", "http(s) link"),
    ("review link with a space", {"review_url": "https://x.example/a b"}, "review_url", "http(s) link"),
    ("review link too long", {"review_url": "https://x.example/" + "a" * 200}, "review_url", "at most 200"),
    ("review link a number", {"review_url": 5}, "review_url", "must be an http(s) link"),
    ("review hour 24", {"review_hour": 24}, "review_hour", "from 0 to 23"),
    ("review hour a bool", {"review_hour": True}, "review_hour", "must be an hour"),
    ("review interval negative", {"review_interval_days": -1}, "review_interval_days", "whole number of days"),
    ("review interval huge", {"review_interval_days": 10**30}, "review_interval_days", "whole number of days"),
    ("review hour text", {"review_hour": "11"}, "review_hour", "must be an hour"),
    ("review link a control character", {"review_url": "https://x.example/\x07"}, "review_url", ""),
    ("templates not a string", {"templates": {"generic": {}}}, "templates", "must be a TOML string"),
    ("templates not TOML", {"templates": "[generic"}, "templates", "is not valid TOML"),
    ("templates too big", {"templates": "#" * (MAX_TEMPLATES_BYTES + 1)}, "templates", "at most 64 KB"),
    ("templates too big in UTF-8", {"templates": "#" + "é" * (MAX_TEMPLATES_BYTES // 2)}, "templates", "64 KB"),
    ("events: URL alone", {"events_url": "https://dash.example.test/hooks"}, "events_secret", "need both"),
    ("events: secret alone", {"events_secret": EVENTS_SECRET}, "events_url", "need both"),
    ("events: URL cleared, secret given", {"events_url": None, "events_secret": EVENTS_SECRET}, "events_url", "both"),
    ("events: no scheme", {"events_url": "dash.example.test", "events_secret": EVENTS_SECRET}, "events_url", "http(s)"),
    ("events: ftp", {"events_url": "ftp://dash.example.test", "events_secret": EVENTS_SECRET}, "events_url", "http(s)"),
    ("events: no host", {"events_url": "https://", "events_secret": EVENTS_SECRET}, "events_url", "http(s) URL"),
    ("events: bad IPv6", {"events_url": "http://[::1", "events_secret": EVENTS_SECRET}, "events_url", "http(s)"),
    ("events: URL a number", {"events_url": 1, "events_secret": EVENTS_SECRET}, "events_url", "must be a string"),
    (
        "events: secret not whsec",
        {"events_url": "https://dash.example.test", "events_secret": "hunter2"},
        "events_secret",
        "Standard Webhooks secret",
    ),
    (
        "events: secret too short",
        {"events_url": "https://dash.example.test", "events_secret": SHORT_EVENTS_SECRET},
        "events_secret",
        "24 to 64 random bytes",
    ),
]


@pytest.mark.parametrize(("payload", "field", "says"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_each_refusal_names_its_field(payload, field, says):
    error = refused(payload)
    assert error.field == field
    assert says in str(error)
    assert str(error).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("twilio", "missing", "given"),
    [
        ({"account_sid": ACCOUNT_SID}, "auth_token", "account_sid"),
        ({"auth_token": "t0ken"}, "account_sid", "auth_token"),
        ({"api_key": API_KEY, "api_secret": "s3cret"}, "account_sid", "api_key"),
        ({"account_sid": ACCOUNT_SID, "auth_token": "t", "api_key": API_KEY}, "api_secret", "api_key"),
        ({"account_sid": ACCOUNT_SID, "auth_token": "t", "api_secret": "s3cret"}, "api_key", "api_secret"),
        ({"account_sid": ACCOUNT_SID, "auth_token": None}, "auth_token", "account_sid"),
    ],
)
def test_partial_twilio_credentials_name_the_missing_key(twilio, missing, given):
    error = refused({"twilio": twilio})
    assert error.field == f"twilio.{missing}"
    assert str(error).startswith(f"twilio.{missing}: required with twilio.{given} (")
    assert OWN_ACCOUNT in str(error)


def test_an_empty_twilio_object_asks_for_the_account_sid():
    error = refused({"twilio": {}})
    assert error.field == "twilio.account_sid"
    assert "needs account_sid and auth_token" in str(error)


def test_a_malformed_sid_is_never_repeated_in_the_refusal():
    pasted = "AC" + "secretsecret" * 3  # e.g. a secret pasted into the wrong box
    assert pasted not in str(refused({"twilio": {"account_sid": pasted, "auth_token": "t"}}))


# -- create and PATCH ------------------------------------------------------------------------------


def test_a_create_gets_every_field_with_the_defaults_for_those_not_given():
    stored = clean_business({**CREATE, "name": " Acme Hauling "}, creating=True)
    assert set(stored) == {*FIELDS, "dispatcher_names"}  # the dispatchers' names, kept beside their phones
    assert stored == {**create_defaults(), **CREATE}
    assert stored["dispatchers"] == [] and stored["twilio"] is None and stored["reminder_hour"] is None


def test_created_businesses_do_not_share_lists():
    first = clean_business(CREATE, creating=True)
    first["dispatchers"].append("+15125550177")
    assert clean_business(CREATE, creating=True)["dispatchers"] == []


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        ({"name": "Acme"}, "slug", "is required"),
        ({"slug": "acme", "name": None}, "name", "is required"),
        ({"slug": "Acme", "name": "Acme"}, "slug", "lowercase"),
        ({"slug": "-acme", "name": "Acme"}, "slug", "not starting or ending with '-'"),
        ({"slug": "acme-", "name": "Acme"}, "slug", "not starting or ending"),
        ({"slug": "acme_hauling", "name": "Acme"}, "slug", "lowercase letters, digits and '-'"),
        ({"slug": "a" * 41, "name": "Acme"}, "slug", "1 to 40"),
        ({"slug": "", "name": "Acme"}, "slug", "1 to 40"),
        ({"slug": 42, "name": "Acme"}, "slug", "must be a string"),
        ({"slug": "default", "name": "Acme"}, "slug", "the deployment's own business"),
        ({"slug": "acme", "name": "Acme"}, "numbers", "at least one Twilio number or a messaging_service_sid"),
        ({"slug": "acme", "name": "Acme", "numbers": []}, "numbers", "routed by the number they were sent to"),
    ],
)
def test_a_create_needs_a_good_slug_a_name_and_a_number(payload, field, says):
    error = refused(payload, creating=True)
    assert (error.field, says in str(error)) == (field, True), str(error)


@pytest.mark.parametrize("slug", ["a", "7", "acme", "acme-hauling-2", "a" * 40, "a-b"])
def test_good_slugs_are_kept(slug):
    assert clean_business({**CREATE, "slug": slug}, creating=True)["slug"] == slug


def test_a_messaging_service_is_enough_to_be_texted_on():
    payload = {"slug": "acme", "name": "Acme", "messaging_service_sid": SERVICE_SID}
    assert clean_business(payload, creating=True)["numbers"] == []


def test_a_patch_cannot_change_the_slug():
    error = refused({"slug": "acme-2", "name": "Acme"})
    assert (error.field, str(error)) == ("slug", "slug: cannot be changed")


def test_a_patch_may_empty_the_numbers_and_the_caller_checks_the_merged_business():
    assert clean_business({"numbers": [], "messaging_service_sid": None}, creating=False) == {
        "numbers": [],
        "messaging_service_sid": None,
    }
    require_routing(["+15125550100"], None)  # a number, or
    require_routing([], SERVICE_SID)  # a messaging service: either is enough
    with pytest.raises(ValidationError) as caught:
        require_routing([], None)
    assert caught.value.field == "numbers"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"nmae": "Acme"}, "nmae"),
        ({"name": "Acme", "api_token": "x"}, "api_token"),
        ({"auth_token": "x"}, "auth_token"),  # belongs inside `twilio`
        ({"bad\u0000key": 1}, "bad\\u0000key"),  # named printably
    ],
)
def test_an_unknown_field_is_refused_by_name(payload, field):
    for creating in (False, True):
        error = refused({**CREATE, **payload} if creating else payload, creating=creating)
        assert error.field == field
        assert "unknown field" in str(error)


@pytest.mark.parametrize("body", [None, [], "acme", 7, [CREATE]])
def test_a_body_that_is_not_an_object_is_refused(body):
    assert refused(body, creating=True).field == "body"


# -- templates: the checks TEMPLATES_PATH gets --------------------------------------------------------

BAD_TEMPLATES = [
    ("unknown placeholder", '[generic]\nen_route = "On our way, {frist_name}."', "'generic'.en_route", "{frist_name}"),
    ("unknown status", '["junk removal"]\nenroute = "On our way."', "'junk removal'.enroute", "unknown status"),
    ("optional first part", '[generic]\narrived = ["ETA {eta_minutes} min"]', "'generic'.arrived", "{eta_minutes}"),
    ("lone brace", '[generic]\ncomplete = "Done {"', "'generic'.complete", "malformed"),
    ("empty template", "[generic]\ncomplete = []", "'generic'.complete", "non-empty"),
    ("not a table", 'generic = "Hi"', "[generic]", "must be a table"),
]


@pytest.mark.parametrize(
    ("toml", "template", "says"), [c[1:] for c in BAD_TEMPLATES], ids=[c[0] for c in BAD_TEMPLATES]
)
def test_a_bad_template_is_refused_naming_the_template_as_start_up_would(tmp_path: Path, toml, template, says):
    error = refused({"templates": toml})
    assert error.field == "templates"
    assert template in str(error) and says in str(error)
    # The very message start-up gives for the same text in TEMPLATES_PATH, but for the file's name.
    path = tmp_path / "templates.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(TemplateError) as at_start:
        load_templates(path)
    assert str(error) == "templates: " + str(at_start.value).replace(str(path), "in the request body")


def test_templates_up_to_the_size_limit_are_taken():
    toml = '[generic]\nen_route = "On our way."\n'
    padded = toml + "#" * (MAX_TEMPLATES_BYTES - len(toml))
    assert clean_business({"templates": padded}, creating=False) == {"templates": padded}


# -- secrets ---------------------------------------------------------------------------------------


def test_the_secret_fields_name_fields_a_business_has():
    for parent, key in SECRET_FIELDS:
        if parent is None:
            assert key in FIELDS
        else:
            assert (parent, key in TWILIO_KEYS) == ("twilio", True)
    assert ("twilio", "auth_token") in SECRET_FIELDS and (None, "events_secret") in SECRET_FIELDS
