"""The pictures an inbound MMS names (NumMedia, MediaUrl{i}, MediaContentType{i}): which may be fetched.

Nothing is fetched here (the webhook answers at once): each URL that is Twilio's
media gets a media id and a link now, and the inbound row names it for the
fetcher (sender/media/fetch.py; docs/pictures.md).
https://www.twilio.com/docs/messaging/guides/webhook-request#media-related-parameters
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import conversation as talk
from bot.media import TEXT_LINK_SECONDS, new_media_id
from bot.media_sources import fetch_origins, is_media_url, origin
from config.checks import LOOPBACK_HOSTS
from config.settings import Settings
from handlers.services import Services
from handlers.twilio.forms import InboundSms

log = logging.getLogger("qdn.sms")


def _may_fetch(url: str, settings: Settings) -> bool:
    """Whether a MediaUrl may be fetched: Twilio's media, TWILIO_API_BASE_URL's (a local Twilio), and
    in local use (no Twilio settings) a loopback http address too -- `qdn chat /photo`'s simulator."""
    local_use = not settings.twilio_live
    api = settings.twilio_api_base_url
    return is_media_url(url, fetch_origins(url, api_base_url=api, local_use=local_use, loopback_hosts=LOOPBACK_HOSTS))


def named_pictures(sms: InboundSms, svc: Services, now: datetime) -> tuple[talk.Pictures, list[dict[str, str]]]:
    """The pictures a text carries, and the inbound row's `media_fetch` items ({id, url, type}).

    `sms.pictures` are the first min(NumMedia, 10) (handlers/twilio/forms.py decode_sms). A URL that
    is not Twilio's media -- a forged-but-signed body naming an internal address -- is never
    fetched; it and a missing one are counted as unavailable, so a person still hears of them.
    Links to the others are made now, for the relays: the ids are known before the bytes.
    """
    ids: list[str] = []
    links: list[str] = []
    fetch: list[dict[str, str]] = []
    for index, picture in enumerate(sms.pictures):
        url = picture.url
        if not _may_fetch(url, svc.settings):
            if url:  # the origin only: enough to recognise, short, and never the whole URL
                where = (origin(url) or "not an http(s) URL")[:80]
                log.warning("MediaUrl%d of a text is not Twilio's media (%s); dropped, never fetched", index, where)
            continue
        media_id = new_media_id()
        declared = picture.declared_type
        ids.append(media_id)
        links.append(svc.picture_links.url(media_id, seconds=TEXT_LINK_SECONDS, now=now.timestamp()))
        fetch.append({"id": media_id, "url": url, "type": declared})
    return talk.Pictures(tuple(ids), tuple(links), unavailable=len(sms.pictures) - len(ids)), fetch
