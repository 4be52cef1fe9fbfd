"""`LeaseStore` on SQLite.

The statements are plain SQL that PostgreSQL runs as well (INSERT … ON CONFLICT DO UPDATE …
WHERE … RETURNING): only the placeholders differ. Instants are encode_instant text, whose
order is the instants' order."""

from __future__ import annotations

from datetime import datetime

from storage.codec import decode_instant, encode_instant
from storage.lease import LeaseRecord
from storage.sqlite.database import SQLiteDatabase

# The row is written only when the WHERE allows the update; otherwise RETURNING gives no row.
TAKE = (
    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.expires_at < ? OR leases.holder = excluded.holder OR leases.holder = ? "
    "RETURNING holder"
)


class SQLiteLeaseStore:
    """`LeaseStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def take(
        self,
        name: str,
        holder: str,
        now: datetime,
        expires_at: datetime,
        *,
        replacing: str | None = None,
    ) -> bool:
        # `replacing` None compares with NULL: never true.
        # fetchall: the statement runs to its end (and commits) before the answer is read.
        rows = await self.db.fetchall(
            TAKE, (name, holder, encode_instant(expires_at), encode_instant(now), replacing)
        )
        return bool(rows) and rows[0]["holder"] == holder

    async def release(self, name: str, holder: str) -> bool:
        deleted = await self.db.execute(
            "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
        )
        return deleted > 0

    async def current(self, name: str) -> LeaseRecord | None:
        row = await self.db.fetchone(
            "SELECT name, holder, expires_at FROM leases WHERE name = ?", (name,)
        )
        if row is None:
            return None
        return LeaseRecord(row["name"], row["holder"], decode_instant(row["expires_at"]))
