"""`DigestQueries` on SQLite.

Every query is bounded by an indexed range (a day of created_at or answered_at, or open statuses
by due_at), so the digest costs the same on the first day and after years of history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date, datetime
from typing import Any

from storage.codec import decode_instant, encode_instant
from storage.digest import (
    AnsweredStats,
    DayCounts,
    OpenAppealRow,
    OpenAppeals,
    RatingStats,
    WeeklyCounts,
    period_case,
)
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.transaction import Transaction


def _chat_filter(
    chat_id: int, default_chat: bool, *, by_chat_index: bool = False
) -> tuple[str, tuple[Any, ...]]:
    # Appeals filed before routing existed, or when no chat was configured, have no chat of
    # their own: they belong to the default officials chat.
    # Unless asked for, the unary + keeps SQLite off appeals_by_chat_created: on its own the
    # chat matches that chat's whole history, while the caller's range (answered_at, due_at)
    # matches a day's worth of rows.
    column = "officials_chat_id" if by_chat_index else "+officials_chat_id"
    if default_chat:
        return f"({column} = ? OR {column} IS NULL)", (chat_id,)
    return f"{column} = ?", (chat_id,)


class SQLiteDigestQueries:
    """`DigestQueries` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def day_counts(
        self, chat_id: int, start: datetime, end: datetime, *, default_chat: bool = False
    ) -> DayCounts:
        # (chat, created_at) is exactly appeals_by_chat_created: only this chat's day is read.
        chat, params = _chat_filter(chat_id, default_chat, by_chat_index=True)
        # One grouped pass over the day's rows feeds all three breakdowns.
        rows = await self.db.fetchall(
            "SELECT category, district, status, COUNT(*) AS n FROM appeals "
            f"WHERE created_at >= ? AND created_at < ? AND {chat} "
            "GROUP BY category, district, status",
            (encode_instant(start), encode_instant(end), *params),
        )
        categories: dict[str, int] = {}
        districts: dict[str, int] = {}
        statuses: dict[str, int] = {}
        for row in rows:
            n = int(row["n"])
            categories[row["category"]] = categories.get(row["category"], 0) + n
            districts[row["district"]] = districts.get(row["district"], 0) + n
            statuses[row["status"]] = statuses.get(row["status"], 0) + n
        return DayCounts(sum(categories.values()), categories, districts, statuses)

    async def answered_stats(
        self, chat_id: int, start: datetime, end: datetime, *, default_chat: bool = False
    ) -> AnsweredStats:
        chat, params = _chat_filter(chat_id, default_chat)
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS answered, COALESCE(SUM(answered_at <= due_at), 0) AS on_time "
            f"FROM appeals WHERE answered_at >= ? AND answered_at < ? AND {chat}",
            (encode_instant(start), encode_instant(end), *params),
        )
        if row is None:
            return AnsweredStats()
        return AnsweredStats(int(row["answered"]), int(row["on_time"]))

    async def rating_stats(
        self, chat_id: int, since: datetime, until: datetime, *, default_chat: bool = False
    ) -> RatingStats:
        chat, params = _chat_filter(chat_id, default_chat)
        row = await self.db.fetchone(
            "SELECT AVG(rating) AS average, COUNT(rating) AS n FROM appeals "
            f"WHERE answered_at >= ? AND answered_at < ? AND rating IS NOT NULL AND {chat}",
            (encode_instant(since), encode_instant(until), *params),
        )
        if row is None or not row["n"]:
            return RatingStats()
        return RatingStats(float(row["average"]), int(row["n"]))

    async def open_due(
        self,
        chat_id: int,
        *,
        statuses: Collection[str],
        before: datetime,
        not_before: datetime | None = None,
        default_chat: bool = False,
        limit: int = 15,
    ) -> OpenAppeals:
        chat, params = _chat_filter(chat_id, default_chat)
        wanted = list(statuses)
        marks = ", ".join("?" for _ in wanted)
        lower = "" if not_before is None else "AND due_at >= ? "
        bounds = (
            (encode_instant(before),)
            if not_before is None
            else (encode_instant(before), encode_instant(not_before))
        )
        # The window count is taken before LIMIT, so one query gives both page and total.
        rows = await self.db.fetchall(
            "SELECT reference, due_at, department, COUNT(*) OVER () AS total FROM appeals "
            f"WHERE status IN ({marks}) AND due_at < ? {lower}AND {chat} "
            "ORDER BY due_at, id LIMIT ?",
            (*wanted, *bounds, *params, limit),
        )
        if not rows:
            return OpenAppeals()
        return OpenAppeals(
            tuple(
                OpenAppealRow(r["reference"], decode_instant(r["due_at"]), r["department"])
                for r in rows
            ),
            int(rows[0]["total"]),
        )

    async def weekly_counts(
        self, chat_id: int, bounds: Sequence[datetime], *, default_chat: bool = False
    ) -> WeeklyCounts:
        if len(bounds) < 2:
            return WeeklyCounts()
        edges = tuple(encode_instant(b) for b in bounds)
        marks = ["?"] * len(edges)
        # (chat, created_at) is exactly appeals_by_chat_created: only this chat's weeks are read.
        chat, params = _chat_filter(chat_id, default_chat, by_chat_index=True)
        created = await self.db.fetchall(
            f"SELECT {period_case('created_at', marks)} AS period, category, COUNT(*) AS n "
            f"FROM appeals WHERE created_at >= ? AND created_at < ? AND {chat} "
            "GROUP BY period, category",
            (*edges[1:-1], edges[0], edges[-1], *params),
        )
        # appeals_by_answered (answered_at, officials_chat_id, due_at, …) covers this one.
        chat, params = _chat_filter(chat_id, default_chat)
        answered = await self.db.fetchall(
            f"SELECT {period_case('answered_at', marks)} AS period, COUNT(*) AS answered, "
            "COALESCE(SUM(answered_at <= due_at), 0) AS on_time "
            f"FROM appeals WHERE answered_at >= ? AND answered_at < ? AND {chat} "
            "GROUP BY period",
            (*edges[1:-1], edges[0], edges[-1], *params),
        )
        return WeeklyCounts(
            {(int(r["period"]), r["category"]): int(r["n"]) for r in created},
            {int(r["period"]): int(r["answered"]) for r in answered},
            {int(r["period"]): int(r["on_time"]) for r in answered},
        )

    async def claim(
        self,
        chat_id: int,
        day: date,
        now: datetime,
        *,
        then: Callable[[Transaction], Awaitable[object]] | None = None,
    ) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO digests (chat_id, day, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (chat_id, day) DO NOTHING",
                (chat_id, day.isoformat(), encode_instant(now)),
            )
            taken = cur.rowcount == 1
            if taken and then is not None:
                await then(conn)
        return taken

    async def claimed(self, chat_id: int, day: date) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM digests WHERE chat_id = ? AND day = ?", (chat_id, day.isoformat())
        )
        return row is not None
