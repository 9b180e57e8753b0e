"""Status-text wording: built-in templates, operator overrides, start-up checks, segment budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.jobs import STATUSES
from bot.notifications import Business, notification_text
from bot.segments import count_segments
from bot.templates import BUILTIN_FILE, PLACEHOLDERS, TEXTS, TemplateError, builtin_templates, load_templates
from config.settings import ConfigError, load_settings
from tests.support import base_environ
from web.app import create_app

BUILTIN_TYPES = ("dump trailer rental", "junk removal", "dumpster delivery")
CHICAGO = ZoneInfo("America/Chicago")
# 14:32 in Chicago (CST, UTC-6), when the dispatcher reported the ETA.
CHANGED_AT = "2026-11-27T20:32:40.123Z"
TRACKING = "https://sms.example.test/track?token=K7M2-9XPQ-2HTR-4VWA-C3DF"


def job(status="scheduled", service="junk removal", **overrides):
    base = {
        "id": 1042,
        "customer_name": "Dana Whitfield",
        "service_type": service,
        "status": status,
        "eta_minutes": None,
        "total": None,
        "invoice_url": None,
    }
    return {**base, **overrides}


def text(the_job, templates=None, business=None):
    business = business or Business("QuickDumpNow", "+15125550123", CHICAGO)
    return notification_text(the_job, templates or builtin_templates(), business, TRACKING, CHANGED_AT)


# -- the built-in wording -------------------------------------------------------------------


def test_every_builtin_service_type_has_its_own_text_for_every_status():
    templates = builtin_templates()
    assert set(BUILTIN_TYPES) <= set(templates.service_types)
    assert set(TEXTS) == {*STATUSES, "rescheduled", "reminder", "review"}
    for service in BUILTIN_TYPES:
        for status in TEXTS:
            assert templates.template_for(service, status).name == f"'{service}'.{status}"


def test_creation_text_confirms_the_booking_with_the_tracking_link():
    body = text(job("scheduled", "dump trailer rental"))
    assert body.startswith("QuickDumpNow: Hi Dana, your dump trailer is booked (job 1042).")
    assert TRACKING in body
    assert "Call (512) 555-0123." in body and body.endswith("Reply STOP to opt out.")
    assert "Drop-off" not in body and "None" not in body  # no appointment: the booking text does not guess one


@pytest.mark.parametrize(
    ("service", "said"),
    [
        ("dump trailer rental", "Drop-off: Sat Dec 5, 9:00 AM."),
        ("junk removal", "Pick-up: Sat Dec 5, 9:00 AM."),
        ("dumpster delivery", "Delivery: Sat Dec 5, 9:00 AM."),
        ("porta potty delivery", "When: Sat Dec 5, 9:00 AM."),
    ],
)
def test_the_booking_text_says_when_in_the_business_zone(service, said):
    # 15:00 UTC is 9:00 AM in Chicago: the business's time, not the server's.
    body = text(job("scheduled", service, scheduled_for="2026-12-05T15:00:00+00:00"))
    assert said in body
    assert body.index(said) < body.index(TRACKING)


def test_a_date_without_a_time_is_said_as_the_day_never_midnight():
    body = text(job("scheduled", scheduled_for="2026-12-05"))
    assert "Pick-up: Sat Dec 5." in body
    assert "12:00" not in body and "AM" not in body


@pytest.mark.parametrize(("name", "said"), [("rescheduled", "has a new time"), ("reminder", "a reminder about")])
def test_rescheduled_and_reminder_texts_say_when_and_how_to_reach_us(name, said):
    the_job = job("scheduled", "junk removal", scheduled_for="2026-12-05T09:00:00-06:00")
    business = Business("QuickDumpNow", "+15125550123", CHICAGO)
    body = notification_text(the_job, builtin_templates(), business, TRACKING, CHANGED_AT, name)
    assert said in body and "Pick-up: Sat Dec 5, 9:00 AM." in body and TRACKING in body
    assert "(512) 555-0123" in body
    no_phone = notification_text(the_job, builtin_templates(), Business("Q", None, CHICAGO), TRACKING, CHANGED_AT, name)
    assert "None" not in no_phone and "Call" not in no_phone
    if name == "reminder":
        assert "Reply here to change it." in no_phone  # without BUSINESS_PHONE a reply still reaches a person


def test_en_route_gives_the_eta_in_minutes_and_as_local_clock_time():
    body = text(job("en_route", "junk removal", eta_minutes=20))
    assert "ETA 20 min, around 2:52 PM." in body  # 14:32 Chicago + 20 min
    assert "crew is on the way" in body and TRACKING in body


def test_en_route_without_an_eta_leaves_the_eta_out():
    body = text(job("en_route", "junk removal"))
    assert "ETA" not in body and "None" not in body
    assert body == f"QuickDumpNow: Dana, our junk removal crew is on the way (job 1042). Track: {TRACKING}"


def test_eta_clock_time_uses_the_configured_zone_across_midnight():
    body = text(job("en_route", "dumpster delivery", eta_minutes=90), business=Business("Q", None, ZoneInfo("UTC")))
    assert "ETA 90 min, around 10:02 PM." in body
    late = notification_text(
        job("en_route", eta_minutes=45), builtin_templates(), Business("Q", None, CHICAGO), TRACKING,
        "2026-11-28T05:40:00.000Z",  # 23:40 in Chicago
    )  # fmt: skip
    assert "around 12:25 AM" in late


def test_complete_gives_the_total_as_money_and_the_invoice_link():
    invoice = "https://pay.quickdumpnow.example/invoices/INV-20418"
    body = text(job("complete", "dumpster delivery", total=1200, invoice_url=invoice))
    assert "Total: $1,200.00." in body and body.endswith(f"Invoice: {invoice}")
    bare = text(job("complete", "dumpster delivery"))
    assert "Total" not in bare and "Invoice" not in bare and "None" not in bare


def test_unknown_service_type_gets_the_generic_wording_naming_the_service():
    body = text(job("arrived", "porta potty delivery"))
    assert body == f"QuickDumpNow: Dana, we've arrived for your porta potty delivery (job 1042). Track: {TRACKING}"


def test_service_types_match_ignoring_case_and_spacing():
    assert text(job("arrived", "Junk   Removal")) == text(job("arrived", "junk removal"))


def test_no_business_phone_leaves_the_call_us_part_out():
    body = text(job("cancelled"), business=Business("QuickDumpNow", None, CHICAGO))
    assert body == "QuickDumpNow: Dana, your junk removal (job 1042) has been cancelled."


# Realistic long data: a long business name, first name, job id, public origin and invoice link.
LONG_REVIEW = "https://search.google.com/local/writereview?placeid=ChIJN1t_tDeuEmsRUsoyG83frY4-quickdumpnow"
LONG_BUSINESS = Business("QuickDumpNow Hauling & Junk", "+15125550123", CHICAGO, LONG_REVIEW)
LONG_TRACKING = "https://texts.quickdumpnow-hauling.com/track?token=K7M2-9XPQ-2HTR-4VWA-C3DF"
LONG_INVOICE = "https://billing.quickdumpnow.com/invoices/INV-2026-104271?key=8f3a9c2b7d1e4f60a5b8c9d0e1f2a3b4"


@pytest.mark.parametrize("service", [*BUILTIN_TYPES, "construction debris hauling"])
@pytest.mark.parametrize("status", TEXTS)
def test_every_builtin_template_is_gsm7_within_two_segments_with_long_data(service, status):
    long_job = job(
        "en_route"
        if status == "en_route"
        else "scheduled"
        if status in ("rescheduled", "reminder")
        else "complete"
        if status == "review"
        else status,
        service,
        id=104271,
        customer_name="Christabelle Montgomery-Fairweather",
        eta_minutes=125 if status == "en_route" else None,
        total=12345.67 if status == "complete" else None,
        invoice_url=LONG_INVOICE,
        scheduled_for="2026-12-30T12:30:00-06:00",  # "Wed Dec 30, 12:30 PM": as long as {when} gets
    )
    body = notification_text(long_job, builtin_templates(), LONG_BUSINESS, LONG_TRACKING, CHANGED_AT, status)
    assert "Dec 30, 12:30 PM" in body or status not in ("scheduled", "rescheduled", "reminder")
    count = count_segments(body)
    assert count.encoding == "GSM-7", body
    assert count.segments <= 2, f"{count.units} septets: {body}"
    assert "{" not in body and "None" not in body
    assert (LONG_REVIEW in body) == (status == "review")


@pytest.mark.parametrize("service", BUILTIN_TYPES)
def test_review_request_reads_as_promised_and_fits_two_segments_with_the_longest_link(service):
    """SPEC's wording; REVIEW_URL may be up to 200 characters, and still the text is two GSM-7 segments."""
    business = Business("QuickDumpNow Hauling & Junk", None, CHICAGO, "https://r.example.com/" + "x" * 178)
    done = job("complete", service, customer_name="Christabelle Montgomery-Fairweather")
    body = notification_text(done, builtin_templates(), business, LONG_TRACKING, CHANGED_AT, "review")
    assert body.startswith("QuickDumpNow Hauling & Junk: Thanks for choosing us, Christabelle! Would you leave us")
    assert body.endswith("a quick review? https://r.example.com/" + "x" * 178)
    count = count_segments(body)
    assert (count.encoding, count.segments <= 2) == ("GSM-7", True), body


def test_review_template_without_a_link_is_never_a_bare_thank_you_with_a_placeholder():
    body = notification_text(
        job("complete"), builtin_templates(), Business("Q", None, CHICAGO), LONG_TRACKING, CHANGED_AT, "review"
    )
    assert "{" not in body and "None" not in body


def test_an_operators_review_template_with_an_unknown_placeholder_stops_start_up(tmp_path):
    path = tmp_path / "texts.toml"
    path.write_text('[generic]\nreview = ["{business_name}: thanks!", "{review_link}"]\n')
    with pytest.raises(TemplateError, match=r"unknown placeholder \{review_link\}"):
        load_templates(path)
    path.write_text('["junk removal"]\nreview = ["{business_name}: Hi {first_name}, rate us:", "{review_url}"]\n')
    business = Business("Q", None, CHICAGO, "https://r.example.com/q")
    assert notification_text(job("complete"), load_templates(path), business, LONG_TRACKING, CHANGED_AT, "review") == (
        "Q: Hi Dana, rate us: https://r.example.com/q"
    )


def test_builtin_file_uses_only_known_placeholders_and_documents_them():
    header = BUILTIN_FILE.read_text().split("[generic]")[0]
    assert all(f"{{{name}}}" in header for name in PLACEHOLDERS)


# -- operator overrides -------------------------------------------------------------------------


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "templates.toml"
    path.write_text(content)
    return path


def test_override_replaces_only_the_templates_it_names(tmp_path):
    path = write(
        tmp_path,
        """
["junk removal"]
en_route = ["{business_name}: {first_name}, truck 7 is coming.", "About {eta_minutes} min."]

[generic]
arrived = "{business_name}: we're outside, {first_name}."

["Porta Potty Delivery"]
scheduled = "{business_name}: {first_name}, your unit is booked (job {job_id}). {tracking_url}"
""",
    )
    templates = load_templates(path)
    assert text(job("en_route", eta_minutes=12), templates) == "QuickDumpNow: Dana, truck 7 is coming. About 12 min."
    assert text(job("arrived"), templates) == text(job("arrived"))  # built-in junk removal beats generic override
    assert text(job("arrived", "roll-off rental"), templates) == "QuickDumpNow: we're outside, Dana."
    assert text(job("scheduled", "porta potty delivery"), templates) == (
        f"QuickDumpNow: Dana, your unit is booked (job 1042). {TRACKING}"
    )
    assert text(job("complete"), templates) == text(job("complete"))


@pytest.mark.parametrize(
    ("content", "names"),
    [
        (
            '["junk removal"]\nen_route = "{business_name}: {eta}"',
            ["'junk removal'.en_route", "unknown placeholder {eta}"],
        ),
        ('["junk removal"]\non_the_way = "hi"', ["'junk removal'.on_the_way", "unknown status 'on_the_way'"]),
        ("[generic\nscheduled = 'x'", ["is not valid TOML"]),
        ('scheduled = "hi"', ["[scheduled]", "must be a table"]),
        ("[generic]\ncomplete = 42", ["'generic'.complete", "non-empty string"]),
        ('[generic]\ncomplete = ["ok {job_id}", ""]', ["'generic'.complete", "non-empty string"]),
        ('[generic]\nen_route = "ETA {eta_minutes} min"', ["'generic'.en_route", "first part", "{eta_minutes}"]),
        ('[generic]\narrived = "{job_id"', ["'generic'.arrived", "malformed"]),
        ('[generic]\narrived = "{job_id:>10}"', ["'generic'.arrived", "format spec"]),
        ('[generic]\narrived = "{first_name.upper}"', ["'generic'.arrived", "unknown placeholder"]),
        ('[generic]\narrived = "{}"', ["'generic'.arrived", "unknown placeholder"]),
        ('[generic]\nreminder = "{business_name}: see you {when}"', ["'generic'.reminder", "first part", "{when}"]),
        ('[generic]\nreminded = "hi"', ["'generic'.reminded", "unknown status", "rescheduled, reminder"]),
    ],
)
def test_a_bad_override_is_refused_naming_file_and_template(tmp_path, content, names):
    path = write(tmp_path, content)
    with pytest.raises(TemplateError) as refused:
        load_templates(path)
    message = str(refused.value)
    assert str(path) in message
    for name in names:
        assert name in message


def test_start_up_accepts_when_in_any_template_and_the_new_texts(tmp_path):
    path = write(
        tmp_path,
        """
["junk removal"]
scheduled = ["{business_name}: {first_name}, you're booked.", "We come {when}."]
rescheduled = ["{business_name}: new time for job {job_id}.", "Now {when}."]
reminder = ["{business_name}: see you soon, {first_name}.", "That's {when}.", "Call {business_phone}."]
""",
    )
    settings = load_settings(base_environ(tmp_path, TEMPLATES_PATH=str(path)), env_file=None)
    create_app(settings)  # no ConfigError
    templates = load_templates(path)
    dated = job("scheduled", scheduled_for="2026-12-05")
    assert text(dated, templates) == "QuickDumpNow: Dana, you're booked. We come Sat Dec 5."
    assert text(job("scheduled"), templates) == "QuickDumpNow: Dana, you're booked."  # no appointment: part left out
    business = Business("QuickDumpNow", "+15125550123", CHICAGO)
    assert notification_text(dated, templates, business, TRACKING, CHANGED_AT, "reminder") == (
        "QuickDumpNow: see you soon, Dana. That's Sat Dec 5. Call (512) 555-0123."
    )


def test_literal_braces_are_allowed_when_doubled(tmp_path):
    templates = load_templates(write(tmp_path, '[generic]\narrived = "{{{job_id}}} here"'))
    assert text(job("arrived", "x"), templates) == "{1042} here"


def test_missing_override_file_is_refused_naming_it(tmp_path):
    with pytest.raises(TemplateError, match=r"templates file .*nope\.toml cannot be read"):
        load_templates(tmp_path / "nope.toml")


def test_create_app_stops_with_a_config_error_naming_file_and_template(tmp_path):
    path = write(tmp_path, '["dump trailer rental"]\nscheduled = "Hi {customer}"')
    settings = load_settings(base_environ(tmp_path, TEMPLATES_PATH=str(path)), env_file=None)
    with pytest.raises(ConfigError, match=r"templates\.toml.*'dump trailer rental'\.scheduled.*\{customer\}"):
        create_app(settings)


def test_qdn_serve_stops_at_start_up_with_the_message(tmp_path):
    path = write(tmp_path, '["junk removal"]\narrived = "{business_name}: {where}"')
    env = {**os.environ, **base_environ(tmp_path, TEMPLATES_PATH=str(path)), "PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "web", "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done.stderr
    assert "qdn:" in done.stderr and str(path) in done.stderr
    assert "'junk removal'.arrived" in done.stderr and "{where}" in done.stderr


# -- confirm by text (docs/confirmations.md) ------------------------------------------------------


@pytest.mark.parametrize("service", ["junk removal", "dump trailer rental", "dumpster delivery", "roll-off rental"])
def test_every_builtin_reminder_ends_asking_for_a_c(service):
    reminder = notification_text(
        job("scheduled", service, scheduled_for="2026-12-05T09:00:00-06:00"),
        builtin_templates(),
        Business("QuickDumpNow", "+15125550123", CHICAGO),
        TRACKING,
        CHANGED_AT,
        template="reminder",
    )
    assert reminder.endswith(" Reply C to confirm.")


def test_an_operators_reminder_asks_for_a_c_with_the_confirm_hint_placeholder(tmp_path):
    parts = '["{business_name}: see you soon.", "When: {when}.", "{confirm_hint}"]'
    path = write(tmp_path, f"[generic]\nreminder = {parts}\n")
    the_job = job("scheduled", "porta potty delivery", scheduled_for="2026-12-05T09:00:00-06:00")
    business = Business("QuickDumpNow", "+15125550123", CHICAGO)
    reminder = notification_text(the_job, load_templates(path), business, TRACKING, CHANGED_AT, template="reminder")
    assert reminder == "QuickDumpNow: see you soon. When: Sat Dec 5, 9:00 AM. Reply C to confirm."
