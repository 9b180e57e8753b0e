"""A picture sent from the inbox's reply form: kept as every picture is, then sent as the API's `media`.

The bytes are checked as a texted-in picture's are (bot.media.check_picture: size, type sniffed from
the bytes, pixel count) and kept in the business's store (Store.save_media); the reply then goes
through Services.text_customer with `media` [{id, type, size}] -- the same row POST
/jobs/{id}/messages makes with a kept picture, sent by the sender as an MMS with a signed link.
"""

from __future__ import annotations

from starlette.datastructures import FormData, UploadFile

from bot import jobs
from bot.errors import ValidationError
from bot.media import MAX_BYTES, NotAPicture, check_picture, new_media_id
from handlers.services import Services
from store import MediaFile

FIELD = "picture"


async def uploaded_picture(svc: Services, form: FormData, by: str) -> list[dict[str, object]]:
    """The reply's `media`: [] when no file was chosen, else the one picture, kept.

    ValidationError (the form shown again with the reason) for a file that is not a picture we keep."""
    upload = form.get(FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return []  # a browser sends an empty part when no file is chosen
    data = await upload.read(MAX_BYTES + 1)  # (the form's files are closed by views.logged_in)
    try:
        kind = check_picture(data)
    except NotAPicture as why:
        raise ValidationError(FIELD, f"{upload.filename[:80]!r} can't be sent: {why}") from None
    # No message holds it yet (the reply is queued after): the record says where it came from.
    picture = MediaFile(new_media_id(), kind, data, message_id=f"inbox reply by {by}", created_at=jobs.utc_now())
    await svc.store.save_media(picture)
    return [{"id": picture.id, "type": picture.content_type, "size": picture.size}]
