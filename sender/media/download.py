"""One picture fetched from Twilio: only from its hosts, never more than MAX_BYTES, checked by its bytes.

`download` is the HTTP half of the fetcher (sender/media/fetch.py). What it
guards against (issue #18 "Bad input"):

- a URL that is not a Twilio Media resource (a forged-but-signed webhook): refused before any request;
- a redirect off Twilio's hosts (an internal address): not followed; at most MAX_REDIRECTS;
- the credentials leaking: basic auth goes to the first URL's origin only, never to a redirect's
  other host (Twilio's CDN links are pre-signed and need none);
- a huge body: a declared Content-Length past MAX_BYTES is refused unread, and the body is read in
  chunks and dropped as soon as it passes MAX_BYTES (a 50 MB body is never held whole);
- a slow one: every read times out after TIMEOUT_SECONDS, the whole picture after DEADLINE_SECONDS;
- a body that is not a picture (HTML, a wrong Content-Type, a decompression bomb): `check_picture`
  judges the bytes alone and reads only the header.

A failure is `FetchFailed`: `retry` for what may clear by itself (a timeout, no connection, 429,
5xx), else permanent (404 or other 4xx, not a picture, too big, a redirect off the allowlist).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from bot.media import MAX_BYTES, NotAPicture, check_picture
from bot.media_sources import TWILIO_API, is_media_redirect, is_media_url, origin
from config.settings import Settings

MAX_REDIRECTS = 3  # Twilio redirects once (API -> its media host)
TIMEOUT_SECONDS = 10.0
DEADLINE_SECONDS = 30.0  # a server trickling bytes under the read timeout still ends here
CHUNK = 64 * 1024


class FetchFailed(Exception):
    """A picture not fetched; `retry` says whether trying again later may help."""

    def __init__(self, reason: str, *, retry: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


@dataclass(frozen=True)
class Picture:
    content_type: str  # sniffed from the bytes
    data: bytes


def credentials(settings: Settings) -> httpx.BasicAuth | None:
    """The business's Twilio credentials, as its sends use them: API key + secret, else SID + token."""
    if settings.twilio_api_key and settings.twilio_api_secret:
        return httpx.BasicAuth(settings.twilio_api_key, str(settings.twilio_api_secret))
    if settings.twilio_account_sid and settings.twilio_auth_token:
        return httpx.BasicAuth(settings.twilio_account_sid, str(settings.twilio_auth_token))
    return None  # local use with no Twilio settings: the simulator serves its pictures openly


async def download(
    client: httpx.AsyncClient, url: str, *, auth: httpx.BasicAuth | None, extra: Iterable[str]
) -> Picture:
    """The picture at `url` (a webhook's MediaUrl), checked; FetchFailed otherwise."""
    extra = list(extra)
    if not is_media_url(url, extra):
        raise FetchFailed("not a Twilio media URL; never requested")
    if auth is None and origin(url) == TWILIO_API:
        # Twilio asks for credentials (HTTP basic auth on media); without any, no try can succeed.
        raise FetchFailed("no Twilio credentials to fetch it with (local use); never requested")
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            data = await _follow(client, url, auth, extra)
    except TimeoutError:
        raise FetchFailed(f"no picture within {DEADLINE_SECONDS:g} s", retry=True) from None
    except httpx.TransportError as error:  # timeouts, refused or reset connections
        raise FetchFailed(f"fetch failed: {type(error).__name__}", retry=True) from None
    except httpx.HTTPError as error:  # a malformed URL or answer: trying again gives the same
        raise FetchFailed(f"fetch failed: {type(error).__name__}") from None
    try:
        return Picture(check_picture(data), data)
    except NotAPicture as refused:
        raise FetchFailed(str(refused)) from None


async def _follow(client: httpx.AsyncClient, url: str, auth: httpx.BasicAuth | None, extra: list[str]) -> bytes:
    first = origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        # Auth to the first origin only: a redirect elsewhere (Twilio's CDN) gets no credentials.
        request = client.build_request("GET", url, headers={"Accept-Encoding": "identity"})
        own_auth = auth if origin(url) == first else None
        response = await client.send(request, auth=own_auth, stream=True, follow_redirects=False)
        try:
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                if not is_media_redirect(url, extra):
                    raise FetchFailed(f"redirected off Twilio's media hosts (to {origin(url) or 'a bad URL'})")
                continue
            _check_status(response.status_code)
            return await _read_capped(response)
        finally:
            await response.aclose()
    raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")


def _check_status(status: int) -> None:
    if status == 429 or status >= 500:
        raise FetchFailed(f"HTTP {status} from Twilio", retry=True)
    if not 200 <= status < 300:
        raise FetchFailed(f"HTTP {status} from Twilio")


async def _read_capped(response: httpx.Response) -> bytes:
    """The body, read only while it stays within MAX_BYTES (raw: no decompression expands it)."""
    too_big = FetchFailed(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_big
    body = bytearray()
    async for chunk in response.aiter_raw(CHUNK):
        body += chunk
        if len(body) > MAX_BYTES:
            raise too_big
    return bytes(body)
