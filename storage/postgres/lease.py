"""`LeaseStore` on PostgreSQL: the same statements as on SQLite (storage/sqlite/lease.py).

Two instances racing on the upsert: the second waits for the first's row lock, then reads
the row the first wrote against its WHERE (READ COMMITTED's re-check of ON CONFLICT DO
UPDATE), so it is refused; a holder never loses the row to a racer before the expiry."""

from __future__ import annotations

from datetime import datetime

from storage.lease import LeaseRecord
from storage.postgres.database import PostgresDatabase

TAKE = (
    "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.expires_at < $4 OR leases.holder = excluded.holder OR leases.holder = $5 "
    "RETURNING holder"
)


class PostgresLeaseStore:
    """`LeaseStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
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
        taken = await self.db.fetchval(TAKE, name, holder, expires_at, now, replacing)
        return bool(taken == holder)

    async def release(self, name: str, holder: str) -> bool:
        deleted = await self.db.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder
        )
        return deleted > 0

    async def current(self, name: str) -> LeaseRecord | None:
        row = await self.db.fetchone(
            "SELECT name, holder, expires_at FROM leases WHERE name = $1", name
        )
        if row is None:
            return None
        return LeaseRecord(row["name"], row["holder"], row["expires_at"])
