"""Leases: a named piece of work that one instance in any number does at a time (the outbox
sender), held by one instance until an expiry it keeps pushing forward.

Taking and renewing are the same single conditional statement, so two instances can never both
be told they hold a lease: the row changes hands only when it has expired, when the caller
holds it already, or when the caller names the holder it knows to be dead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    name: str
    holder: str
    expires_at: datetime


@runtime_checkable
class LeaseStore(Protocol):
    """What consumers ask of the lease store, whatever the database; on SQLite
    `storage.sqlite.lease.SQLiteLeaseStore`."""

    async def take(
        self,
        name: str,
        holder: str,
        now: datetime,
        expires_at: datetime,
        *,
        replacing: str | None = None,
    ) -> bool:
        """Take or renew `name` for `holder` until `expires_at`: True if `holder` holds it now.
        It is granted when nobody holds it, when it expired before `now`, when `holder` holds
        it already, or when `replacing` (a holder the caller knows to be dead) holds it; one
        statement, so of any number of instances racing, one at most is granted it."""
        ...

    async def release(self, name: str, holder: str) -> bool:
        """Give `name` up at once (a clean shutdown), if `holder` still holds it: another
        instance takes it at its next try instead of after the expiry."""
        ...

    async def current(self, name: str) -> LeaseRecord | None:
        """Who holds `name` and until when (an expired row included); None if nobody took it
        yet or it was released."""
        ...
