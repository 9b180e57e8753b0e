"""Start-up checks of the Twilio settings and PUBLIC_BASE_URL, and the error every bad setting raises.

config/settings.py reads the settings and calls these; `ConfigError` is imported from there too.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# Hosts where PUBLIC_BASE_URL may be plain http:// with Twilio settings (local tests against a Twilio mock).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


class ConfigError(ValueError):
    """A setting that stops start-up; the message says which and what to do.

    A ValueError, as what the store raises for a DATABASE_URL it refuses was (store.backend_for)."""


def check_twilio_complete(twilio: dict[str, str | None]) -> bool:
    """True when Twilio is fully configured, False when not at all; ConfigError when half.

    Complete = a way to check signatures (auth token), to authenticate sends
    (API key + secret, or account SID + auth token) and a sender.
    """
    if not any(twilio.values()):
        return False
    missing = []
    if not twilio["TWILIO_AUTH_TOKEN"]:
        missing.append("TWILIO_AUTH_TOKEN (to check webhook signatures)")
    if not twilio["TWILIO_ACCOUNT_SID"]:
        missing.append("TWILIO_ACCOUNT_SID")
    if bool(twilio["TWILIO_API_KEY"]) != bool(twilio["TWILIO_API_SECRET"]):
        missing.append("TWILIO_API_KEY and TWILIO_API_SECRET together")
    if not (twilio["TWILIO_MESSAGING_SERVICE_SID"] or twilio["TWILIO_FROM_NUMBER"]):
        missing.append("TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER (the sender)")
    if missing:
        raise ConfigError("Twilio settings are incomplete; missing: " + "; ".join(missing))
    return True


def check_account_sid(sid: str) -> None:
    """ConfigError unless `sid` looks like an account SID; the value itself is never repeated."""
    if ACCOUNT_SID.fullmatch(sid):
        return
    hint = ""
    if sid.startswith("SK"):
        hint = " (it starts with SK: an API key SID goes in TWILIO_API_KEY)"
    raise ConfigError(
        "TWILIO_ACCOUNT_SID must be AC followed by 32 hex characters, as the Twilio console shows it under "
        f"Account info{hint}"
    )


def twilio_public_origin(configured: str | None) -> str:
    """PUBLIC_BASE_URL as the bare origin Twilio calls, or ConfigError saying what to set.

    Twilio signs the exact URL it calls, and tracking links must be reachable:
    with Twilio settings the origin is https://, plain http:// only on a
    loopback host (local tests against a Twilio mock), with no path, query or
    fragment. A single trailing slash is dropped and the scheme lower-cased.
    """
    what = "set it to the public https origin Twilio calls, e.g. https://sms.example.com"
    if not configured:
        raise ConfigError(f"PUBLIC_BASE_URL is required with Twilio settings: {what}")
    value = configured[:-1] if configured.endswith("/") and not configured.endswith("//") else configured
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"PUBLIC_BASE_URL is not a valid URL: {what}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"PUBLIC_BASE_URL must be an https:// origin with Twilio settings: {what}")
    host_port = parts.netloc.rpartition("@")[2]
    if parts.username is not None or parts.password is not None:
        # The value is never repeated: what precedes the @ may be a password.
        raise ConfigError(f"PUBLIC_BASE_URL must not carry a user or password: set it to {scheme}://{host_port}")
    host = host_port if host_port.endswith("]") else host_port.rsplit(":", 1)[0]
    if not _HOST.fullmatch(host) or host_port.endswith(":"):
        raise ConfigError(f"PUBLIC_BASE_URL has no valid host name: {what}")
    origin = f"{scheme}://{host_port}"
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ConfigError(
            "PUBLIC_BASE_URL must be a bare origin with no path, query or fragment (Twilio signs the URL it calls, "
            f"and the service adds /twilio/sms itself): set it to {origin}"
        )
    if scheme == "http" and (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise ConfigError(
            "PUBLIC_BASE_URL must be https:// with Twilio settings (http:// only for localhost, 127.0.0.1 or [::1]): "
            f"set it to https://{host_port}"
        )
    return origin
