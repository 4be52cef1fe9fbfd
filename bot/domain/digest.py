"""What one officials' digest reports, as plain values: `bot.services.digest` collects it,
`bot.views.digest` renders it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

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


# The weekly chart (bot.views.digest_chart): this many full weeks, Monday to Sunday, ending
# before the week the digest goes out in.
CHART_WEEKS = 8
# The chart's outbox row kind (`Outbox.rendered`): the sender draws it with the renderer
# registered under this name (bot.views.digest_chart.DigestChartView, wired in bot.app).
CHART_KIND = "digest-chart"


@dataclass(frozen=True, slots=True)
class WeeklyChart:
    """What the weekly chart shows, as plain numbers: stored in the outbox row as they are
    (`to_payload`), and drawn only when the row is sent (`from_payload`), so a retry or a
    restart draws it again and the database keeps a few hundred bytes, not a picture.

    `weeks` are the local Mondays the weeks start on; each count tuple has one number per
    week, in that order. `answered` and `on_time`: appeals answered that week, and how many
    of them by their due time (as the digest counts answers)."""

    weeks: tuple[date, ...]
    by_category: tuple[tuple[str, tuple[int, ...]], ...]
    answered: tuple[int, ...]
    on_time: tuple[int, ...]

    @property
    def created(self) -> tuple[int, ...]:
        return tuple(
            sum(counts[i] for _code, counts in self.by_category) for i in range(len(self.weeks))
        )

    @property
    def on_time_rates(self) -> tuple[float | None, ...]:
        return tuple(t / a if a else None for a, t in zip(self.answered, self.on_time, strict=True))

    @property
    def is_empty(self) -> bool:
        return not (any(self.created) or any(self.answered))

    def to_payload(self) -> dict[str, object]:
        return {
            "weeks": [w.isoformat() for w in self.weeks],
            "by_category": {code: list(counts) for code, counts in self.by_category},
            "answered": list(self.answered),
            "on_time": list(self.on_time),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WeeklyChart:
        """The chart `to_payload` stored; ValueError if it is not one."""
        try:
            weeks = tuple(date.fromisoformat(str(w)) for w in payload["weeks"])
            by_category = tuple(
                (str(code), tuple(int(n) for n in counts))
                for code, counts in dict(payload["by_category"]).items()
            )
            answered = tuple(int(n) for n in payload["answered"])
            on_time = tuple(int(n) for n in payload["on_time"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a weekly chart: {exc}") from None
        sizes = {len(answered), len(on_time), *(len(c) for _code, c in by_category)}
        if sizes - {len(weeks)}:
            raise ValueError("not a weekly chart: a count per week expected")
        return cls(weeks, by_category, answered, on_time)
