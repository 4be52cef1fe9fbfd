"""`DigestQueries` on PostgreSQL.

Every query is bounded by an indexed range (a day of created_at or answered_at, or open
statuses by due_at), as on SQLite. The claim is `INSERT … ON CONFLICT DO NOTHING`: of any
number of instances whose schedulers fire together, the one whose row goes in sends the
digest; the others' inserts wait for its commit and then insert nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import date, datetime
from typing import Any

from storage.digest import (
    AnsweredStats,
    DayCounts,
    OpenAppealRow,
    OpenAppeals,
    RatingStats,
    WeeklyCounts,
    period_case,
)
from storage.postgres.database import Connection, PostgresDatabase, rowcount


def _chat_filter(chat_id: int, default_chat: bool, mark: int) -> str:
    """The chat's appeals, as parameter `$mark`. Appeals filed before routing existed, or
    when no chat was configured, have no chat of their own: they belong to the default
    officials chat."""
    if default_chat:
        return f"(officials_chat_id = ${mark} OR officials_chat_id IS NULL)"
    return f"officials_chat_id = ${mark}"


class PostgresDigestQueries:
    """`DigestQueries` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def day_counts(
        self, chat_id: int, start: datetime, end: datetime, *, default_chat: bool = False
    ) -> DayCounts:
        # One grouped pass over the day's rows feeds all three breakdowns.
        chat = _chat_filter(chat_id, default_chat, 3)
        rows = await self.db.fetchall(
            "SELECT category, district, status, count(*) AS n FROM appeals "
            f"WHERE created_at >= $1 AND created_at < $2 AND {chat} "
            "GROUP BY category, district, status",
            start,
            end,
            chat_id,
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
        row = await self.db.fetchone(
            "SELECT count(*) AS answered, count(*) FILTER (WHERE answered_at <= due_at) AS on_time "
            f"FROM appeals WHERE answered_at >= $1 AND answered_at < $2 "
            f"AND {_chat_filter(chat_id, default_chat, 3)}",
            start,
            end,
            chat_id,
        )
        if row is None:
            return AnsweredStats()
        return AnsweredStats(int(row["answered"]), int(row["on_time"]))

    async def rating_stats(
        self, chat_id: int, since: datetime, until: datetime, *, default_chat: bool = False
    ) -> RatingStats:
        row = await self.db.fetchone(
            "SELECT avg(rating)::float8 AS average, count(rating) AS n FROM appeals "
            "WHERE answered_at >= $1 AND answered_at < $2 AND rating IS NOT NULL "
            f"AND {_chat_filter(chat_id, default_chat, 3)}",
            since,
            until,
            chat_id,
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
        lower = "" if not_before is None else "AND due_at >= $5 "
        bounds: tuple[Any, ...] = () if not_before is None else (not_before,)
        # The window count is taken before LIMIT, so one query gives both page and total.
        rows = await self.db.fetchall(
            "SELECT reference, due_at, department, count(*) OVER () AS total FROM appeals "
            f"WHERE status = ANY($1::text[]) AND due_at < $2 {lower}"
            f"AND {_chat_filter(chat_id, default_chat, 3)} ORDER BY due_at, id LIMIT $4",
            [str(s) for s in statuses],
            before,
            chat_id,
            limit,
            *bounds,
        )
        if not rows:
            return OpenAppeals()
        return OpenAppeals(
            tuple(OpenAppealRow(r["reference"], r["due_at"], r["department"]) for r in rows),
            int(rows[0]["total"]),
        )

    async def weekly_counts(
        self, chat_id: int, bounds: Sequence[datetime], *, default_chat: bool = False
    ) -> WeeklyCounts:
        if len(bounds) < 2:
            return WeeklyCounts()
        # $1 is the chat, $2.. the bounds in order.
        marks = [f"${i}::timestamptz" for i in range(2, len(bounds) + 2)]
        first, last = marks[0], marks[-1]
        chat = _chat_filter(chat_id, default_chat, 1)
        created = await self.db.fetchall(
            f"SELECT {period_case('created_at', marks)} AS period, category, count(*) AS n "
            f"FROM appeals WHERE created_at >= {first} AND created_at < {last} AND {chat} "
            "GROUP BY period, category",
            chat_id,
            *bounds,
        )
        answered = await self.db.fetchall(
            f"SELECT {period_case('answered_at', marks)} AS period, count(*) AS answered, "
            "count(*) FILTER (WHERE answered_at <= due_at) AS on_time "
            f"FROM appeals WHERE answered_at >= {first} AND answered_at < {last} AND {chat} "
            "GROUP BY period",
            chat_id,
            *bounds,
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
        then: Callable[[Connection], Awaitable[object]] | None = None,
    ) -> bool:
        async with self.db.transaction() as conn:
            status = await conn.execute(
                "INSERT INTO digests (chat_id, day, claimed_at) VALUES ($1, $2, $3) "
                "ON CONFLICT (chat_id, day) DO NOTHING",
                chat_id,
                day,
                now,
            )
            taken = rowcount(status) == 1
            if taken and then is not None:
                await then(conn)
        return taken

    async def claimed(self, chat_id: int, day: date) -> bool:
        row = await self.db.fetchone(
            "SELECT 1 FROM digests WHERE chat_id = $1 AND day = $2", chat_id, day
        )
        return row is not None
