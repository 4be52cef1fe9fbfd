"""Working-day calendar and the legal deadline of an appeal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog, Kind


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """Kazakhstan's public holidays in `year`; the receptions' calendar asks it too."""
    # Imported on the first question, not at start-up: `python -m bot` polls sooner
    # (tests/test_startup_imports.py).
    import holidays

    return frozenset(holidays.country_holidays("KZ", years=year).keys())


@dataclass(frozen=True)
class WorkCalendar:
    """Kazakhstan's five-day week: weekends and public holidays off, plus the catalog's
    yearly transfers (extra days off and Saturdays made working by government decree)."""

    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> WorkCalendar:
        return cls(catalog.extra_days_off, catalog.extra_working_days)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day in self.extra_days_off or day in public_holidays(day.year):
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            self.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
        )


@dataclass(frozen=True)
class Deadline:
    registered_on: date
    due_on: date
    due_at: datetime  # the end of the working day on due_on, timezone-aware


class DeadlinePolicy:
    """APPK Art. 64 and 76: an appeal is registered on the day it arrives, or on the next
    working day when it arrives after working hours; the period counts from registration and
    a period ending on a day off ends on the next working day."""

    def __init__(self, catalog: Catalog, tz: ZoneInfo) -> None:
        self.calendar = WorkCalendar.from_catalog(catalog)
        self.working_time = catalog.working_time
        self.tz = tz

    def registration_day(self, received: datetime) -> date:
        local = received.astimezone(self.tz)
        day = local.date()
        if self.calendar.is_working_day(day) and local.time() < self.working_time.end:
            return day
        return self.calendar.next_working_day(day)

    def deadline(self, kind: Kind, received: datetime) -> Deadline:
        registered = self.registration_day(received)
        if kind.day_type == "working":
            due = self.calendar.add_working_days(registered, kind.days)
        else:
            due = registered + timedelta(days=kind.days)
            if not self.calendar.is_working_day(due):
                due = self.calendar.next_working_day(due)
        due_at = datetime.combine(due, self.working_time.end, tzinfo=self.tz)
        return Deadline(registered, due, due_at)


def extension_expects(seen_due: datetime) -> dict[str, datetime]:
    """An extension moves the deadline the official saw, not another: it applies only while
    the appeal still has that due date (the condition of its conditional update). Of two
    officials extending at once the second is refused, so the citizen hears of one new
    deadline and the one they heard of is the one kept."""
    return {"due_at": seen_due}
