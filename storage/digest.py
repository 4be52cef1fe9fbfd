"""What the officials' daily digest reads, for one officials chat at a time, and the claim
that makes one process in any number send a chat's digest for a day."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Protocol, runtime_checkable

from storage.base import InTransaction


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants [start, end) of a local calendar day: officials count days in their own
    time zone, while the database stores UTC."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start, end


@dataclass(frozen=True, slots=True)
class DayCounts:
    total: int = 0
    by_category: dict[str, int] = field(default_factory=dict)
    by_district: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AnsweredStats:
    answered: int = 0
    on_time: int = 0


@dataclass(frozen=True, slots=True)
class RatingStats:
    average: float | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class OpenAppealRow:
    reference: str
    due_at: datetime
    department: str | None


@dataclass(frozen=True, slots=True)
class OpenAppeals:
    """The first rows by due time, and how many match in all (for "and N more")."""

    rows: tuple[OpenAppealRow, ...] = ()
    total: int = 0


@dataclass(frozen=True, slots=True)
class WeeklyCounts:
    """Counts per period of `weekly_counts`' bounds (index 0 is the first period): appeals
    created, by category; appeals answered, and how many of them by their due time."""

    created: dict[tuple[int, str], int] = field(default_factory=dict)
    answered: dict[int, int] = field(default_factory=dict)
    on_time: dict[int, int] = field(default_factory=dict)


def period_case(column: str, marks: list[str]) -> str:
    """SQL numbering the period of `column` among ascending bounds given as parameter marks
    (n + 1 marks for n periods; the caller's WHERE keeps the rows within the outer two)."""
    inner = marks[1:-1]
    if not inner:
        return "0"
    whens = " ".join(f"WHEN {column} < {mark} THEN {i}" for i, mark in enumerate(inner))
    return f"CASE {whens} ELSE {len(inner)} END"


@runtime_checkable
class DigestQueries(Protocol):
    """What consumers ask of the digest store, whatever the database; on SQLite
    `storage.sqlite.digest.SQLiteDigestQueries`."""

    async def day_counts(
        self, chat_id: int, start: datetime, end: datetime, *, default_chat: bool = False
    ) -> DayCounts:
        """Appeals created in [start, end), by category, district and current status."""

    async def answered_stats(
        self, chat_id: int, start: datetime, end: datetime, *, default_chat: bool = False
    ) -> AnsweredStats:
        """Appeals answered in [start, end), and how many of them by their due time."""

    async def rating_stats(
        self, chat_id: int, since: datetime, until: datetime, *, default_chat: bool = False
    ) -> RatingStats:
        """Average citizens' rating of the appeals answered in [since, until)."""

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
        """Appeals in `statuses` (the open ones: which those are is the domain's rule, not
        storage's) due in [not_before, before), earliest due first. With `before=now` and no
        lower bound these are the overdue ones."""

    async def weekly_counts(
        self, chat_id: int, bounds: Sequence[datetime], *, default_chat: bool = False
    ) -> WeeklyCounts:
        """For the periods [bounds[i], bounds[i + 1]) (the weekly chart's weeks): appeals
        created by category, and appeals answered with how many of them on time. Two
        statements whatever the number of periods, each over an indexed range."""

    async def claim(
        self,
        chat_id: int,
        day: date,
        now: datetime,
        *,
        then: Callable[[InTransaction], Awaitable[object]] | None = None,
    ) -> bool:
        """True for the one caller, in any process, that takes this chat's digest for `day`.
        `then` runs in the same transaction when the claim is taken (to enqueue the digest):
        both commit or neither does."""

    async def claimed(self, chat_id: int, day: date) -> bool: ...
