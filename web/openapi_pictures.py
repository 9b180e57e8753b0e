"""The pictures in the OpenAPI document: the public view's `pictures`, a picture's id in a path, its bytes.

Served by handlers/media.py and handlers/track/pictures.py; web/openapi.py puts them in its paths.
"""

from __future__ import annotations

from typing import Any

from bot.media import KEPT_TYPES
from web.openapi_views import PUBLIC_VIEW

PICTURE = {
    "type": "object",
    "required": ["url", "type", "size", "from", "label", "at"],
    "properties": {
        "url": {"type": "string", "format": "uri", "description": "a private link, good for a day; open it as is"},
        "type": {"enum": list(KEPT_TYPES), "description": "the type the picture's bytes show"},
        "size": {"type": "integer", "minimum": 1, "description": "bytes"},
        "from": {"enum": ["you", "business"], "description": "you: the customer sent it; business: sent to them"},
        "label": {"type": "string", "description": "e.g. `From you`, `Delivered here`, `Picked up`"},
        "at": {"type": "string", "format": "date-time", "description": "when its text was sent"},
    },
    "additionalProperties": False,
}
# The public view, with the job's pictures (the customer's own and the business's to them), oldest first.
VIEW: dict[str, Any] = PUBLIC_VIEW
PUBLIC_JOB = {
    **VIEW,
    "required": [*VIEW["required"], "pictures"],
    "properties": {**VIEW["properties"], "pictures": {"type": "array", "items": PICTURE}},
}
MEDIA_ID = {
    "name": "media_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "a picture's `id`, from a message's `media`",
}
PICTURE_BYTES = {
    "description": "the picture's bytes, with the type sniffed from them when it was kept; `Cache-Control: "
    "private`, `Content-Disposition: inline`, `X-Robots-Tag: noindex`, `X-Content-Type-Options: nosniff`",
    "headers": {
        "Cache-Control": {"schema": {"type": "string"}, "example": "private, max-age=3600"},
        "Content-Disposition": {"schema": {"type": "string"}, "example": 'inline; filename="picture-Zk3q8Xw1.jpg"'},
    },
    "content": {kind: {"schema": {"type": "string", "contentMediaType": kind}} for kind in KEPT_TYPES},
}
