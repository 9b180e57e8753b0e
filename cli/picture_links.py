"""A picture's link as `qdn chat` and `qdn log` print it: the one a phone gets in an MMS.

That is the signed, expiring `/m/{business}/{id}.{exp}.{sig}` link the sender hands Twilio
(bot.media.PictureLinks, good for TEXT_LINK_SECONDS), made here with the deployment's SECRET_KEY
for the business the dashboard token acts for (GET /business): it opens in any browser with no
login, unlike the dashboard's `/media/{id}`, which answers only with the API token.
"""

from __future__ import annotations

import time
from typing import Any

from bot.media import TEXT_LINK_SECONDS, PictureLinks
from config.settings import Settings

NO_KEY = "no SECRET_KEY here to sign its link; run qdn with the service's settings"


def signed_link(settings: Settings, slug: str, item: dict[str, Any]) -> str | None:
    """The public link of a message's `media` item, None when these settings have no SECRET_KEY."""
    key = str(settings.secret_key)
    if not key:
        return None
    links = PictureLinks(settings.public_base_url, slug, key)
    return links.url(str(item.get("id")), seconds=TEXT_LINK_SECONDS, now=time.time())
