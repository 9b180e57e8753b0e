"""Copy a whole deployment into another, empty store: `qdn store copy --to URL` (SPEC "Running on PostgreSQL").

    report = await copy_deployment(source, target)     # both opened with open_deployment
    print("\\n".join(report.lines()))

What is copied: the business registry (records as stored: Twilio secrets stay sealed
under SECRET_KEY, dashboard tokens stay hashes) and, for every business, its jobs
(ids, tokens, history and times kept), their conversations and each phone's own
texts (in order, every key kept -- status, Twilio SIDs, `send_started_at`, times --
but the message id, which the target makes), and phone states (opt-outs, loop
guards). Pending texts are messages like any other: they arrive `pending` and
unclaimed, and the target's senders take them up. So are texts whose pictures are
still to fetch (`media_due_at`): the target's fetchers take them up. The pictures the
messages carry (`media`) are copied after the rows, each under its own id, with the
target's id of the message that brought it.

What is not: idempotency keys (kept 24 hours; a client retrying a request made
before the switch gets it acted on again) and dashboard events not delivered yet
(the Store interface reads them only by claiming them for delivery). The report
says whether any event was waiting, so an operator can let the old service deliver
them first. Claims on texts are not copied either: no sender holds one in the target.

The target must be empty -- no business registered, no job, no phone in the default
business -- so a copy never mixes two deployments. Rows are written in batches, each
one atomic (Store.import_rows); afterwards everything is read back from the target
and compared with the source, business by business: counts and a digest of every
row and picture (message ids aside: a picture's message is digested as its place in
the reading order). A copy that fails halfway leaves a non-empty target, which a
second run refuses: empty it (drop and re-create the database, or delete the folder).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.errors import StoreError
from store.base import Job, MediaFile, Message, PhoneState, Store
from store.deployment import Deployment

JOBS_PER_WRITE = 100  # jobs (with their whole conversations) per import_rows call
PHONES_PER_WRITE = 200

# Keys of a message the copy does not carry: the target makes its own id, and no sender holds a claim there.
LEFT_OUT = ("id", "claimed_until")


class CopyRefused(StoreError):
    """The copy did not start (a non-empty target, the source itself)."""


class CopyFailed(StoreError):
    """The target does not hold what the source holds after the copy."""


@dataclass
class Rows:
    """One import_rows call's worth of a store."""

    jobs: list[Job] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    phones: dict[str, PhoneState] = field(default_factory=dict)


@dataclass
class Pictures:
    """The pictures a store's messages carry (`media`), met while its rows are read: each id once, in
    the order first met, and the place in the reading order of each message carrying any -- a
    picture's `message_id` names one of those, by an id a copy does not keep."""

    ids: list[str] = field(default_factory=list)
    places: dict[str, int] = field(default_factory=dict)  # message id -> its place among all messages read
    read: int = 0
    _known: set[str] = field(default_factory=set)

    def meet(self, messages: list[Message]) -> None:
        known = self._known
        for message in messages:
            items = message.get("media") or []
            if items:
                self.places[message["id"]] = self.read
            for item in items:
                media_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(media_id, str) and media_id not in known:
                    known.add(media_id)
                    self.ids.append(media_id)
            self.read += 1

    def place_of(self, media: MediaFile) -> int | None:
        return self.places.get(media.message_id)


@dataclass
class Tally:
    """What one business's store holds: counts, and a digest of every row and picture in reading order."""

    jobs: int = 0
    messages: int = 0
    pending: int = 0
    phones: int = 0
    pictures: int = 0
    digest: Any = field(default_factory=hashlib.sha256)

    def add(self, rows: Rows) -> None:
        self.jobs += len(rows.jobs)
        self.messages += len(rows.messages)
        self.phones += len(rows.phones)
        for kind, items in (("job", rows.jobs), ("message", rows.messages), ("phone", rows.phones.items())):
            for item in items:
                self.digest.update(json.dumps([kind, item], sort_keys=True, default=str).encode() + b"\n")

    def add_picture(self, media_id: str, media: MediaFile | None, place: int | None) -> None:
        """A picture named by a message: held (its type, bytes, time and message's place) or not."""
        held = None
        if media is not None:
            self.pictures += 1
            held = [media.content_type, hashlib.sha256(media.data).hexdigest(), media.created_at, place]
        self.digest.update(json.dumps(["picture", media_id, held]).encode() + b"\n")

    def counts(self) -> tuple[int, int, int, int, int]:
        return self.jobs, self.messages, self.pending, self.phones, self.pictures

    def same(self, other: Tally) -> bool:
        return self.counts() == other.counts() and self.digest.digest() == other.digest.digest()


@dataclass
class CopyReport:
    businesses: tuple[int, int]  # registered businesses: (source, target)
    source: dict[str, Tally]
    target: dict[str, Tally]
    events_waiting: list[str]  # businesses whose source store had dashboard events not delivered yet

    def lines(self) -> list[str]:
        lines = [
            f"{'business':<20} {'side':<6} {'jobs':>8} {'messages':>9} {'pending':>8} {'phones':>7} {'pictures':>8}"
        ]
        for slug, source in self.source.items():
            for side, tally in (("source", source), ("target", self.target[slug])):
                jobs, messages, pending, phones, pictures = tally.counts()
                lines.append(f"{slug:<20} {side:<6} {jobs:>8} {messages:>9} {pending:>8} {phones:>7} {pictures:>8}")
        source_count, target_count = self.businesses
        lines.append(f"Registered businesses: source {source_count}, target {target_count}.")
        lines.append("Verified: the target holds every row and picture the source holds (message ids are new).")
        lines.append("Not copied: idempotency keys (a retry of a request made before the copy acts again).")
        if self.events_waiting:
            lines.append(
                f"Not copied: dashboard events not delivered yet ({', '.join(self.events_waiting)}); "
                "run the service on the source until they are delivered, then copy again into an empty target."
            )
        return lines


def shown_url(url: str) -> str:
    """A DATABASE_URL as it may be printed: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"))


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _as_copied(message: Message) -> Message:
    return {key: value for key, value in message.items() if key not in LEFT_OUT}


async def read_rows(store: Store, pictures: Pictures | None = None) -> AsyncIterator[Rows]:
    """Everything a business's store holds, in batches: jobs (by id) with their conversations, then
    phones (sorted) with their states and own texts; each conversation in its reading order.
    `pictures` meets each batch's messages (with their ids) before the ids are dropped."""
    jobs = sorted(await store.list_jobs(), key=lambda job: job["id"])
    batches: list[tuple[list[Job], list[str]]] = [(chunk, []) for chunk in _chunks(jobs, JOBS_PER_WRITE)]
    batches += [([], chunk) for chunk in _chunks(await store.phones(), PHONES_PER_WRITE)]
    for chunk, phones in batches:
        rows = Rows(jobs=chunk)
        for job in chunk:
            rows.messages += await store.job_messages(job["id"])
        for phone in phones:
            rows.phones[phone] = await store.get_phone(phone)
            own = await store.phone_messages(phone)
            rows.messages += [m for m in own if m.get("job_id") is None and m.get("phone") == phone]
        if pictures is not None:
            pictures.meet(rows.messages)
        rows.messages = [_as_copied(message) for message in rows.messages]
        yield rows


async def tally(store: Store) -> Tally:
    """What the store holds, read whole."""
    counted = Tally(pending=len(await store.pending_messages()))
    met = Pictures()
    async for rows in read_rows(store, met):
        counted.add(rows)
    for media_id in met.ids:
        media = await store.load_media(media_id)
        counted.add_picture(media_id, media, None if media is None else met.place_of(media))
    return counted


async def copy_pictures(source: Store, target: Store, met: Pictures, counted: Tally) -> None:
    """Each picture `met` in the source's rows, saved in the target (whose rows are copied already) under
    its id, its `message_id` the target's id of the message at the same place; and tallied."""
    if not met.ids:  # the usual store before pictures: no second pass over the target
        return
    there = Pictures()
    async for _ in read_rows(target, there):
        pass
    target_id = {place: message_id for message_id, place in there.places.items()}
    for media_id in met.ids:
        media = await source.load_media(media_id)
        place = None if media is None else met.place_of(media)
        counted.add_picture(media_id, media, place)
        if media is not None:  # a picture named but not held (never fetched) has nothing to copy
            moved = target_id.get(place) if place is not None else None
            await target.save_media(replace(media, message_id=moved or media.message_id))


async def emptiness_problem(target: Deployment) -> str | None:
    """Why the target is not empty, or None if it is."""
    registered = await target.businesses()
    if registered:
        return f"{len(registered)} business(es) registered ({', '.join(r['slug'] for r in registered)})"
    store = target.default
    if jobs := await store.list_jobs():
        return f"{len(jobs)} job(s) stored"
    if phones := await store.phones():
        return f"{len(phones)} phone(s) with texts or state stored"
    return None


async def copy_deployment(source: Deployment, target: Deployment) -> CopyReport:
    """Copy every business and its rows from `source` into the empty `target`, then verify."""
    problem = await emptiness_problem(target)
    if problem is not None:
        raise CopyRefused(f"the target is not empty: {problem}; copy only into a new, empty store")
    records = await source.businesses()
    for record in records:  # oldest first, as stored: the target lists them in the same order
        await target.add_business(record)
    copied: dict[str, Tally] = {}
    waiting: list[str] = []
    for slug, store in source.stores().items():
        counted = Tally(pending=len(await store.pending_messages()))
        destination = target.store(slug)
        met = Pictures()
        async for rows in read_rows(store, met):
            counted.add(rows)
            await destination.import_rows(jobs=rows.jobs, messages=rows.messages, phones=rows.phones)
        await copy_pictures(store, destination, met, counted)
        copied[slug] = counted
        if await store.next_event_due() is not None:
            waiting.append(slug)
    report = CopyReport(
        businesses=(len(records), len(await target.businesses())),
        source=copied,
        target={slug: await tally(target.store(slug)) for slug in copied},
        events_waiting=waiting,
    )
    _verify(report, records, await target.businesses())
    return report


def _verify(report: CopyReport, records: list[dict[str, Any]], copied_records: list[dict[str, Any]]) -> None:
    problems = []
    if records != copied_records:
        problems.append("the business registry differs")
    for slug, source in report.source.items():
        target = report.target[slug]
        if source.counts() != target.counts():
            problems.append(
                f"{slug}: jobs, messages, pending, phones, pictures {source.counts()} became {target.counts()}"
            )
        elif not source.same(target):
            problems.append(f"{slug}: as many rows, but not the same")
    if problems:
        raise CopyFailed(
            "the target does not hold what the source holds (" + "; ".join(problems) + "); "
            "it holds part of the copy now: empty it before copying again"
        )


# -- generated secrets -----------------------------------------------------------------------------


def carry_secrets(source_folder: Path, target_folder: Path | None, names: Iterable[str]) -> list[str]:
    """Copy the secrets the service generated (API token, SECRET_KEY ...) into the target's data folder.

    The registry's Twilio secrets are sealed with SECRET_KEY, and dashboards use the API token: a
    service on the copy needs the same ones. A target that keeps a folder on this machine (TinyDB)
    gets the files it lacks; otherwise the lines say where they stay. Returns what to print.
    """
    present = [name for name in names if (source_folder / name).is_file()]
    if not present:
        return []
    if target_folder is None:
        return [
            f"Generated secrets stay in {source_folder} ({', '.join(present)}): run the service on the target "
            "with the same DATA_DIR, or set API_TOKEN, ADMIN_TOKEN and SECRET_KEY in its environment."
        ]
    if target_folder.resolve() == source_folder.resolve():
        return []
    lines = []
    target_folder.mkdir(parents=True, exist_ok=True)
    for name in present:
        destination = target_folder / name
        if destination.exists():
            if destination.read_text().strip() != (source_folder / name).read_text().strip():
                lines.append(f"Kept {destination}, which differs from the source's {name}: check which one to keep.")
            continue
        shutil.copy2(source_folder / name, destination)  # keeps the file's mode (0600)
        lines.append(f"Copied the generated {name} to {destination}.")
    return lines


def check_not_same(source_url: str, target_url: str) -> None:
    if source_url == target_url:
        raise CopyRefused("--to names the configured store itself (DATABASE_URL); name a new, empty store")
