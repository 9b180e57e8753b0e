"""Deleting Twilio's copy of a picture once ours is kept (SPEC: DELETE_TWILIO_MEDIA, default on).

Through the twilio SDK (DELETE on the Media resource), on the same httpx client
as the sends (sender/transports/twilio.py), so TWILIO_API_BASE_URL sends it to
a local Twilio in tests. One try: a failed delete is logged and left (the
picture is safe with us; Twilio's copy only costs storage), never retried forever.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.media_sources import TWILIO_API, origin
from config.settings import Settings
from sender.media.download import credentials

log = logging.getLogger("qdn.media")

# The SIDs a Media resource URL names (Twilio's, or a local Twilio's under any path prefix).
_MEDIA_SIDS = re.compile(r"/Accounts/(AC[0-9A-Za-z]+)/Messages/([A-Z]{2}[0-9A-Za-z]+)/Media/(ME[0-9A-Za-z]+)$")


class TwilioMediaDeleter:
    """Deletes pictures from one business's Twilio account; `close()` when done."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http: Any = None  # HttpxTwilioClient, made at the first delete
        self._client: Any = None

    def deletes(self, url: str) -> bool:
        """Whether the picture fetched from `url` is to be deleted at Twilio afterwards.

        Only a Twilio Media resource: on Twilio's API with live settings, or on TWILIO_API_BASE_URL
        (never the simulator's own loopback URL in local use), and with credentials to do it.
        """
        settings = self.settings
        if not settings.delete_twilio_media or _MEDIA_SIDS.search(url.split("?", 1)[0]) is None:
            return False
        if credentials(settings) is None:
            return False
        home = origin(url)
        on_test_twilio = bool(settings.twilio_api_base_url) and home == origin(settings.twilio_api_base_url or "")
        return on_test_twilio or (settings.twilio_live and home == TWILIO_API)

    async def delete(self, url: str) -> bool:
        """Delete the Media resource `url` names; whether Twilio confirmed it (failures are logged)."""
        found = _MEDIA_SIDS.search(url.split("?", 1)[0])
        if found is None:
            return False
        account, message, media = found.groups()
        try:
            client = self._twilio()
            return bool(await client.api.v2010.accounts(account).messages(message).media(media).delete_async())
        except Exception as error:  # a 404 (already gone), no connection ...: ours is kept either way
            log.warning("Twilio's copy of picture %s not deleted: %s", media, _reason(error))
            return False

    def _twilio(self) -> Any:
        if self._client is None:
            # Imported here: the SDK's tree loads only where pictures are deleted.
            from sender.transports.twilio import HttpxTwilioClient, twilio_client

            self._http = HttpxTwilioClient(self.settings.twilio_api_base_url)
            self._client = twilio_client(self.settings, self._http)
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def _reason(error: Exception) -> str:
    status = getattr(error, "status", None)  # TwilioRestException: its HTTP status and code
    code = getattr(error, "code", None)
    if status is not None:
        return f"HTTP {status}" + (f" (Twilio error {code})" if code else "")
    return type(error).__name__
