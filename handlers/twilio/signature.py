"""Twilio webhook signatures: the one check every Twilio webhook goes through.

    form = await signed_form(request, tenant.settings)   # 403 unless that business signed it; 400 if malformed

The signed URL is rebuilt from PUBLIC_BASE_URL + path + raw query string
(behind a proxy `request.url` is not what Twilio called) and every form field
is included, since Twilio adds fields over time.
https://www.twilio.com/docs/usage/webhooks/webhooks-security

Two kinds of signature are accepted:
- HMAC-SHA1 keyed with the account's Auth Token (settings.webhook_secret; in
  console mode the local development secret, which the simulator uses);
- a webhook SharedKey, announced by `X-Twilio-Webhooks-Signature-Settings:
  key=<id>,algorithm=HMAC_SHA256`, keyed with TWILIO_WEBHOOK_SHARED_KEY.
Signature checking is never switched off: no key means no valid signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from bot.redaction import redact
from config.settings import Settings
from handlers.twilio.forms import webhook_form

log = logging.getLogger("qdn.signature")


def signed_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public origin, the path as sent, the raw query string."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return settings.public_base_url + path + (f"?{query}" if query else "")


class _FieldValues(dict[str, list[str]]):
    """Every value of each form field, keyed by name.

    RequestValidator asks `getall(name)` first (the MultiDict protocol); a
    Starlette MultiDict answers `getlist` by scanning every field, and a plain
    dict only after two AttributeErrors -- per field, per URL variant. This
    answers from the dict: the signature check then costs little more than
    its two HMACs (bench/bench_webhook.py).
    """

    def getall(self, name: str) -> list[str]:
        return self[name]


def _field_values(form: ImmutableMultiDict[str, str]) -> _FieldValues:
    values = _FieldValues()
    for name, value in form.multi_items():
        values.setdefault(name, []).append(value)
    return values


def _key_and_algorithm(settings: Settings, signature_settings: str | None) -> tuple[str | None, str]:
    if not signature_settings or not signature_settings.strip():
        return str(settings.webhook_secret), "HMAC_SHA1"
    if settings.twilio_webhook_shared_key is None:
        log.warning("webhook signed with a shared key, but TWILIO_WEBHOOK_SHARED_KEY is not set")
        return None, "HMAC_SHA1"
    return str(settings.twilio_webhook_shared_key), get_signature_algorithm(signature_settings)


MAX_LOGGED_URL = 300  # a junk query string must not flood the log


def _forbidden(reason: str, url: str) -> HTTPException:
    """A 403, logged with the URL the signature was (or would have been) checked against.

    That URL is PUBLIC_BASE_URL + the path and query as received: when it is
    not what Twilio calls, every webhook fails, and the log says why. Never
    logged: the signature, the key, the form body; phones and tokens in the
    query are masked here too, whatever handlers the log has.
    """
    shown = redact(url if len(url) <= MAX_LOGGED_URL else url[:MAX_LOGGED_URL] + "…")
    log.warning("refused a webhook: %s; checked against %s (PUBLIC_BASE_URL + path)", reason, shown)
    return HTTPException(403, f"Twilio signature check failed: {reason}.")


def required_signature(request: Request, url: str) -> str:
    """The X-Twilio-Signature header; a 403 (before the body is read) when it is missing or empty."""
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not signature:
        raise _forbidden(f"no {SIGNATURE_HEADER} header", url)
    return signature


def is_signed(url: str, form: ImmutableMultiDict[str, str], signature: str, settings: Settings,
              signature_settings: str | None = None) -> bool:  # fmt: skip
    """Whether `signature` is Twilio's over `url` and every field of `form`, with the key of the business
    whose `settings` these are (its Auth Token; or its webhook SharedKey when `signature_settings`,
    the X-Twilio-Signature-Settings header, announces one). A pure function: no request, no I/O."""
    key, algorithm = _key_and_algorithm(settings, signature_settings)
    return key is not None and _signed_by(RequestValidator(key), url, form, signature, algorithm)


def check_signed(request: Request, url: str, form: ImmutableMultiDict[str, str], signature: str,
                 settings: Settings) -> None:  # fmt: skip
    """A 403 unless the business whose `settings` these are signed this webhook (`is_signed`)."""
    if not is_signed(url, form, signature, settings, request.headers.get(SIGNATURE_SETTINGS_HEADER)):
        raise _forbidden("the signature does not match", url)


async def signed_form(request: Request, settings: Settings) -> ImmutableMultiDict[str, str]:
    """The webhook's form fields once the business whose `settings` these are is found to have signed it.

    Raises HTTPException(403) for a missing, empty or wrong signature and BadRequest (400) for a
    malformed body -- in both cases before anything is changed.
    """
    url = signed_url(settings, request)
    signature = required_signature(request, url)
    form = await webhook_form(request)
    check_signed(request, url, form, signature, settings)
    return form


def _signed_by(validator: RequestValidator, url: str, form: ImmutableMultiDict[str, str], signature: str,
               algorithm: str) -> bool:  # fmt: skip
    """Whether `signature` is Twilio's over `url` and `form`.

    `validate` always computes the HMAC twice, for the URL with and without
    its port (Twilio signs either). The URL exactly as configured is what
    Twilio signs almost always, so it is tried first (`signature_of`, the SDK's
    `compute_signature` made cheaper); `validate` settles the rest.
    """
    fields = _field_values(form)
    computed = signature_of(validator.token, url, fields, algorithm)
    if computed is not None and hmac.compare_digest(computed, signature):
        return True
    return validator.validate(url, fields, signature, algorithm)


_DIGESTS = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}  # the SDK's (request_validator._HASH_FUNCTIONS)


def signature_of(key: bytes, url: str, fields: dict[str, list[str]], algorithm: str) -> str | None:
    """RequestValidator(key).compute_signature(url, fields, algorithm), or None for an algorithm it does not know
    (its ValueError: validate() then refuses it and says why).

    The same string signed -- the URL, then each field's name and value, by name and then by value, a value
    repeated under one name signed once -- without sorting a field's one value: ~20 of the SDK's `sorted`
    calls a webhook. tests/test_webhook_signature_of.py holds it to the SDK's for any form.
    """
    digest = _DIGESTS.get((algorithm or "HMAC_SHA1").upper())  # as the SDK: none named is SHA-1
    if digest is None:
        return None
    signed = url + "".join(
        name + value
        for name in sorted(fields)
        for value in (fields[name] if len(fields[name]) == 1 else sorted(set(fields[name])))
    )
    # hmac.new, as the SDK, not the one-shot hmac.digest: that releases the GIL around every HMAC, however
    # short -- beside a busy thread, a call then waits out the 5 ms switch interval to get it back (measured).
    return base64.b64encode(hmac.new(key, signed.encode("utf-8"), digest).digest()).decode("ascii")
