"""The public side of a job: the token API and the tracking page, its view, templates and assets."""

from handlers.track.endpoints import (
    POLL_SECONDS,
    STATIC_DIR,
    token_messages,
    token_view,
    track_page,
    unavailable_page,
)

__all__ = ["POLL_SECONDS", "STATIC_DIR", "token_messages", "token_view", "track_page", "unavailable_page"]
