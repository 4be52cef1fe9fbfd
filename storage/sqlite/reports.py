"""`ReportQueries` on SQLite: a period's history is aggregated per appeal in SQL, so the
export stays one query."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.codec import decode_instant, decode_utc_instant, encode_instant
from storage.models import Status
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
from storage.sqlite.database import BUSY_TIMEOUT, SQLiteDatabase


class SQLiteReportQueries:
    """`ReportQueries` on SQLite; what each method promises is written there."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def period(
        self, since: datetime, until: datetime, scope: ReportScope = EVERYTHING
    ) -> list[PeriodAppeal]:
        """Appeals registered in [since, until) within `scope`, oldest first, with their
        history times (`period_sql`)."""
        sql, params = period_sql(since, until, scope)
        return await self.db.fetchall_as(sql, params, _period_appeal)

    async def bookings(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(BOOKINGS_SQL, (first_day, last_day))
        return [dict(r) for r in rows]

    async def history(self, appeal_id: int) -> list[HistoryRow]:
        return await self.db.fetchall_as(
            "SELECT old_status, new_status, actor, actor_name, at, note FROM status_history "
            "WHERE appeal_id = ? ORDER BY id",
            (appeal_id,),
            _history_row,
        )

    async def citizen_comment(self, appeal_id: int) -> str | None:
        row = await self.db.fetchone("SELECT feedback FROM appeals WHERE id = ?", (appeal_id,))
        return row["feedback"] if row is not None else None

    async def record_contact_export(
        self,
        official_id: int,
        at: datetime,
        period: tuple[datetime, datetime],
        appeal_ids: list[int],
        bookings: int,
    ) -> None:
        when = encode_instant(at)
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO contact_views (appeal_id, official_id, at, via) "
                "VALUES (?, ?, ?, 'export')",
                [(appeal_id, official_id, when) for appeal_id in appeal_ids],
            )
            await conn.execute(
                "INSERT INTO contact_exports (official_id, at, since, until, appeals, bookings) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    official_id,
                    when,
                    encode_instant(period[0]),
                    encode_instant(period[1]),
                    len(appeal_ids),
                    bookings,
                ),
            )


BOOKINGS_SQL = (
    "SELECT b.*, a.reference AS appeal_reference FROM bookings b "
    "LEFT JOIN appeals a ON a.id = b.appeal_id "
    "WHERE b.session_day BETWEEN ? AND ? ORDER BY b.slot_start, b.id"
)


def period_sql(since: datetime, until: datetime, scope: ReportScope) -> tuple[str, tuple[Any, ...]]:
    """The period's appeals within `scope`, oldest first. The history is aggregated per
    appeal in SQL so the export stays one query."""
    chat, chat_params = _scope_filter(scope)
    sql = (
        "SELECT a.*, "
        " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.actor LIKE 'official:%') AS first_action_at, "
        " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.new_status = 'answered') AS first_answer_at, "
        " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
        "   AND h.new_status = 'closed') AS closed_at, "
        # An akimat files the number it can look up, not our internal id.
        " (SELECT d.reference FROM appeals d WHERE d.id = a.duplicate_of) "
        "   AS duplicate_of_reference "
        f"FROM appeals a WHERE a.created_at >= ? AND a.created_at < ?{chat} ORDER BY a.id"
    )
    return sql, (encode_instant(since), encode_instant(until), *chat_params)


@dataclass(frozen=True)
class SQLiteReportReader:
    """`PeriodReader` on SQLite: its own read-only connection to the bot's database file,
    opened in the process that reads (WAL lets it read while the bot writes), closed after."""

    path: Path
    busy_timeout: float = BUSY_TIMEOUT

    def read(
        self,
        since: datetime,
        until: datetime,
        scope: ReportScope,
        booking_days: tuple[str, str] | None = None,
        *,
        meetings: tuple[datetime, datetime] | None = None,
    ) -> PeriodRows:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={round(self.busy_timeout * 1000)}")
            conn.execute("BEGIN")  # one snapshot: the bookings of the same moment
            sql, params = period_sql(since, until, scope)
            appeals = [_period_appeal(row) for row in conn.execute(sql, params)]
            bookings = (
                [dict(row) for row in conn.execute(BOOKINGS_SQL, booking_days)]
                if booking_days is not None
                else None
            )
            held = (
                _meetings(conn, *meetings, meetings_chat(scope)) if meetings is not None else None
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return PeriodRows(appeals, bookings, held)


MEETINGS_WHERE = "a.meeting_at >= ? AND a.meeting_at < ? AND (? IS NULL OR a.chat_id = ?)"


def _meetings(
    conn: sqlite3.Connection, since: datetime, until: datetime, chat_id: int | None
) -> list[PeriodMeeting]:
    """The meetings with residents whose time is in [since, until), soonest first; announced
    from `chat_id` only, unless it is None."""
    bounds = (encode_instant(since), encode_instant(until), chat_id, chat_id)
    rows = conn.execute(
        f"SELECT {MEETINGS_COLUMNS} FROM announcements a WHERE {MEETINGS_WHERE} "
        "ORDER BY a.meeting_at, a.id",
        bounds,
    )
    attendees = conn.execute(
        "SELECT t.announcement_id, t.access FROM meeting_attendees t "
        f"JOIN announcements a ON a.id = t.announcement_id WHERE {MEETINGS_WHERE}",
        bounds,
    )
    questions = conn.execute(
        "SELECT q.announcement_id, q.topic, count(*) FROM meeting_questions q "
        f"JOIN announcements a ON a.id = q.announcement_id WHERE {MEETINGS_WHERE} "
        "GROUP BY q.announcement_id, q.topic",
        bounds,
    )
    return assemble_meetings(
        [dict(r) for r in rows],
        [(int(r[0]), r[1]) for r in attendees],
        [(int(r[0]), r[1], int(r[2])) for r in questions],
    )


def _scope_filter(scope: ReportScope) -> tuple[str, tuple[Any, ...]]:
    """The condition on appeals `a` that keeps `scope`'s, with its parameters."""
    if scope.chat_id is None:
        return "", ()
    if scope.default_chat:
        return " AND (a.officials_chat_id = ? OR a.officials_chat_id IS NULL)", (scope.chat_id,)
    return " AND a.officials_chat_id = ?", (scope.chat_id,)


def _history_row(row: sqlite3.Row) -> HistoryRow:
    return HistoryRow(
        Status(row["old_status"]) if row["old_status"] else None,
        Status(row["new_status"]),
        row["actor"],
        row["actor_name"],
        decode_instant(row["at"]),
        row["note"],
    )


def _period_appeal(row: sqlite3.Row) -> PeriodAppeal:
    return PeriodAppeal(
        dict(row),
        decode_utc_instant(row["first_action_at"]),
        decode_utc_instant(row["first_answer_at"]),
        decode_utc_instant(row["closed_at"]),
    )
