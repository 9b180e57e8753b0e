"""Issue #19's fast paths give exactly what the slow ones gave: E.164 `From`, the app's access line."""

from __future__ import annotations

import io
import logging
import re

import phonenumbers
import pytest

from bot.errors import ValidationError
from bot.phones import _possible_e164, normalize_e164, normalize_phone


def _full(text: str) -> str:
    """What the full phonenumbers parse makes of `text`: its E.164 form, or the error it raises."""
    try:
        return normalize_phone(text, "From")
    except ValidationError as error:
        return f"refused: {error}"


def _fast(text: str) -> str:
    try:
        return normalize_e164(text, "From")
    except ValidationError as error:
        return f"refused: {error}"


@pytest.mark.parametrize(
    ("number", "fast", "expected"),
    [
        # +1 NANP: 10 national digits; a trunk "1" after the country code is the full parse's to judge
        ("+15125550199", True, "+15125550199"),
        ("+12125550100", True, "+12125550100"),
        ("+15555550199", True, "+15555550199"),  # possible (not valid): the full parse accepts it too
        ("+115125550199", False, "+15125550199"),  # the full parse strips the trunk 1
        ("+1512555019", False, None),  # 9 digits
        ("+151255501990", False, None),  # 11 digits
        ("+15550199", False, None),  # 7 digits: possible only as a local call
        # +44: the trunk 0 after the country code is stripped by the full parse, not kept
        ("+442071838750", True, "+442071838750"),
        ("+447400123456", True, "+447400123456"),
        ("+4402071838750", False, "+442071838750"),
        ("+44207183875", True, "+44207183875"),  # 9 digits: a possible length in the UK's metadata
        ("+4420718387", False, None),
        # +61
        ("+61412345678", True, "+61412345678"),
        ("+61291234567", True, "+61291234567"),
        ("+610412345678", False, "+61412345678"),
        ("+6141234567", True, "+6141234567"),  # 9 digits: possible in Australia's metadata
        # leading zeros that are part of the number (Italy), and other plans
        ("+390612345678", True, "+390612345678"),
        ("+8613800138000", True, "+8613800138000"),
        ("+4930123456", True, "+4930123456"),
        ("+80012345678", True, "+80012345678"),  # non-geographic (+800)
        # no such country code, or not E.164's shape at all: the full parse says why
        ("+999123456789", False, None),
        ("+0123456789", False, None),
        ("+", False, None),
        ("", False, None),
        ("+1512555019999999", False, None),  # 16 digits
        ("15125550199", False, "+15125550199"),  # no plus: typed, parsed as US
        ("+1 512 555 0199", False, "+15125550199"),
        ("+1-512-555-0199", False, "+15125550199"),
        ("+1512555019\uff19", False, "+15125550199"),  # a fullwidth 9: phonenumbers reads it, the check does not
        ("+\u0661\u0665\u0661\u0662\u0665\u0665\u0665\u0660\u0661\u0669\u0669", False, "+15125550199"),
        ("+1512555O199", False, None),  # a letter O
        ("+15125550199\n", False, "+15125550199"),
        (" +15125550199", False, "+15125550199"),
        ("+15125550199;ext=1", False, "+15125550199"),  # the extension is dropped
    ],
)
def test_the_e164_fast_path_answers_as_the_full_parse(number, fast, expected):
    assert (isinstance(number, str) and bool(number) and number[0] == "+" and number[1:].isascii()
            and number[1:].isdigit() and _possible_e164(number)) is fast  # fmt: skip
    assert _fast(number) == _full(number)
    if expected is None:
        assert _full(number).startswith("refused: ")
    else:
        assert _full(number) == expected


def _variants(e164: str) -> list[str]:
    """An E.164 number and its near misses: a digit less, a digit more, a trunk prefix after the country code."""
    cc = str(phonenumbers.parse(e164).country_code)
    national = e164[1 + len(cc) :]
    return [
        e164,
        e164[:-1],
        e164 + "7",
        e164 + "07",
        f"+{cc}0{national}",
        f"+{cc}1{national}",
        f"+{cc}8{national}",
        f"+{cc}{national[:4]}",
    ]


def _examples() -> list[str]:
    numbers = set()
    types = [t for t in phonenumbers.PhoneNumberType.values() if t != phonenumbers.PhoneNumberType.UNKNOWN]
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in types:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(numbers)


def test_every_countrys_example_numbers_and_their_near_misses_normalize_alike():
    """Every example number phonenumbers ships (every region, every type), and near misses of each."""
    examples = _examples()
    assert len(examples) > 1000  # ~1,000 distinct numbers, ~8,000 with their near misses
    fast = 0
    for example in examples:
        for number in _variants(example):
            assert _fast(number) == _full(number), number
            if _possible_e164(number):
                fast += 1
                assert normalize_phone(number) == number, number  # the fast path returns the number as it is
    assert fast > 2000  # nearly every example number takes the fast path, and some near misses too


def test_the_sms_handler_takes_from_through_the_fast_path(monkeypatch):
    from handlers.twilio import forms

    forms.e164.cache_clear()
    calls: list[str] = []

    def fast(text: str, field: str) -> str:
        calls.append(text)
        return text

    monkeypatch.setattr(forms, "normalize_e164", fast)
    assert forms.e164("+15125550177") == "+15125550177"
    assert calls == ["+15125550177"]


# --- the app's access line ---------------------------------------------------------------------


@pytest.fixture
def access_lines():
    from web.logging import ACCESS_LOGGER, RedactingFilter

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())  # what the root handlers carry under `qdn serve`
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.propagate = propagate


def _app_with_access_log():
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from web.middleware import AccessLogMiddleware

    async def ok(request):
        return PlainTextResponse("ok")

    async def boom(request):
        raise RuntimeError("boom")

    routes = [Route("/track/{token:path}", ok), Route("/track", ok), Route("/jobs", ok), Route("/twilio/sms", ok,
              methods=["POST"]), Route("/boom", boom)]  # fmt: skip
    return AccessLogMiddleware(Starlette(routes=routes))


TOKEN = "K7M2-9XPQ-2HTR-4VWA-C3DF"


@pytest.mark.parametrize(
    ("method", "target", "shown", "status"),
    [
        ("POST", "/twilio/sms", "/twilio/sms", 200),
        ("GET", f"/track?token={TOKEN}", "/track?token=[token]", 200),
        ("GET", "/track/k7m2%209xpq%202htr%204vwa%20c3df", "/track/[token]", 200),
        ("GET", f"/track/{TOKEN.lower()}", "/track/[token]", 200),
        ("GET", "/jobs?phone=%2B15125550199&status=scheduled", "/jobs?phone=+•••••••0199&status=scheduled", 200),
        ("GET", "/jobs?phone=%28512%29+555-0199", "/jobs?phone=•••-•••-0199", 200),
        ("GET", "/+15125550199", "/+•••••••0199", 404),  # a path no route has still says no phone
        ("GET", "/boom", "/boom", 500),
    ],
)
def test_the_app_writes_one_masked_access_line_a_request(access_lines, method, target, shown, status):
    from starlette.testclient import TestClient

    with TestClient(_app_with_access_log(), raise_server_exceptions=False) as client:
        assert client.request(method, target).status_code == status
    line = access_lines.getvalue()
    assert len(line.splitlines()) == 1
    assert re.fullmatch(rf'testclient:50000 - "{method} {re.escape(shown)} HTTP/1.1" {status} \d+\.\d ms\n', line)
    for secret in (TOKEN, TOKEN.lower(), "15125550199", "5125550199", "555-0199", "9xpq"):
        assert secret not in line


def test_the_access_record_carries_its_fields_masked_and_skips_the_filter(monkeypatch):
    from starlette.testclient import TestClient

    import web.logging
    from web.logging import ACCESS_LOGGER, RedactingFilter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    redactions: list[str] = []
    masking = web.logging.redact

    def counted(text: str) -> str:
        redactions.append(text)
        return masking(text)

    monkeypatch.setattr(web.logging, "redact", counted)
    try:
        with TestClient(_app_with_access_log()) as client:
            client.get(f"/track?token={TOKEN}")
            client.post("/twilio/sms")
            client.post("/twilio/sms")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    first = records[0]
    assert (first.http_method, first.http_target, first.http_status) == ("GET", "/track?token=[token]", 200)  # type: ignore[attr-defined]
    assert first.duration_ms >= 0  # type: ignore[attr-defined]
    # Masked once, when the line was made: the query once, the webhook's plain path once for the process
    # (each later request to it is a set lookup), and the filter on the handler ran no regex at all.
    assert redactions.count("/twilio/sms") <= 1
    assert len(redactions) <= 2


def test_only_paths_with_nothing_to_mask_are_remembered():
    from web.logging import _PLAIN_PATHS, shown_target

    assert shown_target(f"/track/{TOKEN}", "") == "/track/[token]"
    assert shown_target("/jobs/1042/messages", "") == "/jobs/1042/messages"
    assert "/jobs/1042/messages" in _PLAIN_PATHS
    assert not any(TOKEN in path or "[token]" in path for path in _PLAIN_PATHS)


def test_a_status_callbacks_target_is_shown_as_redact_shows_it_and_its_path_remembered():
    from web.logging import _PLAIN_PATHS, redact, shown_target

    for path in ("/twilio/acme/status", "/twilio/status", f"/track/{TOKEN}", "/m/default/abc/def"):
        for query in ("m=1042", "m=123456789", "m=15125550199", "m=1042&token=abc", f"m={TOKEN}", "m=1042x"):
            for _ in range(2):  # the second time, with the path remembered if it was plain
                assert shown_target(path, query) == redact(f"{path}?{query}"), (path, query)
    assert "/twilio/acme/status" in _PLAIN_PATHS
    assert shown_target("/twilio/acme/status", "m=15125550199") == "/twilio/acme/status?m=•••-•••-0199"
    assert shown_target("/twilio/acme/status", "m=1&token=abc") == "/twilio/acme/status?m=1&token=[token]"
    assert not any(TOKEN in path or "[token]" in path or "/m/" in path for path in _PLAIN_PATHS)
