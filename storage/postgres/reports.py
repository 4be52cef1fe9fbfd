"""`ReportQueries` on PostgreSQL: a period's history is aggregated per appeal in SQL, so the
export stays one query, as on SQLite.

`PeriodAppeal.row` and the booking rows are handed to the report views as the SQLite store
hands them, column for column: instants as UTC ISO text, dates as ISO text, flags as 0/1
(`as_stored`). The views parse that form; typed values there would be the better interface,
and one change for both backends."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from storage.codec import encode_instant
from storage.models import Status
from storage.postgres.database import PostgresDatabase
from storage.reports import (
    EVERYTHING,
    MEETINGS_COLUMNS,
    HistoryRow,
    PeriodAppeal,
    PeriodMeeting,
    PeriodRows,
    ReportScope,
    assemble_meetings,
    meetings_chat,
)


class PostgresReportQueries:
    """`ReportQueries` on PostgreSQL; what each method promises is written there."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    async def period(
        self, since: datetime, until: datetime, scope: ReportScope = EVERYTHING
    ) -> list[PeriodAppeal]:
        sql, params = period_sql(since, until, scope)
        return [_period_appeal(r) for r in await self.db.fetchall(sql, *params)]

    async def bookings(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(BOOKINGS_SQL, *_days(first_day, last_day))
        return [as_stored(r) for r in rows]

    async def history(self, appeal_id: int) -> list[HistoryRow]:
        rows = await self.db.fetchall(
            "SELECT old_status, new_status, actor, actor_name, at, note FROM status_history "
            "WHERE appeal_id = $1 ORDER BY id",
            appeal_id,
        )
        return [
            HistoryRow(
                Status(r["old_status"]) if r["old_status"] else None,
                Status(r["new_status"]),
                r["actor"],
                r["actor_name"],
                r["at"],
                r["note"],
            )
            for r in rows
        ]

    async def citizen_comment(self, appeal_id: int) -> str | None:
        comment: str | None = await self.db.fetchval(
            "SELECT feedback FROM appeals WHERE id = $1", appeal_id
        )
        return comment

    async def record_contact_export(
        self,
        official_id: int,
        at: datetime,
        period: tuple[datetime, datetime],
        appeal_ids: list[int],
        bookings: int,
    ) -> None:
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO contact_views (appeal_id, official_id, at, via) "
                "VALUES ($1, $2, $3, 'export')",
                [(appeal_id, official_id, at) for appeal_id in appeal_ids],
            )
            await conn.execute(
                "INSERT INTO contact_exports (official_id, at, since, until, appeals, bookings) "
                "VALUES ($1, $2, $3, $4, $5, $6)",
                official_id,
                at,
                period[0],
                period[1],
                len(appeal_ids),
                bookings,
            )


BOOKINGS_SQL = (
    "SELECT b.*, a.reference AS appeal_reference FROM bookings b "
    "LEFT JOIN appeals a ON a.id = b.appeal_id "
    "WHERE b.session_day BETWEEN $1 AND $2 ORDER BY b.slot_start, b.id"
)


def period_sql(since: datetime, until: datetime, scope: ReportScope) -> tuple[str, tuple[Any, ...]]:
    """The period's appeals within `scope`, oldest first, with their history times."""
    chat, chat_params = _scope_filter(scope)
    sql = (
        "SELECT a.*, "
        " (SELECT min(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.actor LIKE 'official:%') AS first_action_at, "
        " (SELECT min(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.new_status = 'answered') AS first_answer_at, "
        " (SELECT min(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.new_status = 'closed') AS closed_at, "
        # An akimat files the number it can look up, not our internal id.
        " (SELECT d.reference FROM appeals d WHERE d.id = a.duplicate_of) "
        "   AS duplicate_of_reference "
        f"FROM appeals a WHERE a.created_at >= $1 AND a.created_at < $2{chat} ORDER BY a.id"
    )
    return sql, (since, until, *chat_params)


@dataclass(frozen=True)
class PostgresReportReader:
    """`PeriodReader` on PostgreSQL: a connection of its own from the URL, opened in the
    process that reads and closed after; the period and its bookings are read in one
    REPEATABLE READ READ ONLY transaction, so both are of the same moment."""

    dsn: str
    timeout: float = 10.0  # seconds to connect

    def read(
        self,
        since: datetime,
        until: datetime,
        scope: ReportScope,
        booking_days: tuple[str, str] | None = None,
        *,
        meetings: tuple[datetime, datetime] | None = None,
    ) -> PeriodRows:
        # The worker's process has no event loop of its own: one for this read.
        return asyncio.run(self._read(since, until, scope, booking_days, meetings))

    async def _read(
        self,
        since: datetime,
        until: datetime,
        scope: ReportScope,
        booking_days: tuple[str, str] | None,
        meetings: tuple[datetime, datetime] | None = None,
    ) -> PeriodRows:
        conn = await asyncpg.connect(
            self.dsn, timeout=self.timeout, server_settings={"TimeZone": "UTC"}
        )
        try:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                sql, params = period_sql(since, until, scope)
                appeals = [_period_appeal(r) for r in await conn.fetch(sql, *params)]
                bookings = (
                    [as_stored(r) for r in await conn.fetch(BOOKINGS_SQL, *_days(*booking_days))]
                    if booking_days is not None
                    else None
                )
                held = (
                    await _meetings(conn, *meetings, meetings_chat(scope))
                    if meetings is not None
                    else None
                )
        finally:
            await conn.close()
        return PeriodRows(appeals, bookings, held)


MEETINGS_WHERE = (
    "a.meeting_at >= $1 AND a.meeting_at < $2 AND ($3::bigint IS NULL OR a.chat_id = $3)"
)


async def _meetings(
    conn: asyncpg.Connection, since: datetime, until: datetime, chat_id: int | None
) -> list[PeriodMeeting]:
    """The meetings with residents whose time is in [since, until), soonest first; announced
    from `chat_id` only, unless it is None."""
    rows = await conn.fetch(
        f"SELECT {MEETINGS_COLUMNS} FROM announcements a WHERE {MEETINGS_WHERE} "
        "ORDER BY a.meeting_at, a.id",
        since,
        until,
        chat_id,
    )
    attendees = await conn.fetch(
        "SELECT t.announcement_id, t.access FROM meeting_attendees t "
        f"JOIN announcements a ON a.id = t.announcement_id WHERE {MEETINGS_WHERE}",
        since,
        until,
        chat_id,
    )
    questions = await conn.fetch(
        "SELECT q.announcement_id, q.topic, count(*) FROM meeting_questions q "
        f"JOIN announcements a ON a.id = q.announcement_id WHERE {MEETINGS_WHERE} "
        "GROUP BY q.announcement_id, q.topic",
        since,
        until,
        chat_id,
    )
    return assemble_meetings(
        [as_stored(r) for r in rows],
        [(int(r[0]), r[1]) for r in attendees],
        [(int(r[0]), r[1], int(r[2])) for r in questions],
    )


def _days(first_day: str, last_day: str) -> tuple[date, date]:
    return date.fromisoformat(first_day), date.fromisoformat(last_day)


def _period_appeal(r: asyncpg.Record) -> PeriodAppeal:
    return PeriodAppeal(as_stored(r), r["first_action_at"], r["first_answer_at"], r["closed_at"])


def _scope_filter(scope: ReportScope) -> tuple[str, tuple[Any, ...]]:
    """The condition on appeals `a` that keeps `scope`'s ($3), with its parameters."""
    if scope.chat_id is None:
        return "", ()
    if scope.default_chat:
        return " AND (a.officials_chat_id = $3 OR a.officials_chat_id IS NULL)", (scope.chat_id,)
    return " AND a.officials_chat_id = $3", (scope.chat_id,)


def as_stored(row: asyncpg.Record) -> dict[str, Any]:
    """The row as SQLite stores it (storage/codec.py): what the report views read."""
    return {
        name: (
            encode_instant(value)
            if isinstance(value, datetime)
            else value.isoformat()
            if isinstance(value, date)
            else int(value)
            if isinstance(value, bool)
            else value
        )
        for name, value in row.items()
    }
