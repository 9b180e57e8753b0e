"""Marking a phone that cannot take texts, and telling the dispatchers once per job (bot/undeliverable.py).

Called wherever Twilio answers 30006 / 30005 / 21614: the sender on a send's REST error, the status
callback on a delivery report. Here, below both, so they share it. The `phone.undeliverable`
dashboard event is queued by the store itself in the write that settles the failed text
(store/events.py), whichever of the two wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot import undeliverable
from bot.errors import NotFound
from bot.messages import outbound_message
from bot.phones import redact_phone
from store.base import Message, Store

log = logging.getLogger("qdn.undeliverable")


async def mark_undeliverable(
    store: Store, message: Message, code: int | None, now: str, *, dispatchers: Iterable[str], sender: str
) -> bool:
    """Mark `message`'s recipient if `code` says it cannot take texts; whether the dispatchers were told.

    They are told once per phone per job: the mark remembers the jobs already named. A text to a
    dispatcher is never marked here (they would be told about themselves)."""
    reason = undeliverable.reason_for(code)
    team = list(dispatchers)
    phone = message.get("to")
    if reason is None or code is None or message.get("direction") != "outbound" or not phone or phone in team:
        return False
    tell = False

    def change(state: dict[str, object]) -> dict[str, object]:
        nonlocal tell
        updated, tell = undeliverable.marked(state, message, code, now)
        return updated

    await store.update_phone(phone, change)
    log.info("%s can't receive texts (%s, Twilio error %s)", redact_phone(phone), reason, code)
    if not tell:
        return False
    job_id = message.get("job_id")
    name = None
    if job_id is not None:
        try:
            name = (await store.get_job(job_id)).get("customer_name")
        except NotFound:
            job_id = None
    body = undeliverable.notice(name, job_id, phone, reason)
    for dispatcher in team:
        opted_out = await store.is_opted_out(dispatcher)
        row = outbound_message(
            kind="relay", to=dispatcher, body=body, sender=sender, now=now, opted_out=opted_out, job_id=job_id
        )
        await store.add_message(row)
    return True
