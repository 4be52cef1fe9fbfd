"""Queries behind /stats and /export: one period of appeals, read once."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.sqlite import SQLiteDatabase


@dataclass(frozen=True)
class PeriodAppeal:
    """An appeal of the period with the times of its first official action and answer."""

    row: dict[str, Any]
    first_action_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True)
class ReportScope:
    """Whose appeals a report covers. `chat_id` None: every appeal (an administrator in
    private). Otherwise the appeals routed to that officials' chat; the default chat also
    has those routed nowhere, and the bookings of receptions (which no department owns)."""

    chat_id: int | None
    default_chat: bool = False

    @property
    def bookings(self) -> bool:
        return self.chat_id is None or self.default_chat

    def where(self) -> tuple[str, tuple[Any, ...]]:
        if self.chat_id is None:
            return "", ()
        if self.default_chat:
            return " AND (a.officials_chat_id = ? OR a.officials_chat_id IS NULL)", (self.chat_id,)
        return " AND a.officials_chat_id = ?", (self.chat_id,)


EVERYTHING = ReportScope(None)


def _utc(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


class ReportQueries:
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def period(
        self, since: datetime, until: datetime, scope: ReportScope = EVERYTHING
    ) -> list[PeriodAppeal]:
        """Appeals registered in [since, until) within `scope`, oldest first, with their
        history times. The history is aggregated per appeal in SQL so the export stays one
        query."""
        chat, chat_params = scope.where()
        sql = (
            "SELECT a.*, "
            " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
            "   AND h.actor LIKE 'official:%') AS first_action_at, "
            " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
            "   AND h.new_status = 'answered') AS first_answer_at, "
            " (SELECT MIN(h.at) FROM status_history h WHERE h.appeal_id = a.id "
            "   AND h.new_status = 'closed') AS closed_at "
            f"FROM appeals a WHERE a.created_at >= ? AND a.created_at < ?{chat} ORDER BY a.id"
        )
        params = (
            since.astimezone(UTC).isoformat(),
            until.astimezone(UTC).isoformat(),
            *chat_params,
        )
        return await self.db.fetchall_as(sql, params, _period_appeal)

    async def bookings(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Bookings of sessions held from first_day to last_day (ISO dates), with the
        appeal's number where the booking is about one."""
        rows = await self.db.fetchall(
            "SELECT b.*, a.reference AS appeal_reference FROM bookings b "
            "LEFT JOIN appeals a ON a.id = b.appeal_id "
            "WHERE b.session_day BETWEEN ? AND ? ORDER BY b.slot_start, b.id",
            (first_day, last_day),
        )
        return [dict(r) for r in rows]


def _period_appeal(row: sqlite3.Row) -> PeriodAppeal:
    return PeriodAppeal(
        dict(row),
        _utc(row["first_action_at"]),
        _utc(row["first_answer_at"]),
        _utc(row["closed_at"]),
    )
