"""Login codes on PostgreSQL: one row per phone, each check one statement (every web process shares them).

Using a code is a single UPDATE ... RETURNING on the phone's row: a right code deletes it (so two
requests racing with it cannot both log in), a wrong one adds to `wrong`. Expired rows are deleted
by the housekeeping (`forget_login_codes`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.jobs import iso_utc
from store.postgres.connection import Connection, Database

_PUT = """INSERT INTO login_codes (phone, code_hash, expires_at, wrong) VALUES ($1, $2, $3, 0)
ON CONFLICT (phone) DO UPDATE SET code_hash = EXCLUDED.code_hash, expires_at = EXCLUDED.expires_at, wrong = 0"""

# The right code, in time, with tries left: the row goes. A wrong one in time: a try is used.
_USE = """WITH used AS (
    DELETE FROM login_codes WHERE phone = $1 AND code_hash = $2 AND expires_at > $3 AND wrong < $4 RETURNING 1
), missed AS (
    UPDATE login_codes SET wrong = wrong + 1
    WHERE phone = $1 AND code_hash <> $2 AND expires_at > $3 AND wrong < $4 RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM used)"""  # `missed` runs too: a data-modifying CTE runs whether read or not


def _utc(moment: str) -> str:
    """The store's ISO UTC text for any ISO time, so rows compare as text."""
    parsed = datetime.fromisoformat(moment)
    return iso_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))


async def put_login_code(db: Database, phone: str, code_hash: str, expires_at: str) -> None:
    async with db.connection() as conn:
        await conn.execute(_PUT, phone, code_hash, _utc(expires_at))


async def use_login_code(db: Database, phone: str, code_hash: str, now: str, tries: int) -> bool:
    async with db.connection() as conn:
        used: bool = await conn.fetchval(_USE, phone, code_hash, _utc(now), tries)
    return used


async def forget_login_codes(conn: Connection, now: str) -> None:
    """Delete expired codes (the housekeeping)."""
    await conn.execute("DELETE FROM login_codes WHERE expires_at <= $1", now)
