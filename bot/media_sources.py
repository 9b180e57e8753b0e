"""Where a picture may be fetched from: Twilio's API and media hosts, nowhere else.

A webhook is signed, but a signed body is still only as trustworthy as the
key that signed it: a `MediaUrl0` naming an internal address must not make
this service fetch it (server-side request forgery). So the URL a webhook
names must be a Media resource of Twilio's API, and a redirect may lead only
to Twilio's media store. `extra_origins` adds origins for a local Twilio
(`TWILIO_API_BASE_URL` in tests; the simulator's own address in local use:
`fetch_origins` says which, for the webhook and the fetcher alike).

https://www.twilio.com/docs/messaging/api/media-resource
https://support.twilio.com/hc/en-us/articles/223183748 (the media hosts a fetch is redirected to)
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from urllib.parse import urlsplit

TWILIO_API = "https://api.twilio.com"
# /2010-04-01/Accounts/AC.../Messages/MM.../Media/ME... : a Media resource, nothing else of the API.
_MEDIA_PATH = re.compile(
    r"/2010-04-01/Accounts/AC[0-9a-fA-F]{32}/Messages/(MM|SM)[0-9a-fA-F]{32}/Media/ME[0-9a-fA-F]{32}"
)
# Redirect targets: Twilio's CDN, or its media bucket on S3 (unauthenticated media, older accounts).
_CDN = re.compile(r"[a-z0-9-]+\.twiliocdn\.com")
_S3_HOSTS = ("s3-external-1.amazonaws.com", "s3.amazonaws.com")
_S3_PATH_PREFIX = "/media.twiliocdn.com/"


def origin(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, lower-cased; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises for a port that is not a number
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def is_media_url(url: str, extra_origins: Iterable[str] = ()) -> bool:
    """Whether a webhook's MediaUrl{i} may be fetched: a Twilio Media resource (or one of a local Twilio)."""
    home = origin(url)
    if home is None:
        return False
    path = urlsplit(url.strip()).path
    if home == TWILIO_API:
        return bool(_MEDIA_PATH.fullmatch(path))
    return home in {origin(extra) for extra in extra_origins}


def is_media_redirect(url: str, extra_origins: Iterable[str] = ()) -> bool:
    """Whether a redirect met while fetching may be followed: Twilio's API or media store, https only."""
    home = origin(url)
    if home is None:
        return False
    if home in {origin(extra) for extra in extra_origins}:
        return True
    if not home.startswith("https://"):
        return False
    host = home.removeprefix("https://")
    if host == "api.twilio.com" or _CDN.fullmatch(host):
        return True
    return host in _S3_HOSTS and urlsplit(url.strip()).path.startswith(_S3_PATH_PREFIX)


def fetch_origins(url: str, *, api_base_url: str | None, local_use: bool, loopback_hosts: Collection[str]) -> list[str]:
    """The origins besides Twilio's that `url` may be fetched from, for `is_media_url` / `is_media_redirect`.

    `api_base_url`: TWILIO_API_BASE_URL (a local Twilio). In local use (no Twilio settings) also
    `url`'s own origin when it is plain http on a loopback host: where `qdn chat /photo` serves
    the pictures it sends. A live service never fetches from anywhere but Twilio (and its mock).
    """
    extra = [api_base_url] if api_base_url else []
    home = origin(url)
    if (
        local_use
        and home is not None
        and home.startswith("http://")
        and (urlsplit(url).hostname or "") in loopback_hosts
    ):
        extra.append(home)
    return extra
