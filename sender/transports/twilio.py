"""Texts through Twilio's REST API: the twilio SDK over an httpx client with timeouts.

`HttpxTwilioClient` honours TWILIO_API_BASE_URL, so respx or a local fake can
see the exact form Twilio would receive.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http import AsyncHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from bot.webhook_paths import OLD_STATUS_PATH, status_callback_path
from config.settings import Settings
from sender.transports.base import Accepted, Listing, SendFailed, Transport

log = logging.getLogger("qdn.transport")

TWILIO_API_ORIGIN = "https://api.twilio.com"
# Twilio answers a create in well under a second; 15 s of silence means trouble.
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0, pool=5.0)
RETRYABLE_CODES = frozenset({20429})  # "Too Many Requests" in Twilio's own numbering
# How far before the attempt a message found by lookup may have been created (clock skew).
LOOKUP_SLACK = timedelta(minutes=5)
LOOKUP_LIMIT = 50
# Proving a text never reached Twilio lists every text to the phone in one page (Twilio's largest),
# with no date filter: a queued text has no DateSent yet, and the order of a list by DateSent puts
# those somewhere Twilio does not document. A phone with this many texts from us proves nothing.
LISTING_LIMIT = 1000


class HttpxTwilioClient(AsyncHttpClient):
    """The twilio SDK's async HTTP client, on httpx, with timeouts.

    Requests to https://api.twilio.com go to `base_url` instead when it is
    set (TWILIO_API_BASE_URL: a local Twilio mock, or a benchmark's fake).
    Unlike the SDK's own clients it never logs requests: their query strings
    carry phone numbers.
    """

    def __init__(
        self,
        base_url: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 32,  # matches the worker's most sends in flight (sender.worker)
    ) -> None:
        super().__init__(logger=log, is_async=True, timeout=timeout.read)
        self.base_url = base_url.rstrip("/") if base_url else None
        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def rewrite(self, url: str) -> str:
        """`url` with Twilio's API origin replaced by `base_url` (when set)."""
        if self.base_url and (url == TWILIO_API_ORIGIN or url.startswith(TWILIO_API_ORIGIN + "/")):
            return self.base_url + url[len(TWILIO_API_ORIGIN) :]
        return url

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        response = await self._client.request(
            method.upper(),
            self.rewrite(url),
            params=params,  # type: ignore[arg-type]
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=allow_redirects,
        )
        return TwilioResponse(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()


def twilio_client(settings: Settings, http_client: AsyncHttpClient) -> Client:
    """The SDK client: API key + secret when set, else account SID + auth token."""
    if settings.twilio_api_key and settings.twilio_api_secret:
        return Client(
            settings.twilio_api_key,
            str(settings.twilio_api_secret),
            settings.twilio_account_sid,
            http_client=http_client,
        )
    return Client(settings.twilio_account_sid, str(settings.twilio_auth_token), http_client=http_client)


def _twilio_message(error: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(error, TwilioServiceException):
        return error.detail or error.title
    return str(error.msg).removeprefix("Unable to create record: ").removeprefix("Unable to fetch page: ")


def classify(error: TwilioRestException | TwilioServiceException) -> SendFailed:
    """Twilio's refusal as a SendFailed: retry 429/20429 and 5xx, never other 4xx."""
    status = int(error.status)
    code = int(error.code) if isinstance(error.code, int) or str(error.code).isdigit() else status
    outcome = "retry" if status == 429 or code in RETRYABLE_CODES or status >= 500 else "permanent"
    return SendFailed(outcome, _twilio_message(error), code=code, http_status=status)


def _transport_failure(error: httpx.TransportError) -> SendFailed:
    # Connecting failed: nothing reached Twilio, so a retry cannot duplicate.
    # Anything later (read timeout, reset, garbled answer) may have been sent.
    if isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return SendFailed("retry", f"could not connect to Twilio: {type(error).__name__}")
    return SendFailed("unsure", f"no answer from Twilio after sending: {type(error).__name__}")


class TwilioTransport(Transport):
    """Texts through Twilio's REST API."""

    lists_texts = True

    live = True

    def __init__(self, settings: Settings, http_client: HttpxTwilioClient | None = None) -> None:
        self.http = http_client or HttpxTwilioClient(settings.twilio_api_base_url)
        self.client = twilio_client(settings, self.http)
        # Resolved once here: the SDK imports its whole API tree on first use, so do it at start-up.
        self.messages = self.client.messages
        # The Messaging Service wins when both are set (SPEC); Twilio then picks the number.
        self.sender: dict[str, Any] = (
            {"messaging_service_sid": settings.twilio_messaging_service_sid}
            if settings.twilio_messaging_service_sid
            else {"from_": settings.twilio_from_number}
        )
        self.public_base_url = settings.public_base_url
        self.business = settings.business_slug

    def status_callback(self, message_id: str) -> str:
        """Where Twilio reports on the text: this business's status address, naming the message (SPEC
        "Webhook addresses name the business"); the older /twilio/status for a text sent without an id."""
        path = status_callback_path(self.business, message_id) if message_id else OLD_STATUS_PATH
        return self.public_base_url + path

    async def send(self, to: str, body: str, media_urls: Sequence[str] = (), *, message_id: str = "") -> Accepted:
        # An MMS repeats MediaUrl, one per picture; a plain text's form stays exactly as it was.
        media: dict[str, Any] = {"media_url": list(media_urls)} if media_urls else {}
        try:
            sent = await self.messages.create_async(
                to=to, body=body, status_callback=self.status_callback(message_id), **self.sender, **media
            )
        except (TwilioRestException, TwilioServiceException) as error:
            raise classify(error) from None
        except httpx.TransportError as error:
            raise _transport_failure(error) from None
        except ValueError:  # a 2xx whose body is not JSON: it reached Twilio
            raise SendFailed("unsure", "Twilio's answer could not be read") from None
        return Accepted(sent.sid, str(sent.status), sent.error_code, sent.error_message, sent.date_created)

    async def find_sent(self, to: str, body: str, since: datetime) -> list[Accepted]:
        # Filter by To (and From when we send from one number), newest first, and
        # match the body. Not by DateSent: a message Twilio still queues has none.
        found = await self._texts_to(to, LOOKUP_LIMIT)
        earliest = since - LOOKUP_SLACK
        matches = [
            Accepted(m.sid, str(m.status), m.error_code, m.error_message, m.date_created)
            for m in found
            if m.body == body and (m.date_created is None or m.date_created >= earliest)
        ]
        return sorted(matches, key=lambda a: a.created or since)

    async def texts_since(self, to: str, since: datetime) -> Listing:
        found = await self._texts_to(to, LISTING_LIMIT)
        earliest = since - LOOKUP_SLACK
        texts = [
            Accepted(m.sid, str(m.status), m.error_code, m.error_message, m.date_created)
            for m in found
            if m.date_created is None or m.date_created >= earliest  # no date: it counts
        ]
        return Listing(texts, complete=len(found) < LISTING_LIMIT)

    async def _texts_to(self, to: str, limit: int) -> list[Any]:
        """Twilio's list of texts to `to` (and from our number when we send from one), newest first,
        in one page of `limit`; SendFailed("retry") when the lookup fails."""
        filters: dict[str, Any] = {"to": to, "limit": limit, "page_size": limit}
        if "from_" in self.sender:
            filters["from_"] = self.sender["from_"]
        try:
            return list(await self.messages.list_async(**filters))
        except (TwilioRestException, TwilioServiceException) as error:
            raise SendFailed("retry", f"lookup failed: {_twilio_message(error)}", code=error.code) from None
        except (httpx.TransportError, ValueError) as error:
            raise SendFailed("retry", f"lookup failed: {type(error).__name__}") from None

    async def close(self) -> None:
        await self.http.close()
