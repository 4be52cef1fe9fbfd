"""`LimitStore` on SQLite.

Both read only the newest rows the limit needs, through the citizen's index
(`appeals_by_citizen`, then `appeal_additions_by_appeal`): a few rows per check, however
long the citizen's history."""

from __future__ import annotations

from datetime import datetime

from storage.codec import decode_instant
from storage.sqlite.database import SQLiteDatabase


class SQLiteLimitStore:
    """`LimitStore` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def latest_appeals(self, citizen_id: int, count: int) -> list[datetime]:
        rows = await self.db.fetchall(
            "SELECT created_at FROM appeals WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
            (citizen_id, count),
            quick=True,
        )
        return [decode_instant(r["created_at"]) for r in rows]

    async def latest_additions(self, citizen_id: int, count: int) -> list[tuple[datetime, str]]:
        rows = await self.db.fetchall(
            "SELECT d.at, d.draft_key FROM appeal_additions d "
            "JOIN appeals a ON a.id = d.appeal_id "
            "WHERE a.citizen_id = ? AND d.question_id IS NULL ORDER BY d.id DESC LIMIT ?",
            (citizen_id, count),
            quick=True,
        )
        return [(decode_instant(r["at"]), r["draft_key"]) for r in rows]
