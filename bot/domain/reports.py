"""The figures of /stats and the period of an /export, as plain values:
`bot.services.reports` computes them, `bot.views.reports` renders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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


@dataclass(frozen=True)
class ExportPeriod:
    """What a workbook covers, for its title rows: appeals registered from `appeals[0]` to
    `appeals[1]`, bookings of the sessions from `bookings[0]` to `bookings[1]` (local days)."""

    appeals: tuple[date, date]
    bookings: tuple[date, date]
