"""What one officials' digest reports, as plain values: `bot.services.digest` collects it,
`bot.views.digest` renders it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# How many items a list shows before it folds the rest into one "…and N more" line; the
# queries fetch no more than this.
LIST_LIMIT = 15
# The rating window is named in a message ("for 30 days"): change both together.
RATING_DAYS = 30
DUE_SOON_WORKING_DAYS = 3


@dataclass(frozen=True, slots=True)
class OverdueItem:
    reference: str
    days_overdue: int
    department: str | None


@dataclass(frozen=True, slots=True)
class DueSoonItem:
    reference: str
    due_on: date
    department: str | None


@dataclass(frozen=True)
class DigestData:
    """Everything one digest shows, as plain values: `day` is the local day it reports on;
    the overdue and due-soon lists are as of the moment it was built."""

    day: date
    new_total: int = 0
    by_category: tuple[tuple[str, int], ...] = ()
    by_district: tuple[tuple[str, int], ...] = ()
    by_status: tuple[tuple[str, int], ...] = ()
    answered: int = 0
    answered_on_time: int = 0
    rating_average: float | None = None
    rating_count: int = 0
    overdue: tuple[OverdueItem, ...] = ()
    overdue_total: int = 0
    due_soon: tuple[DueSoonItem, ...] = ()
    due_soon_total: int = 0

    @property
    def on_time_rate(self) -> float | None:
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def is_empty(self) -> bool:
        return not (self.new_total or self.answered or self.overdue_total or self.due_soon_total)
