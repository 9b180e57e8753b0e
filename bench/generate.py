"""Bench data sets: realistic jobs and conversations, written through the Store interface.

    .venv/bin/python bench/generate.py [small|large|several ...]     # prints where each data set is

One business at two ages, and the large one's history shared by 20 businesses:
  small    200 jobs,     1,000 logged texts  (a new business: 5 texts a job)
  large    10,000 jobs,  200,000 logged texts (years of history: ~20 texts a job)
  several  20 businesses of 500 jobs and 10,000 texts each (10,000 / 200,000 in all): the
           settings' `default` business and 19 registered ones, each with its own number,
           dispatchers and customers, in a store of its own (store/tinydb/deployment.py)

A registered business goes in as the admin API puts it (bot.businesses.clean_business,
then Deployment.add_business); none has Twilio credentials of its own, so the
deployment's Auth Token checks every business's webhooks.

Every job is built with bot.jobs (new_job, then the moves a dispatcher made,
stamped at realistic times), and its whole conversation -- status texts
rendered from the real templates, dispatcher commands and their answers,
customers' STATUS checks and questions, acknowledgements, relays -- goes into
the store with that job's `create_job` write: one atomic write per job,
the same call the API uses, so no Store method was added for this. Texts
that belong to no job (STATUS from a customer between jobs) go in through
`add_message`, and opt-outs through `update_phone`.

Data sets are cached under $QDN_BENCH_CACHE (default: the temp folder's
qdn-bench/), keyed on this file and the store's code, and copied before each
use, so every bench run starts from the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import businesses, jobs  # noqa: E402
from bot.conversation import texts  # noqa: E402
from bot.messages import answer_message, inbound_message, outbound_message  # noqa: E402
from bot.templates import builtin_templates  # noqa: E402
from bot.tokens import new_token  # noqa: E402
from bot.wording import first_name, phone_for_people  # noqa: E402
from config.settings import load_settings  # noqa: E402
from handlers.services import Services  # noqa: E402
from handlers.tenancy import Tenants  # noqa: E402
from store import DEFAULT_BUSINESS, JobWrite, Store, open_deployment  # noqa: E402

# The settings' business (`default`): the only one of `small` and `large`, the first of `several`.
BUSINESS_NAME = "QuickDumpNow"
BUSINESS_PHONE = "+15125550123"
DISPATCHERS = ("+15125550100", "+15125550101", "+15125550102")
# The Twilio Auth Token the bench server checks signatures with (and the load generator signs with).
AUTH_TOKEN = "9c1e6f0b3a5d4e2f8a7b6c5d4e3f2a1b"
PUBLIC_BASE_URL = "https://sms.quickdumpnow.test"
SEED = 20261127


@dataclass(frozen=True)
class DataSet:
    name: str
    jobs: int  # in all: each business has jobs // businesses
    texts: int
    businesses: int = 1


DATA_SETS = {
    "small": DataSet("small", 200, 1_000),
    "large": DataSet("large", 10_000, 200_000),
    "several": DataSet("several", 10_000, 200_000, businesses=20),
}

# fmt: off
FIRST_NAMES = (
    "Dana", "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos",
    "Elena", "Marcus", "Tasha", "Wei", "Priya", "Hector", "Olivia", "Noah", "Grace", "Samuel",
    "Aisha", "Brandon", "Rosa", "Kevin", "Megan", "Luis", "Hannah", "Tyrone", "Emily", "Jorge",
)
LAST_NAMES = (
    "Whitfield", "Garcia", "Nguyen", "Johnson", "Patel", "Smith", "Martinez", "Brown",
    "Okafor", "Lee", "Rodriguez", "Walker", "Kim", "Hernandez", "Thompson", "Alvarez",
    "Wilson", "Chen", "Davis", "Moore", "Flores", "Jackson", "Rivera", "Clark",
    "Lopez", "Young", "Baker", "Ramirez",
)
STREETS = (
    "Ridgeview Dr", "Burnet Rd", "Manor Rd", "S Lamar Blvd", "Cameron Rd",
    "Slaughter Ln", "Parmer Ln", "Brodie Ln", "Anderson Mill Rd", "Riverside Dr",
    "E Cesar Chavez St", "William Cannon Dr", "Airport Blvd", "Wells Branch Pkwy",
)
# fmt: on
ZIPS = ("78704", "78731", "78745", "78748", "78753", "78757", "78759", "78741", "78723", "78729")
SERVICES = ("dump trailer rental", "junk removal", "dumpster delivery")
QUESTIONS = (
    "Can you come after 2? I have a work call until then",
    "Is the driver still coming today?",
    "Gate code is 4471, trailer can go on the left side of the driveway",
    "How much longer will you need the trailer? I was told Friday",
    "Can you also take an old fridge?",
    "Please call when you are 10 minutes out",
    "We are running late, can we push to tomorrow morning",
    "The dumpster is blocking my neighbor's mailbox, can it be moved a couple feet",
    "Thanks! Everything looks great",
    "Do you take mattresses? There are two",
)
DISPATCHER_ANSWERS = (
    "Yes, the driver will be there between 2 and 4.",
    "On the way now, about 20 minutes out.",
    "Got it, we will put it on the left side.",
    "No problem, we can pick it up Friday afternoon.",
    "Yes, fridges are $45 extra, freon removal included.",
    "Will do, the driver will call ahead.",
)

REVIEW_WORDS = "{business}: Thanks for choosing us! Would you leave us a quick review? https://g.page/r/qdn-bench"
REMINDER_WORDS = "{business}: a reminder of your appointment tomorrow. Reply C to confirm."
ASKED_ROWS = 2 + len(DISPATCHERS)  # a question, its acknowledgement, its relay to each dispatcher
QUESTION_ROWS = ASKED_ROWS + 3  # ... and a dispatcher's R, its answer, the relay to the customer
WAITING_SHARE = 1 / 8  # open jobs whose customer asked last, unanswered (~75 of the large set's 600)


def bench_environ(data_dir: Path) -> dict[str, str]:
    """The settings the bench service runs with: live Twilio settings, so signatures use the Auth Token.

    TWILIO_API_BASE_URL points at a closed local port: a STATUS answer is TwiML,
    so nothing is sent during the bench, and nothing could leave the machine.
    """
    return {
        "DATABASE_URL": f"tinydb:///{data_dir.resolve()}/qdn.json",
        "API_TOKEN": "bench-api-token-5e0b7c",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "DISPATCHER_NUMBERS": ",".join(DISPATCHERS),
        "BUSINESS_NAME": BUSINESS_NAME,
        "BUSINESS_PHONE": BUSINESS_PHONE,
        "TIMEZONE": "America/Chicago",
        "TWILIO_ACCOUNT_SID": "AC" + "5" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": BUSINESS_PHONE,
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9",
        # Given, so the service never writes generated secrets into a data set's folder.
        "ADMIN_TOKEN": "bench-admin-token-77c0d1",
        "SECRET_KEY": "bench-secret-key-for-stored-twilio-secrets-3f9a2c",
    }


def cache_root() -> Path:
    return Path(os.environ.get("QDN_BENCH_CACHE") or Path(tempfile.gettempdir()) / "qdn-bench")


@functools.cache  # once a run: code edited meanwhile never swaps its data sets mid-run
def _code_key() -> str:
    """Changes whenever this generator or the store's code (the TinyDB file layout too) changes."""
    digest = hashlib.sha256()
    store = ROOT / "store"
    for path in [ROOT / "bench/generate.py", *sorted([*store.glob("*.py"), *(store / "tinydb").glob("*.py")])]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cached_path(data_set: DataSet) -> Path:
    return cache_root() / f"{data_set.name}-{data_set.jobs}j-{data_set.texts}t-{_code_key()}"


# --- the conversation of one job ------------------------------------------------------------


class Conversation:
    """Builds one job's history and texts, in time order, in the handlers' row shapes."""

    def __init__(self, rng: random.Random, svc: Services, job_id: int, quota: int) -> None:
        self.rng = rng
        self.svc = svc
        self.job_id = job_id
        self.quota = quota
        self.rows: list[dict[str, Any]] = []
        # The business's own: its name and phone in the wording, its number on every row, its dispatchers.
        self.name = svc.settings.business_name
        self.phone = svc.settings.business_phone or svc.from_address
        self.number = svc.from_address
        self.dispatchers = svc.settings.dispatcher_numbers

    def sid(self) -> str:
        return f"SM{self.rng.getrandbits(128):032x}"

    def delivered(self, kind: str, phone: str, body: str, at: datetime) -> dict[str, Any]:
        """A text the service sent `phone` that Twilio has since delivered."""
        stamp = jobs.iso_utc(at)
        row = outbound_message(
            kind=kind, to=phone, body=body, sender=self.number, now=stamp, opted_out=False, job_id=self.job_id
        )
        return {**row, "twilio_sid": self.sid(), "status": "delivered"}

    def exchange(self, phone: str, text: str, reply: str | None, at: datetime, kind: str = "command") -> None:
        """An inbound text and its TwiML answer, as handlers/twilio/receive.py logs them."""
        stamp = jobs.iso_utc(at)
        self.rows.append(
            inbound_message(
                kind=kind,
                sid=self.sid(),
                sender=phone,
                to=self.number,
                body=text,
                now=stamp,
                job_id=self.job_id,
                num_media="0",
                reply=reply,
            )
        )
        if reply:
            self.rows.append(
                answer_message(kind="reply", to=phone, body=reply, sender=self.number, now=stamp, job_id=self.job_id)
            )

    def room(self) -> int:
        return self.quota - len(self.rows)


def build_job(rng: random.Random, svc: Services, customer: dict[str, Any], created: datetime, final: str,
              quota: int, job_id: int) -> JobWrite:  # fmt: skip
    """A job that reached `final` the way dispatchers move jobs, and `quota` texts about it.

    `job_id` comes last: `Store.create_job` calls the builder with the id it hands out."""
    c = Conversation(rng, svc, job_id, quota)
    url = svc.settings.tracking_url
    fields = {
        "customer_name": customer["name"],
        "customer_phone": customer["phone"],
        "service_type": rng.choice(SERVICES),
        "address": customer["address"],
        "scheduled_for": jobs.iso_utc(created + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 8))),
        "total": None,
        "invoice_url": None,
        "notes": rng.choice((None, None, "Driveway is steep", "Call on arrival", "Dog in the yard")),
    }
    job = jobs.new_job(job_id, new_token(), fields, jobs.iso_utc(created))
    phone, dispatcher = customer["phone"], rng.choice(c.dispatchers)

    def notify(current: dict[str, Any], at: datetime) -> None:
        text = svc.notification(current, False, jobs.iso_utc(at))
        text.update(status="delivered", twilio_sid=c.sid(), updated_at=jobs.iso_utc(at + timedelta(seconds=4)))
        c.rows.append(text)

    notify(job, created)
    # An open job's customer may have just asked a question nobody has answered yet ("Needs reply"
    # in the inbox): room is kept for it from the start.
    unanswered = final in jobs.OPEN_STATUSES and rng.random() < WAITING_SHARE
    reserve = ASKED_ROWS if unanswered else 0
    path = {
        "scheduled": [],
        "en_route": ["en_route"],
        "arrived": ["en_route", "arrived"],
        "complete": ["en_route", "arrived", "complete"],
        "cancelled": ["cancelled"],
    }[final]
    at = datetime.fromisoformat(fields["scheduled_for"])
    # Between booking and the visit: a STATUS check and a question, relayed and answered.
    if c.room() > len(path) + 2 + reserve and rng.random() < 0.8:
        reply = texts.STATUS_ONE.format(business=c.name, job_id=job_id, service=job["service_type"],
                                        status="scheduled", url=url(job["token"]))  # fmt: skip
        c.exchange(phone, rng.choice(("STATUS", "status?", "Status please")), reply, created + timedelta(hours=5))
    while c.room() > c.quota // 2 + len(path) * 3 + 5 + reserve:
        _question(c, rng, job, phone, dispatcher, created + timedelta(hours=rng.randint(6, 40)))
    for status in path:
        at += timedelta(minutes=rng.randint(20, 240))
        eta = rng.choice((15, 20, 30, 45)) if status == "en_route" else None
        total = float(rng.randint(150, 900)) if status == "complete" else None
        command = {
            "en_route": f"EN ROUTE {job_id} {eta}",
            "arrived": f"ARRIVED {job_id}",
            "complete": f"DONE {job_id} {total or 0:.0f}",
            "cancelled": f"CANCEL {job_id}",
        }[status]
        job = jobs.apply_status(job, status, by=dispatcher, now=jobs.iso_utc(at), eta_minutes=eta, total=total).job
        if c.room() > len(path) * 3 + reserve:
            answer = f"{job_id} -> {jobs.label(status)}. Customer texted."
            c.exchange(dispatcher, command, answer, at - timedelta(seconds=2))
        notify(job, at)
    # After the visit, the rest of the quota in whole exchanges, every question answered but the
    # one kept room for. (Questions used to fill the quota and be cut off at it, their answers
    # left out: most of the history then waited for a reply, 6,600 of 7,500 conversations.)
    while c.room() >= QUESTION_ROWS + reserve:
        _question(c, rng, job, phone, dispatcher, at + timedelta(hours=rng.randint(1, 30)))
    if unanswered:  # the latest text; past a tiny quota its relays are cut off, and it waits all the same
        _question(c, rng, job, phone, dispatcher, at + timedelta(hours=31), answered=False)
    while c.room() >= 2:  # a STATUS check and its answer
        reply = texts.STATUS_ONE.format(business=c.name, job_id=job_id, service=job["service_type"],
                                        status=job["status"], url=url(job["token"]))  # fmt: skip
        c.exchange(phone, "STATUS", reply, at + timedelta(hours=rng.randint(1, 30)))
    if c.room() == 1:  # the day after: a review request, or a reminder of the visit
        words = REVIEW_WORDS if job["status"] == "complete" else REMINDER_WORDS
        c.rows.append(c.delivered("notification", phone, words.format(business=c.name), at + timedelta(days=1)))
    c.rows.sort(key=lambda row: row["created_at"])
    return JobWrite(job, c.rows[:quota])


def _question(c: Conversation, rng: random.Random, job: dict[str, Any], phone: str, dispatcher: str,
              at: datetime, *, answered: bool = True) -> None:  # fmt: skip
    """A customer's question: acknowledged, relayed to every dispatcher, answered with R (QUESTION_ROWS
    texts; ASKED_ROWS until answered)."""
    text = rng.choice(QUESTIONS)
    ack = texts.ACK.format(business=c.name, urgent=f" Urgent? Call {phone_for_people(c.phone)}.")
    c.exchange(phone, text, ack, at, kind="text")
    c.rows[-1]["kind"] = "system"
    who = texts.WHO_WITH_JOB.format(first_name=first_name(job["customer_name"]), job_id=job["id"],
                                    status=jobs.label(job["status"]))  # fmt: skip
    relay = texts.RELAY.format(who=who, text=text, target=job["id"])
    for number in c.dispatchers:
        c.rows.append(c.delivered("relay", number, relay, at + timedelta(seconds=1)))
    if not answered:
        return
    answer = rng.choice(DISPATCHER_ANSWERS)
    later = at + timedelta(minutes=rng.randint(2, 30))
    c.exchange(
        dispatcher, f"R {job['id']} {answer}", f"Sent to {job['customer_name'].split()[0]} ({job['id']}).", later
    )
    c.rows.append(c.delivered("relay", phone, answer, later + timedelta(seconds=1)))


# --- a business, and the deployment ------------------------------------------------------------

# The registered businesses of `several` (the default business is the settings' QuickDumpNow).
HAULERS = (
    "Lone Star", "Bluebonnet", "Hill Country", "Capitol", "Pecan Street", "Barton Creek", "Riverside",
    "Cedar Park", "Round Rock", "Pflugerville", "Lakeway", "Buda", "Kyle", "Leander", "Manor", "Bastrop",
    "Dripping Springs", "Georgetown", "Wimberley",
)  # fmt: skip


def registered(data_set: DataSet) -> list[dict[str, Any]]:
    """What an administrator would POST to /admin/businesses for each business besides the default one.

    Each its own number (shown to customers too) and three dispatchers; no Twilio credentials, so the
    deployment's account sends for it and the deployment's Auth Token checks its webhooks.
    """
    payloads = []
    for n in range(1, data_set.businesses):
        number = f"+1512555{200 + n:04d}"
        payloads.append({
            "slug": f"hauler-{n + 1:02d}",
            "name": f"{HAULERS[(n - 1) % len(HAULERS)]} Hauling",
            "phone": number,
            "numbers": [number],
            "dispatchers": [f"+1512555{1000 + 3 * n + d:04d}" for d in range(3)],
            "timezone": "America/Chicago",
        })  # fmt: skip
    return payloads


def _customers(rng: random.Random, count: int, reserved: set[str]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    people: list[dict[str, Any]] = []
    while len(people) < count:
        phone = f"+1{rng.choice(('512', '737', '210', '830'))}{rng.randint(2, 9)}{rng.randint(0, 999999):06d}"
        if phone in seen or phone in reserved:
            continue
        seen.add(phone)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        address = f"{rng.randint(100, 19999)} {rng.choice(STREETS)}, Austin, TX {rng.choice(ZIPS)}"
        people.append({"name": name, "phone": phone, "address": address})
    return people


def _quotas(rng: random.Random, jobs_count: int, texts: int) -> list[int]:
    """Texts per job: skewed (most jobs are quiet, a few chatty), at least 2, summing to `texts`."""
    weights = [rng.lognormvariate(0, 0.6) for _ in range(jobs_count)]
    scale = (texts - 2 * jobs_count) / sum(weights)
    quotas = [2 + int(w * scale) for w in weights]
    for i in range(texts - sum(quotas)):
        quotas[i % jobs_count] += 1
    return quotas


async def seed(rng: random.Random, svc: Services, jobs_count: int, texts_count: int, span: timedelta,
               end: datetime, reserved: set[str]) -> dict[str, Any]:  # fmt: skip
    """`jobs_count` jobs and `texts_count` texts of one business into its store; what the load needs of it."""
    store: Store = svc.store
    name, number = svc.settings.business_name, svc.from_address
    shown = svc.settings.business_phone or number
    # Repeat customers: about one in four jobs is for someone who booked before.
    customers = _customers(rng, max(1, jobs_count * 3 // 4), reserved)
    phone_texts = max(2, texts_count // 100) // 2 * 2  # STATUS checks between jobs: an inbound and its answer
    quotas = _quotas(rng, jobs_count, texts_count - phone_texts)
    booking = customers + [rng.choice(customers) for _ in range(jobs_count - len(customers))]
    rng.shuffle(booking)
    open_share = 0.06
    delivered: list[str] = []  # SIDs of the texts Twilio delivered (the status-callback load reports on them)
    for n in range(jobs_count):
        created = end - span + span * (n / jobs_count)
        recent = n >= jobs_count * (1 - open_share)
        final = rng.choice(("scheduled", "en_route", "arrived")) if recent else (
            "cancelled" if rng.random() < 0.08 else "complete")  # fmt: skip
        written = await store.create_job(partial(build_job, rng, svc, booking[n], created, final, quotas[n]))
        delivered += [m["twilio_sid"] for m in written.messages if m["direction"] == "outbound"
                      and m.get("status") == "delivered" and m.get("twilio_sid")]  # fmt: skip
    for i in range(phone_texts // 2):
        customer = customers[rng.randrange(len(customers))]
        at = jobs.iso_utc(end - timedelta(days=rng.randint(1, 300)))
        reach = texts.REACH_BY_PHONE.format(phone=phone_for_people(shown))
        reply = texts.NO_OPEN_JOBS.format(business=name, reach=reach)
        row = {
            "direction": "inbound", "kind": "command", "job_id": None, "phone": customer["phone"],
            "from": customer["phone"], "to": number, "body": "STATUS", "twilio_sid": f"SMp{i:030x}",
            "status": "received", "error_code": None, "error_message": None, "created_at": at,
            "updated_at": at, "num_media": "0", "reply_body": reply,
        }  # fmt: skip
        answer = {"direction": "outbound", "kind": "reply", "from": number, "to": customer["phone"],
                  "body": reply, "twilio_sid": None, "status": "sent"}  # fmt: skip
        await store.add_message(row)
        await store.add_message({**row, **answer})
    # One customer in a hundred has opted out; the load generator never uses them.
    opted_out = [c["phone"] for c in customers[:: max(1, 100)]][1:]
    for phone in opted_out:
        await store.update_phone(phone, lambda state: {**state, "opted_out": True, "opt_source": "STOP"})
    stored_jobs = await store.list_jobs()
    senders = [c["phone"] for c in customers if c["phone"] not in set(opted_out)]
    rng.shuffle(senders)
    return {
        "slug": svc.settings.business_slug,
        "name": name,
        "number": number,
        "jobs": len(stored_jobs),
        "texts": texts_count,
        "senders": senders,  # customers who may text (never the opted-out), in a shuffled order
        "open_tokens": [job["token"] for job in stored_jobs if job["status"] in jobs.OPEN_STATUSES],
        "dispatchers": list(svc.settings.dispatcher_numbers),
        "delivered_sids": rng.sample(delivered, len(delivered)),  # shuffled: callbacks hit the whole history
    }


async def generate(data_set: DataSet, target: Path) -> dict[str, Any]:
    """Write `data_set` into a new deployment at target/data; returns what the load generator needs."""
    settings = load_settings(bench_environ(target / "data"), env_file=None)
    deployment = await open_deployment(settings.database_url)
    try:
        for payload in registered(data_set):
            now = jobs.utc_now()
            record = businesses.clean_business(payload, creating=True) | {
                "tokens": [], "created_at": now, "updated_at": now}  # fmt: skip
            await deployment.add_business(record, reserved=[BUSINESS_PHONE])
        everyone = await Tenants(settings, deployment, builtin_templates()).load()
        reserved = {BUSINESS_PHONE, *DISPATCHERS}
        for payload in registered(data_set):
            reserved.update([*payload["numbers"], *payload["dispatchers"]])
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
        span = timedelta(days=3 * 365 if data_set.jobs > 1000 else 120)
        seeded = []
        for tenant in everyone.all():
            own = "" if tenant.slug == DEFAULT_BUSINESS else f"-{tenant.slug}"  # `large` as it always was
            rng = random.Random(f"{SEED}-{data_set.name}{own}")
            seeded.append(await seed(rng, tenant.services, data_set.jobs // data_set.businesses,
                                     data_set.texts // data_set.businesses, span, end, reserved))  # fmt: skip
    finally:
        await deployment.close()
    default = seeded[0]
    return {
        "jobs": sum(business["jobs"] for business in seeded),
        "texts": data_set.texts,
        "businesses": seeded,  # the default business first
        "senders": default["senders"],
        "dispatchers": default["dispatchers"],
    }


def ensure(data_set: DataSet, log: Any = print) -> Path:
    """The cached data set's folder (generated on first use); its store is in <folder>/data."""
    folder = cached_path(data_set)
    if (folder / "manifest.json").exists():
        return folder
    for stale in folder.parent.glob(f"{data_set.name}-*"):
        shutil.rmtree(stale)  # older generator or store code, or a generation that was interrupted
    building = folder.with_name(folder.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    started = time.perf_counter()
    log(f"generating the {data_set.name} data set ({data_set.jobs:,} jobs, {data_set.texts:,} texts) ...")
    manifest = asyncio.run(generate(data_set, building))
    for secret in (building / "data").glob("*secret*"):
        secret.unlink()  # settings made none (all are given), but never cache one if they did
    (building / "manifest.json").write_text(json.dumps(manifest))
    building.rename(folder)
    log(f"  done in {time.perf_counter() - started:.1f} s -> {folder}")
    return folder


def fresh_copy(data_set: DataSet, into: Path) -> tuple[Path, dict[str, Any]]:
    """A private copy of the data set's store at into/data, and its manifest."""
    source = ensure(data_set)
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(source / "data", into / "data")
    os.sync()  # the copy's writeback must not compete with the run it is for
    return into / "data", json.loads((source / "manifest.json").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sets", nargs="*", metavar="|".join(DATA_SETS), help="default: all of them")
    names = parser.parse_args().sets or list(DATA_SETS)
    for name in names:
        if name not in DATA_SETS:
            parser.error(f"no data set {name!r}; there are: {', '.join(DATA_SETS)}")
    for name in names:
        print(ensure(DATA_SETS[name]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
