"""`LimitStore` on PostgreSQL: the newest rows the limit needs, through the citizen's index
(`appeals_by_citizen`, then `appeal_additions_by_appeal`), as on SQLite."""

from __future__ import annotations

from datetime import datetime

from storage.postgres.database import PostgresDatabase


class PostgresLimitStore:
    """`LimitStore` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def latest_appeals(self, citizen_id: int, count: int) -> list[datetime]:
        rows = await self.db.fetchall(
            "SELECT created_at FROM appeals WHERE citizen_id = $1 ORDER BY id DESC LIMIT $2",
            citizen_id,
            count,
        )
        return [r["created_at"] for r in rows]

    async def latest_additions(self, citizen_id: int, count: int) -> list[tuple[datetime, str]]:
        rows = await self.db.fetchall(
            "SELECT d.at, d.draft_key FROM appeal_additions d "
            "JOIN appeals a ON a.id = d.appeal_id "
            "WHERE a.citizen_id = $1 AND d.question_id IS NULL ORDER BY d.id DESC LIMIT $2",
            citizen_id,
            count,
        )
        return [(r["at"], r["draft_key"]) for r in rows]
