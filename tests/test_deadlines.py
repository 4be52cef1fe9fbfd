"""Working days and legal deadlines, without Telegram."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from bot.domain.catalog import Catalog
from bot.domain.deadlines import DeadlinePolicy, WorkCalendar
from tests.conftest import ALMATY


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY)


def test_weekends_and_public_holidays_are_not_working_days() -> None:
    cal = WorkCalendar()
    assert cal.is_working_day(date(2026, 12, 15))
    assert not cal.is_working_day(date(2026, 12, 16))  # Independence Day
    assert not cal.is_working_day(date(2026, 12, 19))  # Saturday
    assert not cal.is_working_day(date(2026, 3, 24))  # Nauryz, moved off a weekend


def test_catalog_transfers_override_the_calendar() -> None:
    cal = WorkCalendar(
        extra_days_off=frozenset({date(2026, 12, 14)}),
        extra_working_days=frozenset({date(2026, 12, 19)}),
    )
    assert not cal.is_working_day(date(2026, 12, 14))
    assert cal.is_working_day(date(2026, 12, 19))


def test_working_day_deadline_skips_a_holiday(catalog: Catalog) -> None:
    policy = DeadlinePolicy(catalog, ALMATY)
    complaint = catalog.kind("complaint")
    assert complaint is not None
    deadline = policy.deadline(complaint, at(2026, 11, 23, 10, 0))
    assert deadline.registered_on == date(2026, 11, 23)
    assert deadline.due_on == date(2026, 12, 22)  # 20 working days, 16 December off
    assert deadline.due_at == at(2026, 12, 22, 18, 30)


def test_after_working_hours_counts_from_the_next_working_day(catalog: Catalog) -> None:
    policy = DeadlinePolicy(catalog, ALMATY)
    application = catalog.kind("application")
    assert application is not None
    friday_evening = policy.deadline(application, at(2026, 11, 27, 19, 0))
    assert friday_evening.registered_on == date(2026, 11, 30)  # Monday
    saturday = policy.deadline(application, at(2026, 11, 28, 11, 0))
    assert saturday.registered_on == date(2026, 11, 30)
    in_hours = policy.deadline(application, at(2026, 11, 27, 18, 29))
    assert in_hours.registered_on == date(2026, 11, 27)


def test_calendar_day_deadline_ending_on_a_day_off_moves_to_the_next_working_day(
    catalog: Catalog,
) -> None:
    policy = DeadlinePolicy(catalog, ALMATY)
    request = catalog.kind("info_request")
    assert request is not None
    # 1 December + 15 calendar days = 16 December, Independence Day → 17 December.
    deadline = policy.deadline(request, at(2026, 12, 1, 12, 0))
    assert deadline.due_on == date(2026, 12, 17)


def test_deadline_days_come_from_the_catalog(catalog: Catalog) -> None:
    complaint = catalog.kind("complaint")
    assert complaint is not None
    shorter = replace(complaint, days=5)
    policy = DeadlinePolicy(catalog, ALMATY)
    assert policy.deadline(shorter, at(2026, 11, 23, 10, 0)).due_on == date(2026, 11, 30)


def test_utc_input_is_read_in_local_time(catalog: Catalog) -> None:
    policy = DeadlinePolicy(catalog, ALMATY)
    # 14:00 UTC is 19:00 in Almaty (UTC+5): after hours.
    assert policy.registration_day(datetime.fromisoformat("2026-11-23T14:00:00+00:00")) == date(
        2026, 11, 24
    )


def test_working_days_between() -> None:
    cal = WorkCalendar()
    assert cal.working_days_between(date(2026, 12, 14), date(2026, 12, 18)) == 3
    assert cal.working_days_between(date(2026, 12, 18), date(2026, 12, 14)) == -3
