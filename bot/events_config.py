"""Where dashboard events go: one rule for EVENTS_URL / EVENTS_SECRET and for a business's own pair.

config/settings.py checks the deployment's settings with it (and turns the
refusal into a ConfigError), bot/businesses.py a business's `events_url` /
`events_secret`; each passes the names its caller knows the values by, so a
refusal names the setting or the field.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from bot.errors import ValidationError

# Standard Webhooks secrets: "whsec_" + base64 of the key; the spec asks for 24 to 64 bytes.
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
# How to make one, for the refusal's message (a command, not a secret).
_MAKE_SECRET = "import base64,secrets; print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())"  # noqa: S105


def check_events(
    url: str | None,
    secret: str | None,
    *,
    url_field: str = "events_url",
    secret_field: str = "events_secret",  # noqa: S107 -- a field's name, not a secret
) -> tuple[str, str] | None:
    """(url, secret) when both are usable, None when neither is given (empty counts as not given).

    Raises ValidationError naming `url_field` or `secret_field`, with a
    message that reads after the name ("is missing: ..."): one of the two
    alone, a URL that is not http(s) with a host, or a secret that is not
    `whsec_` + base64 of 24 to 64 bytes (the `whsec_` prefix is optional,
    as the standardwebhooks library reads it).
    """
    if bool(url) != bool(secret):
        missing, given = (secret_field, url_field) if url else (url_field, secret_field)
        raise ValidationError(
            missing, f"is missing: dashboard events need both {url_field} and {secret_field} ({given} is set)"
        )
    if not url or not secret:
        return None
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. "http://[::1" -- an unclosed IPv6 bracket
        usable = False
    if not usable:
        raise ValidationError(url_field, "must be an http(s) URL, e.g. https://dashboard.example.com/qdn-events")
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:  # binascii.Error, and a non-ASCII character in the text
        key = b""
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValidationError(
            secret_field,
            "must be a Standard Webhooks secret: whsec_ and base64 of 24 to 64 random bytes; "
            f'make one with: python -c "{_MAKE_SECRET}"',
        )
    return url, secret
