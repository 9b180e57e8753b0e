"""`qdn send` (or `python -m sender`): the sender alone, until SIGTERM or SIGINT.

Beside `qdn serve` with RUN_SENDER=false, on a store several processes can
share, any number of these drain one queue (claims with leases keep each
text to one sender and each phone's texts in order). With TinyDB the web
process owns the store and sends, so this one says so once and waits
quietly until stopped: a process manager running the whole Procfile
(honcho, foreman, Heroku) keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.templates import TemplateError, load_templates
from sender.business_loops import BusinessLoops
from store import DEFAULT_BUSINESS, backend_for, open_deployment
from store.business_settings import business_settings, business_templates
from store.secret_box import SecretBox
from store.settings import ConfigError, Settings

log = logging.getLogger("qdn.sender")


def run(settings: Settings) -> int:
    """Send (or, with a one-process store, wait) until SIGTERM or SIGINT; 0 once stopped."""
    return asyncio.run(_until_signalled(settings))


async def _until_signalled(settings: Settings) -> int:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    await send_until(settings, stopped)
    return 0


async def send_until(settings: Settings, stopped: asyncio.Event) -> None:
    """Drain the queue of DATABASE_URL's store until `stopped` is set."""
    if backend_for(settings.database_url).one_process:
        # Opening the store would only fail on the web process's lock. (TinyDB is the one such backend.)
        log.info("with TinyDB the web process sends; this process waits until stopped")
        await stopped.wait()
        return
    try:
        templates = load_templates(settings.templates_path)  # the reminders' wording, checked before anything runs
    except TemplateError as error:
        raise ConfigError(str(error)) from None
    deployment = await open_deployment(settings.database_url)
    loops = BusinessLoops()
    try:
        # Every business's texts, each through its own transport (its Twilio account and number).
        await loops.run(DEFAULT_BUSINESS, deployment.default, settings, settings.notifier(templates))
        records = await deployment.businesses()
        if records:
            box = SecretBox(settings.secret_key)
            for record in records:
                own = business_settings(settings, record, box)
                notifier = own.notifier(business_templates(record))
                await loops.run(record["slug"], deployment.store(record["slug"]), own, notifier)
        log.info("sending texts of %d business(es) from the %s store", 1 + len(records), deployment.description)
        await stopped.wait()
    finally:
        try:
            await loops.stop_all()
        finally:
            await deployment.close()


if __name__ == "__main__":
    from bot.errors import StoreError
    from store.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO, and a lookup's URL names the phone; `qdn send`
    # masks such records (web/logging.py), this bare entry point keeps them out.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        sys.exit(run(load_settings(read_only=True)))  # the web process makes the secrets (web/main.py)
    except (ConfigError, StoreError) as error:
        print(f"python -m sender: {error}", file=sys.stderr)
        sys.exit(2)
