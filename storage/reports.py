"""Queries behind /stats, /export and /find's history: one period of appeals, read once."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from storage.models import Status


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


EVERYTHING = ReportScope(None)


def meetings_chat(scope: ReportScope | None) -> int | None:
    """The chat whose meetings with residents a command shows (/meetings, /stats, /export;
    the rule of the polls in the digest and /stats): a department's officials' chat the
    meetings announced from it, with their citizens' questions; the default chat and an
    administrator in private every meeting (None)."""
    if scope is None or scope.chat_id is None or scope.default_chat:
        return None
    return scope.chat_id


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


@dataclass(frozen=True)
class PeriodRows:
    """What /stats or /export read of one period, in one snapshot of the database."""

    appeals: list[PeriodAppeal]
    bookings: list[dict[str, Any]] | None  # None: not asked for
    meetings: list[PeriodMeeting] | None = None  # None: not asked for


@dataclass(frozen=True)
class PeriodMeeting:
    """A meeting with residents (issue #13) whose time falls in the period, with its figures:
    `row` the announcement's meeting columns as stored (`MEETINGS_COLUMNS`), `registered` how
    many said they come (now), `access` their access needs summed (code -> how many),
    `questions` the questions in advance by topic (its index; None: another topic)."""

    row: dict[str, Any]
    registered: int
    access: dict[str, int]
    questions: dict[int | None, int]


# The announcement's columns a meeting's row in /stats and /export carries, and how many times
# it was moved.
MEETINGS_COLUMNS = (
    "a.id, a.districts, a.meeting_who, a.meeting_place, a.meeting_at, a.meeting_topics, "
    "a.meeting_cancelled_at, a.meeting_attended, a.meeting_attended_by_name, "
    "a.meeting_attended_at, "
    "(SELECT count(*) FROM meeting_moves m WHERE m.announcement_id = a.id) AS moves"
)


def assemble_meetings(
    meetings: list[dict[str, Any]],
    attendees: list[tuple[int, str]],
    questions: list[tuple[int, int | None, int]],
) -> list[PeriodMeeting]:
    """The meetings with their figures, from the three reads of either backend: the
    meetings' rows, every (meeting, access JSON) of who said they come, and (meeting, topic,
    how many) of the questions."""
    registered: dict[int, int] = {}
    access: dict[int, dict[str, int]] = {}
    for meeting_id, needs in attendees:
        registered[meeting_id] = registered.get(meeting_id, 0) + 1
        summed = access.setdefault(meeting_id, {})
        for code in json.loads(needs or "[]"):
            summed[code] = summed.get(code, 0) + 1
    asked: dict[int, dict[int | None, int]] = {}
    for meeting_id, topic, count in questions:
        asked.setdefault(meeting_id, {})[topic] = count
    return [
        PeriodMeeting(
            row, registered.get(row["id"], 0), access.get(row["id"], {}), asked.get(row["id"], {})
        )
        for row in meetings
    ]


class PeriodReader(Protocol):
    """The reads of /stats and /export, made in a worker process: the object is pickled to
    it (it holds where the database is, never a connection) and reads there, off the bot's
    event loop. On SQLite `storage.sqlite.reports.SQLiteReportReader`."""

    def read(
        self,
        since: datetime,
        until: datetime,
        scope: ReportScope,
        booking_days: tuple[str, str] | None = None,
        *,
        meetings: tuple[datetime, datetime] | None = None,
    ) -> PeriodRows:
        """`ReportQueries.period` and, with `booking_days`, `ReportQueries.bookings`, in
        one read transaction; with `meetings`, also the meetings with residents whose time
        falls in [since, until) that `scope` sees (`meetings_chat`)."""


@runtime_checkable
class ReportQueries(Protocol):
    """What consumers ask of the reports store, whatever the database; on SQLite
    `storage.sqlite.reports.SQLiteReportQueries`."""

    async def period(
        self, since: datetime, until: datetime, scope: ReportScope = EVERYTHING
    ) -> list[PeriodAppeal]:
        """Appeals registered in [since, until) within `scope`, oldest first, with their
        history times."""

    async def bookings(self, first_day: str, last_day: str) -> list[dict[str, Any]]:
        """Bookings of sessions held from first_day to last_day (ISO dates), with the
        appeal's number where the booking is about one."""

    async def history(self, appeal_id: int) -> list[HistoryRow]:
        """Everything that happened to an appeal, oldest first."""

    async def citizen_comment(self, appeal_id: int) -> str | None:
        """What the citizen said was still unsolved when they last reopened the appeal."""

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
