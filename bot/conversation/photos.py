"""How pictures read in texts: the links a relay to dispatchers carries, and the dispatcher's receipt.

A customer's picture reaches dispatchers as a private link after the words
("Dana (1001, scheduled): How much for this? Photo: https://.../m/..."): plain
GSM-7, so a relay of plain words stays 160 characters a segment. The links are
never cut to fit; the words are.
"""

from __future__ import annotations

from bot.conversation import texts
from bot.conversation.display import fit
from bot.conversation.facts import Pictures


def photo_words(pictures: Pictures) -> str:
    """ "Photo: <link>", "Photos: <link> <link> (2 pictures unavailable)"; "" for a text with none."""
    if not pictures:
        return ""
    parts = list(pictures.links)
    if pictures.unavailable == 1:
        parts.append(texts.PICTURE_UNAVAILABLE)
    elif pictures.unavailable > 1:
        parts.append(texts.PICTURES_UNAVAILABLE.format(count=pictures.unavailable))
    frame = texts.PHOTO if pictures.count == 1 else texts.PHOTOS
    return frame.format(links=" ".join(parts))


def words_and_photos(text: str, pictures: Pictures, room: int) -> str:
    """What the person sent, in at most `room` characters where it can be: the words (cut if they
    must be) and then the photo links, whole. A text of pictures only is just its links."""
    photos = photo_words(pictures)
    if not photos:
        return fit(text, room)
    if not text.strip():
        return photos
    return f"{fit(text, room - len(photos) - 1)} {photos}"


def with_photos(sentence: str, count: int) -> str:
    """A receipt ("Customer texted.", "Sent to Dana (1001).") saying `count` photos went with it."""
    if count <= 0:
        return sentence
    ending = texts.WITH_PHOTO if count == 1 else texts.WITH_PHOTOS.format(count=count)
    return sentence.removesuffix(".") + ending
