"""What the daily limits (`bot.domain.limits`) count: a citizen's newest appeals and additions."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class LimitStore(Protocol):
    """What consumers ask of the limits store, whatever the database; on SQLite
    `storage.sqlite.limits.SQLiteLimitStore`."""

    async def latest_appeals(self, citizen_id: int, count: int) -> list[datetime]: ...

    async def latest_additions(self, citizen_id: int, count: int) -> list[tuple[datetime, str]]: ...
