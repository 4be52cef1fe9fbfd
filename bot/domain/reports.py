"""The figures of /stats and the period of an /export, as plain values:
`bot.services.reports` computes them, `bot.views.reports` renders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from storage.models import Status


@dataclass(frozen=True)
class Stats:
    days: int
    total: int
    by_status: list[tuple[Status, int]]
    by_category: list[tuple[str, int]]
    median_first_action: timedelta | None
    median_answer: timedelta | None
    answered: int
    answered_in_time: int
    average_rating: float | None
    ratings: int
    meetings: MeetingStats | None = None  # None: no meeting with residents in the period


@dataclass(frozen=True)
class MeetingStats:
    """The meetings with residents (issue #13) whose time fell in the period: `held` (not
    called off), `cancelled`; of those held, how many said they come, how many came (summed
    over the `attended_entered` meetings whose count was entered), their access needs summed
    (code -> how many) and the questions in advance, by topic (the topic as the meeting named
    it, None for «another topic»), most asked first."""

    held: int
    cancelled: int
    registered: int
    attended: int
    attended_entered: int
    access: dict[str, int]
    questions: int
    by_topic: list[tuple[str | None, int]]


@dataclass(frozen=True)
class ExportPeriod:
    """What a workbook covers, for its title rows: appeals registered from `appeals[0]` to
    `appeals[1]`, bookings of the sessions from `bookings[0]` to `bookings[1]` (local days)."""

    appeals: tuple[date, date]
    bookings: tuple[date, date]
    # The meetings with residents sheet (issue #13): meetings from `meetings[0]` to
    # `meetings[1]`, their status as of `as_of` (held once its time has come).
    meetings: tuple[date, date] | None = None
    as_of: datetime | None = None
