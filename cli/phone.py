"""`qdn chat`: a simulated phone that texts the running service through its real webhook.

Each line becomes the form Twilio would POST for an inbound SMS, signed the
way Twilio signs it (twilio.request_validator), so the service checks it
exactly as it checks Twilio: against PUBLIC_BASE_URL + path, with the Twilio
auth token or, with no Twilio settings, the development secret the service
made in its data folder. Nothing is switched off for the simulator.

The TwiML answer is the reply; texts the service sends the phone later
(notifications, relays, dispatcher answers) are found by polling
GET /messages?phone=... and printed once the sender hands them on, the
moment a real phone would get them. Texts that went out before the phone
was switched on are history and are not shown.

A line `/photo PATH [words]` sends a picture (an MMS): the simulator serves the
file the way Twilio serves a picture texted in (cli/photo_server.py), and the
service fetches it from there. Pictures the phone receives are shown as the signed, expiring
`/m/...` link the service hands Twilio for an MMS (a phone opens it with no login:
cli/picture_links.py).

Texts go to the address the number texted has in Twilio (SPEC "Webhook addresses name the
business"): `/twilio/default/sms` for the settings' own number. Several businesses (`--to`):
the phone texts the number given, at `/twilio/{slug}/sms` of the business that owns it (found
in the admin API with the deployment's ADMIN_TOKEN), or, when qdn cannot ask, at the older
`/twilio/sms`, where the service routes the text by `To` to the business that owns it. Only the deployment's signing key
is known here, so a business that uses the deployment's Twilio account (or the
console) can be simulated, one with its own account cannot (its webhooks are
checked with its own auth token, kept sealed in the store). GET /messages
answers for the business whose dashboard token asks: QDN_API_TOKEN, when set,
is that token (else API_TOKEN, the default business's).
"""

from __future__ import annotations

import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
from twilio.request_validator import RequestValidator

from bot.errors import ValidationError
from bot.phones import normalize_phone
from cli.admin_client import AdminClient
from cli.api_client import ApiClient, CliError
from cli.photo_server import PhotoServer
from cli.picture_links import NO_KEY, signed_link
from cli.webhook_form import (
    PLACEHOLDER_ACCOUNT_SID,
    business_number,
    inbound_sms_form,
    twiml_messages,
    webhook_path,
)
from config.settings import DEV_WEBHOOK_SECRET_FILE, Settings

POLL_SECONDS = 1.0
PictureLink = Callable[[dict[str, Any]], str]  # a received picture (a message's `media` item) -> its link
# How the service logs its TwiML answer to a text (a reply, or an acknowledgement / opt-in
# confirmation): the simulator prints that answer from the TwiML, never again from the log.
ANSWER_KINDS = ("reply", "system")
# Written to the log but not handed to Twilio (or the console) yet: the phone has not got it.
NOT_SENT_YET = "pending"
STARLETTE_NOT_FOUND = "Not Found"  # the message of a 404 for a path the service has no route for


def phone_number(text: str, flag: str) -> str:
    """`text` in E.164 (the usual national formats accepted), or a one-line CliError naming `flag`."""
    try:
        return normalize_phone(text, flag)
    except ValidationError as error:
        raise CliError(error.message) from None


def _error_message(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return None


class Phone:
    """One simulated phone talking to one running service."""

    def __init__(
        self, settings: Settings, client: ApiClient, poller: ApiClient, phone: str, to: str | None = None
    ) -> None:
        self.settings = settings
        self.client = client
        self.poller = poller  # its own connection: polling runs on another thread
        self.phone = phone
        # The number texted (`--to`, E.164): the business that owns it answers. Default: the settings' own.
        self.to = to or business_number(settings)
        self.own_number = self.to == business_number(settings)
        self.secret = str(settings.webhook_secret)
        if not self.secret:
            raise CliError(
                "no webhook signing secret: start the service once (`qdn serve`) so it makes "
                f"{settings.data_folder / DEV_WEBHOOK_SECRET_FILE}, and run qdn with the same settings"
            )
        # The address the number texted has in Twilio, and so the URL the signature is checked against.
        self.path = webhook_path(self.own_number, None if self.own_number else self._owner())
        self.signed_url = settings.public_base_url + self.path
        self.seen: set[str] = set()
        # Sending a text and looking for new ones never overlap: the service logs its answer
        # before it responds, and that row must be marked as printed before the watcher looks.
        self.lock = threading.Lock()
        self.photos: PhotoServer | None = None  # started at the first picture sent
        self._slug: str | None = None  # the business whose pictures links open: asked at the first one

    def _owner(self) -> str | None:
        """The slug of the business that owns the number texted, asked of the admin API; None when qdn
        has no admin token or the service will not say (then the older address routes the text by `To`)."""
        token = str(self.settings.admin_token)
        if not token:
            return None
        try:
            with AdminClient(self.client.base_url, token) as admin:
                businesses = admin.list_businesses()
        except CliError:
            return None
        return next((str(b["slug"]) for b in businesses if self.to in (b.get("numbers") or ())), None)

    def picture_link(self, item: dict[str, Any]) -> str:
        """The link a phone gets for a picture of an MMS: signed and public, as the sender makes it."""
        if not str(self.settings.secret_key):  # say so rather than print a link that 401s
            return f"(picture {item.get('id')}: {NO_KEY})"
        if self._slug is None:
            try:
                self._slug = str(self.poller.business()["slug"])
            except CliError as error:
                return f"(picture {item.get('id')}: {error})"
        return signed_link(self.settings, self._slug, item) or f"(picture {item.get('id')}: {NO_KEY})"

    def close(self) -> None:
        if self.photos is not None:
            self.photos.__exit__()
            self.photos = None

    def text(self, body: str, media: Sequence[tuple[str, str]] = ()) -> list[str]:
        """Send one text as a signed webhook (an MMS with `media`, from `serve`); the bodies of the TwiML reply."""
        form = inbound_sms_form(self.settings, self.phone, body, self.to, media)
        signature = RequestValidator(self.secret).compute_signature(self.signed_url, form)
        with self.lock:
            response = self.client.post_form(self.path, form, {"X-Twilio-Signature": signature})
            replies = self._answer(response)
            self._mark_printed(replies)
        return replies

    def serve(self, picture: Path) -> tuple[str, str]:
        """Serve a picture as Twilio would hold it; its (MediaUrl, declared type) for `text`."""
        if self.settings.twilio_live:
            # The service fetches pictures from Twilio only (and from loopback only in local use).
            raise CliError("/photo works in local use only (no Twilio settings): a live service fetches from Twilio")
        if self.photos is None:
            self.photos = PhotoServer(self.settings.twilio_account_sid or PLACEHOLDER_ACCOUNT_SID).__enter__()
        return self.photos.add(picture)

    def _answer(self, response: httpx.Response) -> list[str]:
        if response.status_code == 403:
            # A business with its own Twilio account checks its own auth token, which qdn never has.
            own_account = "" if self.own_number else f"; or {self.to} is a business's with its own Twilio account"
            raise CliError(
                f"the service refused the signed text (403): it checks signatures with another secret or "
                f"URL; run qdn with the service's settings (data folder, TWILIO_AUTH_TOKEN, "
                f"PUBLIC_BASE_URL={self.settings.public_base_url}){own_account}"
            )
        if response.status_code == 404:
            if _error_message(response) in (None, STARLETTE_NOT_FOUND):
                raise CliError(f"the service at {self.client.base_url} has no {self.path}; is it up to date?")
            raise CliError(
                f"no business of the service at {self.client.base_url} texts from {self.to} (404); "
                "--to must be one of a business's numbers"
            )
        if not response.is_success:
            raise self.client.error_for(response)
        return twiml_messages(response.text)

    def _mark_printed(self, replies: list[str]) -> None:
        """The log rows of the TwiML answer just printed, so the watcher does not print them again."""
        if not replies:
            return
        try:
            messages = self.client.phone_messages(self.phone)
        except CliError:  # the answer is printed anyway; at worst it shows a second time
            return
        unmatched = list(replies)
        for message in messages:
            body = (message.get("body") or "").strip()
            answer = message["direction"] == "outbound" and message["kind"] in ANSWER_KINDS
            if answer and message["id"] not in self.seen and body in unmatched:
                unmatched.remove(body)
                self.seen.add(message["id"])

    def _is_news(self, message: dict[str, Any]) -> bool:
        return (
            message["direction"] == "outbound"
            and message["kind"] != "reply"
            and message["status"] != NOT_SENT_YET
            and message["id"] not in self.seen
        )

    def new_texts(self) -> list[dict[str, Any]]:
        """Texts that reached this phone since the last look, other than answers printed already."""
        with self.lock:
            fresh = [message for message in self.poller.phone_messages(self.phone) if self._is_news(message)]
            self.seen.update(message["id"] for message in fresh)
        return fresh

    def skip_past_texts(self) -> None:
        """Only texts that go out from now on are shown (one still queued is shown when it goes)."""
        with self.lock:
            self.seen.update(
                message["id"] for message in self.poller.phone_messages(self.phone) if message["status"] != NOT_SENT_YET
            )


def bubble(prefix: str, body: str, note: str = "") -> list[str]:
    """A text as screen lines: `prefix` on the first, later lines of a multi-line text indented."""
    first, *rest = body.splitlines() or [""]
    lines = [prefix + first, *(f"  {line}" for line in rest)]
    lines[-1] += note
    return lines


def _delivery_note(message: dict[str, Any]) -> str:
    status = message["status"]
    if status == "skipped":
        return "  (not sent: this phone has opted out)"
    if status in ("failed", "undelivered"):
        code = message.get("error_code")
        return f"  (not delivered: {status}{f', error {code}' if code else ''})"
    return ""


def _later_text(message: dict[str, Any], link: PictureLink) -> list[str]:
    lines = bubble(f"< [{message['kind']}] ", str(message.get("body") or ""), _delivery_note(message))
    return lines + [f"  [picture] {link(item)}" for item in message.get("media") or ()]


PHOTO_COMMAND = "/photo"


def photo_line(line: str) -> tuple[str, list[Path]] | None:
    """(words, [picture]) of a `/photo PATH [words]` line (PATH may be quoted); None for any other line."""
    if line != PHOTO_COMMAND and not line.startswith(PHOTO_COMMAND + " "):
        return None
    try:
        parts = shlex.split(line[len(PHOTO_COMMAND) :])
    except ValueError as error:
        raise CliError(f"{PHOTO_COMMAND}: {error}") from None
    if not parts:
        raise CliError(f"{PHOTO_COMMAND} needs a file: {PHOTO_COMMAND} PATH [words]")
    return " ".join(parts[1:]), [Path(parts[0]).expanduser()]


def _later_texts(messages: Iterable[dict[str, Any]], link: PictureLink) -> list[str]:
    return [line for message in messages for line in _later_text(message, link)]


class Screen:
    """The phone's screen: lines from two threads, never interleaved mid-line."""

    def __init__(self, out: TextIO, interactive: bool) -> None:
        self.out = out
        self.interactive = interactive
        self.lock = threading.Lock()

    def show(self, lines: Iterable[str], reprompt: bool = False) -> None:
        with self.lock:
            for line in lines:
                self.out.write(line + "\n")
            if reprompt and self.interactive:
                self.out.write("> ")
            self.out.flush()


def _watch(phone: Phone, screen: Screen, stop: threading.Event) -> None:
    """Print texts sent to the phone as they appear, until `stop`."""
    complained = False
    while not stop.wait(POLL_SECONDS):
        try:
            fresh = phone.new_texts()
        except CliError as error:
            if not complained:  # say it once; the next text sent will fail loudly if it persists
                print(f"qdn: {error}", file=sys.stderr)
                complained = True
            continue
        complained = False
        if fresh:
            # At a terminal the prompt "> " is on screen: start the texts on a line of their own.
            shown = _later_texts(fresh, phone.picture_link)
            screen.show(["", *shown] if screen.interactive else shown, True)


def run_chat(phone: Phone, lines: TextIO, out: TextIO, *, interactive: bool, wait: float) -> int:
    """Send each line as a text and print the answers; at EOF wait `wait` seconds for trailing texts."""
    screen = Screen(out, interactive)
    phone.skip_past_texts()
    # Another business's name is not in the settings: that business is the number texted.
    business = f"{phone.settings.business_name} at " if phone.own_number else ""
    screen.show(
        [
            f"Simulated phone {phone.phone} texting {business}{phone.to} via {phone.client.base_url}",
            *(["Type a text and press Enter; Ctrl-D to quit."] if interactive else []),
        ],
        reprompt=True,
    )
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(phone, screen, stop), name="qdn-chat-watch", daemon=True)
    watcher.start()
    try:
        for raw in lines:
            body = raw.strip()
            if not body:
                screen.show([], reprompt=True)
                continue
            if not interactive:
                screen.show([f"> {body}"])
            try:
                words, pictures = photo_line(body) or (body, [])
                media = [phone.serve(picture) for picture in pictures]
            except CliError as error:  # a bad /photo line: say so, the chat goes on
                screen.show([f"qdn: {error}"], reprompt=True)
                continue
            replies = phone.text(words, media)
            shown = [line for reply in replies for line in bubble("< ", reply)]
            screen.show(shown or ["  (no reply)"], reprompt=True)
        if interactive:
            screen.show([""])
        else:
            time.sleep(wait)  # trailing texts (notifications, relays) arrive out of band
    except KeyboardInterrupt:
        screen.show([""])
    finally:
        stop.set()
        watcher.join()
        phone.close()
    # One last look, so anything sent before we stopped is shown exactly once.
    screen.show(_later_texts(phone.new_texts(), phone.picture_link))
    return 0
