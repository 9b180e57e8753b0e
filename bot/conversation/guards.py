"""Loop and abuse guards kept in a phone's state (read with store.get_phone, changed in the webhook's one write).

State keys (a plain dict, JSON-safe):
    opted_out       bool -- the store's `is_opted_out` index reads this key
    opted_out_at / opted_in_at, opt_source  -- written by bot.messages.opted_out / opted_in only
    last_ack_at     ISO time of the last free-text acknowledgement
    token_misses    {"since": ISO, "count": n} -- fixed one-minute window
    auto_replies    {"since": ISO, "count": n} -- fixed one-hour window
    recent_answers  {digest of an automatic answer: ISO time it was sent} -- the last REPEAT_WINDOW only

Why: an acknowledgement at most once per ACK_INTERVAL_HOURS, the same
automatic answer at most once per REPEAT_WINDOW (SPEC "No answer twice") and
a cap on automatic answers per hour keep us from ping-ponging with another
bot -- an "I'm driving" auto-responder gets one answer, not one per text; the
token-miss window mirrors the web's limit (20 misses a minute) so texting
guesses is no faster than fetching them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.jobs import iso_utc
from bot.messages import opted_in, opted_out

MISS_COUNTER = "token_misses"
TOKEN_MISS_LIMIT = 20
TOKEN_MISS_WINDOW = timedelta(minutes=1)

REPLY_COUNTER = "auto_replies"
# Above TOKEN_MISS_LIMIT, so a phone guessing codes reads "Too many codes tried"
# before it hits this cap; still far below what a ping-ponging bot reaches in an hour.
AUTO_REPLY_LIMIT = 30
AUTO_REPLY_WINDOW = timedelta(hours=1)

ANSWERS = "recent_answers"
REPEAT_WINDOW = timedelta(minutes=10)  # SPEC: never the same automatic answer again within 10 minutes


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _in_window(state: Mapping[str, Any], key: str, now: datetime, window: timedelta) -> int:
    """How many events the current window of `key` holds (0 once the window is over)."""
    counter = state.get(key)
    if not isinstance(counter, dict):
        return 0
    since = _parse(counter.get("since"))
    if since is None or not since <= now < since + window:
        return 0
    count = counter.get("count")
    return count if isinstance(count, int) else 0


def count(state: dict[str, Any], key: str, now: datetime, window: timedelta) -> None:
    """Add one event to `key`'s window, opening a new window when the last one is over."""
    current = _in_window(state, key, now, window)
    if current:
        state[key] = {**state[key], "count": current + 1}
    else:
        state[key] = {"since": iso_utc(now), "count": 1}


def token_lookups_blocked(state: Mapping[str, Any], now: datetime) -> bool:
    """True for the rest of the minute once a phone has missed TOKEN_MISS_LIMIT times in it."""
    return _in_window(state, MISS_COUNTER, now, TOKEN_MISS_WINDOW) >= TOKEN_MISS_LIMIT


def over_auto_reply_cap(state: Mapping[str, Any], now: datetime) -> bool:
    """True once AUTO_REPLY_LIMIT automatic answers went to this phone in the current hour."""
    return _in_window(state, REPLY_COUNTER, now, AUTO_REPLY_WINDOW) >= AUTO_REPLY_LIMIT


def acked_recently(state: Mapping[str, Any], now: datetime, interval_hours: float) -> bool:
    """Whether a free-text acknowledgement went out less than `interval_hours` ago."""
    last = _parse(state.get("last_ack_at"))
    return last is not None and last <= now < last + timedelta(hours=interval_hours)


def mark_acked(state: dict[str, Any], now: datetime) -> None:
    state["last_ack_at"] = iso_utc(now)


def _answer_digest(reply: str) -> str:
    """A short fingerprint of an answer: the state remembers that it was said, not the words (those are
    in the message log), so a STATUS answer with three links costs the phone's state 16 characters."""
    return hashlib.sha256(reply.encode()).hexdigest()[:16]


def _recent_answers(state: Mapping[str, Any], now: datetime) -> dict[str, str]:
    """The answers sent within REPEAT_WINDOW before `now`; older (or unreadable) entries are dropped."""
    answers = state.get(ANSWERS)
    if not isinstance(answers, dict):
        return {}
    recent = {}
    for digest, at in answers.items():
        sent = _parse(at)
        if sent is not None and sent <= now < sent + REPEAT_WINDOW:
            recent[digest] = at
    return recent


def answered_recently(state: Mapping[str, Any], reply: str, now: datetime) -> bool:
    """Whether this very answer went to the phone less than REPEAT_WINDOW ago."""
    return _answer_digest(reply) in _recent_answers(state, now)


def remember_answer(state: dict[str, Any], reply: str, now: datetime) -> None:
    """Note that `reply` was sent now, forgetting answers older than the window (the state stays small)."""
    state[ANSWERS] = {**_recent_answers(state, now), _answer_digest(reply): iso_utc(now)}


def record_opt_out(state: dict[str, Any], now: datetime, keyword: str) -> None:
    state.update(opted_out(state, iso_utc(now), keyword))


def record_opt_in(state: dict[str, Any], now: datetime, keyword: str) -> None:
    state.update(opted_in(state, iso_utc(now), keyword))
