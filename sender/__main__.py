"""`qdn send` (or `python -m sender`): the sender alone, until SIGTERM or SIGINT.

Beside `qdn serve` with RUN_SENDER=false, on a store several processes can
share, any number of these drain one queue (claims with leases keep each
text to one sender and each phone's texts in order), and each starts sending
for a business added through any web process's admin API within
REGISTRY_REFRESH_SECONDS (store/deployment.py). With TinyDB the web
process owns the store and sends, so this one says so once and waits
quietly until stopped: a process manager running the whole Procfile
(honcho, foreman, Heroku) keeps working.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from contextlib import suppress

from bot.errors import StoreError, StoreUnavailable
from bot.notifications import Notifier
from bot.templates import TemplateError, load_templates
from config.business_settings import business_settings, business_templates
from config.secret_box import SecretBox
from config.settings import ConfigError, Settings
from sender.business_loops import BusinessLoops
from store import DEFAULT_BUSINESS, BusinessRecord, Deployment, backend_for, open_deployment
from store.deployment import REGISTRY_REFRESH_SECONDS, registry_changes

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


async def send_until(settings: Settings, stopped: asyncio.Event, every: float = REGISTRY_REFRESH_SECONDS) -> None:
    """Drain the queue of DATABASE_URL's store until `stopped` is set; every `every` seconds, start
    sending for the businesses added (and restart those changed) since."""
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
        await loops.run(DEFAULT_BUSINESS, deployment.default, settings, Notifier.for_business(settings, templates))
        running: dict[str, BusinessRecord] = {}
        await _run_changed(deployment, loops, settings, running, starting=True)
        log.info("sending texts of %d business(es) from the %s store", 1 + len(running), deployment.description)
        # Businesses added or changed through the admin API (of any web process) since: run within
        # REGISTRY_REFRESH_SECONDS, as every web process does (web/app.py `follow_registry`).
        while not stopped.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stopped.wait(), every)
            if stopped.is_set():
                break
            try:
                await _run_changed(deployment, loops, settings, running)
            except StoreError as error:
                log.warning("business registry not read (%s); trying again in %g s", error, every)
    finally:
        try:
            await loops.stop_all()
        finally:
            await deployment.close()


async def _run_changed(
    deployment: Deployment,
    loops: BusinessLoops,
    settings: Settings,
    running: dict[str, BusinessRecord],
    *,
    starting: bool = False,
) -> None:
    """(Re)start the loops of every business whose record is not the one `running` holds; note it there.

    At start a business that cannot be run stops the process (as before); later, it is logged and
    tried again at the next refresh, and the others keep sending.
    """
    for record in await registry_changes(deployment, running):
        slug = record["slug"]
        try:
            own = business_settings(settings, record, SecretBox(settings.secret_key))
            notifier = Notifier.for_business(own, business_templates(record))
            await loops.run(slug, deployment.store(slug), own, notifier)
        except StoreUnavailable:
            raise
        except Exception:
            if starting:
                raise
            log.exception("business %r changed, but its texts cannot be sent from here", slug)
            continue
        if not starting:
            log.info("sending texts of business %r (%s)", slug, "changed" if slug in running else "added")
        running[slug] = record


if __name__ == "__main__":
    from config.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request's URL at INFO, and a lookup's URL names the phone; `qdn send`
    # masks such records (web/logging.py), this bare entry point keeps them out.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        sys.exit(run(load_settings(read_only=True)))  # the web process makes the secrets (web/main.py)
    except (ConfigError, StoreError) as error:
        print(f"python -m sender: {error}", file=sys.stderr)
        sys.exit(2)
