"""A picture sent from the inbox's reply form: kept as every picture is, then sent as the API's `media`.

The bytes are checked as a texted-in picture's are (bot.media.check_picture: size, type sniffed from
the bytes, pixel count) and kept in the business's store (Store.save_media); the reply then goes
through Services.text_customer with `media` [{id, type, size}] -- the same row POST
/jobs/{id}/messages makes with a kept picture, sent by the sender as an MMS with a signed link.

The picture is kept *before* the reply is queued, so the sender never sends a text naming a
picture not yet kept; it is kept as the inbox's (UNSENT) until the reply is stored, and then names
that reply as its message (Store.set_media_message), as a dispatcher's texted picture names the
text that brought it.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from bot import jobs
from bot.errors import ValidationError
from bot.media import MAX_BYTES, NotAPicture, check_picture, new_media_id
from handlers.services import Services
from store import MediaFile

FIELD = "picture"
UNSENT = "inbox upload"  # a kept picture's message until its reply is stored (a reply refused after leaves it so)


def chosen_picture(form: FormData) -> UploadFile | None:
    """The file chosen in the form's Picture input, None when none was (a browser sends an empty part)."""
    upload = form.get(FIELD)
    return upload if isinstance(upload, UploadFile) and upload.filename else None


async def kept_picture(svc: Services, upload: UploadFile) -> list[dict[str, object]]:
    """The reply's `media`: the chosen picture, kept.

    ValidationError (the form shown again with the reason) for a file that is not a picture we keep."""
    data = await upload.read(MAX_BYTES + 1)  # (the form's files are closed by views.logged_in)
    try:
        kind = check_picture(data)
    except NotAPicture as why:
        raise ValidationError(FIELD, f"{(upload.filename or '')[:80]!r} can't be sent: {why}") from None
    picture = MediaFile(new_media_id(), kind, data, message_id=UNSENT, created_at=jobs.utc_now())
    await svc.store.save_media(picture)
    return [{"id": picture.id, "type": picture.content_type, "size": picture.size}]


async def sent_with(svc: Services, media: list[dict[str, object]], message_id: str) -> None:
    """The kept pictures now belong to the reply that sends them."""
    for item in media:
        await svc.store.set_media_message(str(item["id"]), message_id)
