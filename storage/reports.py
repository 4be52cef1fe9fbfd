"""Queries behind /stats, /export and /find's history: one period of appeals, read once."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.models import Status
from storage.sqlite import SQLiteDatabase, _ts


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


@dataclass(frozen=True)
class HistoryRow:
    """One row of an appeal's status history, as stored. `actor` is "official:<id>" or
    "citizen:<id>"; `actor_name` the official's display name then (None for the citizen and
    for rows older than names were kept)."""

    old_status: Status | None
    new_status: Status
    actor: str
    actor_name: str | None
    at: datetime
    note: str | None


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
            "   AND h.new_status = 'closed') AS closed_at, "
            # An akimat files the number it can look up, not our internal id.
            " (SELECT d.reference FROM appeals d WHERE d.id = a.duplicate_of) "
            "   AS duplicate_of_reference "
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

    async def history(self, appeal_id: int) -> list[HistoryRow]:
        """Everything that happened to an appeal, oldest first."""
        return await self.db.fetchall_as(
            "SELECT old_status, new_status, actor, actor_name, at, note FROM status_history "
            "WHERE appeal_id = ? ORDER BY id",
            (appeal_id,),
            _history_row,
        )

    async def citizen_comment(self, appeal_id: int) -> str | None:
        """What the citizen said was still unsolved when they last reopened the appeal."""
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
        """A file with full contacts went to `official_id`: a contact view for every appeal
        it lists and one row for the file itself, in one transaction (all or nothing)."""
        when = _ts(at)
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO contact_views (appeal_id, official_id, at, via) "
                "VALUES (?, ?, ?, 'export')",
                [(appeal_id, official_id, when) for appeal_id in appeal_ids],
            )
            await conn.execute(
                "INSERT INTO contact_exports (official_id, at, since, until, appeals, bookings) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (official_id, when, _ts(period[0]), _ts(period[1]), len(appeal_ids), bookings),
            )


def _history_row(row: sqlite3.Row) -> HistoryRow:
    return HistoryRow(
        Status(row["old_status"]) if row["old_status"] else None,
        Status(row["new_status"]),
        row["actor"],
        row["actor_name"],
        datetime.fromisoformat(row["at"]),
        row["note"],
    )


def _period_appeal(row: sqlite3.Row) -> PeriodAppeal:
    return PeriodAppeal(
        dict(row),
        _utc(row["first_action_at"]),
        _utc(row["first_answer_at"]),
        _utc(row["closed_at"]),
    )
