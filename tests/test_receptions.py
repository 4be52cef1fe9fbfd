"""Receptions: reading them from the catalog, session days, slots and what may be booked."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.domain.catalog import Catalog, CatalogError
from bot.domain.deadlines import WorkCalendar
from bot.domain.receptions import (
    BookingRules,
    Panelist,
    Reception,
    ReceptionCatalog,
    SlotPlanner,
    load_receptions,
)
from tests.conftest import ALMATY

MONDAY = date(2026, 11, 23)
INDEPENDENCE_DAY = date(2026, 12, 16)  # a Wednesday


def reception(**changes: object) -> Reception:
    fields: dict[str, object] = {
        "code": "deputy",
        "kk": "Әкім орынбасарының қабылдауы",
        "ru": "Приём заместителя акима",
        "panel": (
            Panelist("Ахметов С.", "Ахметов С.", "әкімнің орынбасары", "заместитель акима"),
            Panelist("Омаров Е.", "Омаров Е.", "бас дәрігер", "главный врач"),
        ),
        "topics_kk": "әлеуметтік қолдау",
        "topics_ru": "социальная поддержка",
        "address_kk": "Орталық көшесі, 1",
        "address_ru": "ул. Центральная, 1",
        "access_kk": "пандус, лифт",
        "access_ru": "пандус, лифт",
        "weekdays": (2,),
        "start": time(10, 0),
        "end": time(13, 0),
        "slot_minutes": 20,
        "capacity": 2,
        "dates": (),
    }
    fields.update(changes)
    return Reception(**fields)  # type: ignore[arg-type]


def planner(*receptions: Reception, calendar: WorkCalendar | None = None) -> SlotPlanner:
    return SlotPlanner(
        ReceptionCatalog(receptions, BookingRules()), calendar or WorkCalendar(), ALMATY
    )


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ALMATY)


# --- the catalog ---------------------------------------------------------------------------


def test_bundled_catalog_has_both_receptions_and_the_rules(catalog: Catalog) -> None:
    rc = load_receptions(catalog)
    assert rc.rules == BookingRules(
        lead=timedelta(hours=2),
        horizon_days=28,
        reminder_day_before=time(18, 0),
        reminder_before=timedelta(hours=2),
        waitlist_hold=timedelta(hours=2),
    )
    deputy, open_day = rc.get("deputy_akim"), rc.get("akim_open_day")
    assert deputy is not None and open_day is not None and rc.get("nope") is None
    # The booking dialog lists them in catalog order; the recurring one comes first.
    assert rc.receptions[0] is deputy
    assert (deputy.weekdays, deputy.start, deputy.end) == ((2,), time(10), time(13))
    assert (deputy.slot_minutes, deputy.capacity, len(deputy.panel)) == (20, 2, 4)
    assert "медико-социальной экспертизы" in deputy.panel_text("ru")
    assert "медициналық-әлеуметтік сараптама" in deputy.panel_text("kk")
    assert "сурдоаудармашы" in deputy.access("kk") and "сурдопереводчик" in deputy.access("ru")
    assert open_day.weekdays == () and open_day.dates == (date(2026, 12, 11),)
    assert (open_day.slot_minutes, open_day.capacity) == (30, 3)
    for r in rc.receptions:
        for lang in ("kk", "ru"):
            assert r.name(lang) and r.topics(lang) and r.address(lang) and r.access(lang)
        assert r.name("kk") != r.name("ru")


def test_texts_by_language() -> None:
    r = reception()
    assert r.panel_text("ru") == "Ахметов С. — заместитель акима; Омаров Е. — главный врач"
    assert r.panel_text("kk").startswith("Ахметов С. — әкімнің орынбасары; ")
    assert (r.name("kk"), r.address("ru")) == ("Әкім орынбасарының қабылдауы", "ул. Центральная, 1")
    assert r.panel[0].post("kk") == "әкімнің орынбасары"


GOOD = """
[booking]
lead_hours = 1
horizon_days = 14
reminder_day_before = "19:30"
reminder_before_minutes = 60
waitlist_hold_minutes = 30

[[receptions]]
code = "x"
kk = "Қабылдау"
ru = "Приём"
address_kk = "Мекенжай"
address_ru = "Адрес"
weekdays = [0, 4]
start = 09:00:00
end = "12:00"
slot_minutes = 15
capacity = 1
dates = ["2026-12-12", 2026-12-13]

[[receptions.panel]]
name_kk = "Аты"
name_ru = "Имя"
post_kk = "әкім"
post_ru = "аким"
"""


def with_toml(catalog: Catalog, tmp_path: Path, text: str) -> Catalog:
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    return dataclasses.replace(catalog, source=str(path))


def test_reads_an_operators_file(catalog: Catalog, tmp_path: Path) -> None:
    rc = load_receptions(with_toml(catalog, tmp_path, GOOD))
    assert rc.rules == BookingRules(
        timedelta(hours=1), 14, time(19, 30), timedelta(minutes=60), timedelta(minutes=30)
    )
    [r] = rc.receptions
    assert (r.weekdays, r.start, r.end, r.capacity) == ((0, 4), time(9), time(12), 1)
    assert r.dates == (date(2026, 12, 12), date(2026, 12, 13))
    assert r.panel_text("kk") == "Аты — әкім" and r.topics("ru") == ""


def test_a_catalog_without_receptions_has_none(catalog: Catalog, tmp_path: Path) -> None:
    rc = load_receptions(with_toml(catalog, tmp_path, "[limits]\ntext_min = 5\n"))
    assert rc.receptions == () and rc.rules == BookingRules()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('end = "12:00"', 'end = "09:00"', "end 09:00 must be after start 09:00"),
        ("slot_minutes = 15", "slot_minutes = 0", "slot_minutes must be a whole number > 0"),
        ("capacity = 1", "capacity = 0", "capacity must be a whole number > 0"),
        ("capacity = 1", "capacity = -2", "capacity must be a whole number > 0"),
        ("weekdays = [0, 4]", "weekdays = [0, 7]", "weekdays must be a list of 0..6"),
        ("weekdays = [0, 4]", 'weekdays = ["Mon"]', "weekdays must be a list of 0..6"),
        ("slot_minutes = 15", "slot_minutes = 240", "no 240-minute slot fits"),
        ('end = "12:00"', 'end = "noon"', "'noon' is not a time"),
        ('dates = ["2026-12-12", 2026-12-13]', 'dates = ["12.12.2026"]', "is not a date"),
        ("weekdays = [0, 4]", "weekday = [0, 4]", "unknown keys ['weekday']"),
        ("horizon_days = 14", "horizon_days = 0", "horizon_days must be a whole number >= 1"),
        ('address_ru = "Адрес"', "", "missing address_ru"),
        ("capacity = 1", "", "missing capacity"),
    ],
)
def test_bad_data_is_refused_with_a_clear_message(
    catalog: Catalog, tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in GOOD
    bad = with_toml(catalog, tmp_path, GOOD.replace(old, new))
    with pytest.raises(ValueError, match=r"reception 'x'|\[booking\]") as caught:
        load_receptions(bad)
    assert message in str(caught.value)
    # Also a CatalogError: `python -m bot` prints it as one line naming the file.
    assert isinstance(caught.value, CatalogError) and "catalog.toml" in str(caught.value)


def test_duplicate_codes_and_empty_schedules_are_refused(catalog: Catalog, tmp_path: Path) -> None:
    twice = GOOD + GOOD[GOOD.index("[[receptions]]") :]
    with pytest.raises(ValueError, match=r"duplicate codes \['x'\]"):
        load_receptions(with_toml(catalog, tmp_path, twice))
    never = GOOD.replace("weekdays = [0, 4]", "weekdays = []").replace(
        'dates = ["2026-12-12", 2026-12-13]', "dates = []"
    )
    with pytest.raises(ValueError, match="give weekdays, dates or both"):
        load_receptions(with_toml(catalog, tmp_path, never))


# --- days and slots -----------------------------------------------------------------------


def test_slots_fill_the_session_without_running_over() -> None:
    p = planner()
    slots = p.slots(reception(), date(2026, 11, 25))
    assert [s.start.strftime("%H:%M") for s in slots] == [
        "10:00", "10:20", "10:40", "11:00", "11:20", "11:40", "12:00", "12:20", "12:40",
    ]  # fmt: skip
    assert slots[-1].end == at(date(2026, 11, 25), 13)
    assert all(s.reception == "deputy" and s.end - s.start == timedelta(minutes=20) for s in slots)
    assert slots[0].start.tzinfo is ALMATY and slots[0].start.utcoffset() == timedelta(hours=5)
    # A slot that would end after the session is not offered.
    odd = p.slots(reception(end=time(11, 0), slot_minutes=25), date(2026, 11, 25))
    assert [s.start.strftime("%H:%M") for s in odd] == ["10:00", "10:25"]


def test_weekly_sessions_across_weeks_skip_independence_day() -> None:
    days = planner().session_days(reception(), MONDAY)
    # [23 Nov, 21 Dec): every Wednesday but 16 December, a public holiday.
    assert days == [date(2026, 11, 25), date(2026, 12, 2), date(2026, 12, 9)]
    assert INDEPENDENCE_DAY.weekday() == 2


def test_a_one_off_date_is_held_even_on_a_holiday_or_another_weekday() -> None:
    friday = date(2026, 12, 11)
    r = reception(dates=(INDEPENDENCE_DAY, friday))
    days = planner().session_days(r, MONDAY)
    assert days == [
        date(2026, 11, 25), date(2026, 12, 2), date(2026, 12, 9), friday, INDEPENDENCE_DAY,
    ]  # fmt: skip
    only_once = reception(weekdays=(), dates=(friday,))
    assert planner().session_days(only_once, MONDAY) == [friday]
    assert planner().slots(only_once, friday)[0].start == at(friday, 10)


def test_the_horizon_bounds_the_days_offered() -> None:
    p = planner()
    december = p.session_days(reception(), date(2026, 12, 1))
    # [1 Dec, 29 Dec): 23 December is in, 30 December is not.
    assert december == [date(2026, 12, 2), date(2026, 12, 9), date(2026, 12, 23)]
    late = reception(weekdays=(), dates=(date(2026, 12, 21), date(2026, 11, 20)))
    # A one-off past the horizon waits until booking opens; one in the past is gone.
    assert p.session_days(late, MONDAY) == []
    assert p.session_days(late, date(2026, 11, 24)) == [date(2026, 12, 21)]


def test_calendar_transfers_and_weekend_receptions() -> None:
    moved_off = date(2026, 12, 2)  # a Wednesday made a day off by decree
    calendar = WorkCalendar(extra_days_off=frozenset({moved_off}))
    assert moved_off not in planner(calendar=calendar).session_days(reception(), MONDAY)
    # A Saturday reception is the operator's choice: kept, except on a holiday.
    saturdays = planner().session_days(reception(weekdays=(5,)), MONDAY)
    assert saturdays == [
        date(2026, 11, 28),
        date(2026, 12, 5),
        date(2026, 12, 12),
        date(2026, 12, 19),
    ]
    sundays = planner().session_days(reception(weekdays=(6,)), date(2026, 3, 16))
    assert date(2026, 3, 22) not in sundays  # Nauryz


def test_cancelled_days_are_excluded() -> None:
    cancelled = frozenset({date(2026, 12, 2)})
    days = planner().session_days(reception(), MONDAY, cancelled)
    assert days == [date(2026, 11, 25), date(2026, 12, 9)]
    now = at(date(2026, 12, 1), 12)
    assert all(
        s.start.date() != date(2026, 12, 2) for s in planner().bookable(reception(), now, cancelled)
    )


def test_bookable_keeps_the_lead_time_and_never_offers_the_past() -> None:
    p, r, wed = planner(), reception(), date(2026, 11, 25)
    # 09:00 on the day: two hours' lead leaves 11:00 as the first slot.
    first = p.bookable(r, at(wed, 9))
    assert first[0].start == at(wed, 11) and first[0].start.tzinfo is ALMATY
    assert p.bookable(r, at(wed, 8, 59))[0].start == at(wed, 11)
    assert p.bookable(r, at(wed, 9, 1))[0].start == at(wed, 11, 20)
    # After the session nothing of that day is left; the next Wednesday is.
    after = p.bookable(r, at(wed, 13, 30))
    assert after[0].start == at(date(2026, 12, 2), 10)
    assert all(s.start >= at(wed, 13, 30) + timedelta(hours=2) for s in after)
    # `now` may come in UTC: 20:00 UTC on Tuesday is already Wednesday 01:00 in Almaty.
    late_tuesday = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert p.bookable(r, late_tuesday)[0].start == at(wed, 10)
    # Whole weeks: every slot of three sessions.
    assert len(p.bookable(r, at(MONDAY, 10))) == 3 * 9


def test_the_bundled_schedule_from_the_e2e_clock(catalog: Catalog) -> None:
    rc = load_receptions(catalog)
    p = SlotPlanner(rc, WorkCalendar.from_catalog(catalog), ALMATY)
    now = at(MONDAY, 10).astimezone(UTC)
    deputy, open_day = rc.get("deputy_akim"), rc.get("akim_open_day")
    assert deputy is not None and open_day is not None
    assert p.bookable(deputy, now)[0].start == at(date(2026, 11, 25), 10)
    assert [s.start.strftime("%H:%M") for s in p.bookable(open_day, now)] == [
        "15:00", "15:30", "16:00", "16:30",
    ]  # fmt: skip


def test_a_citizen_cannot_hold_two_receptions_at_overlapping_times() -> None:
    from datetime import UTC, datetime

    from bot.domain.receptions import Held, clashing

    ten = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)  # 10:00 in Almaty
    deputy = Held("deputy_akim", ten, 20)  # 10:00-10:20
    assert clashing(Held("akim_open_day", ten, 30), [deputy]) == deputy  # the same hour
    later = ten.replace(minute=10)
    assert clashing(Held("akim_open_day", later, 30), [deputy]) == deputy  # overlapping
    after = ten.replace(minute=20)
    assert clashing(Held("akim_open_day", after, 30), [deputy]) is None  # when it ends
    before = ten.replace(hour=4, minute=30)
    assert clashing(Held("akim_open_day", before, 30), [deputy]) is None  # ends as it starts
    # The same reception is the store's to decide (one place per session, a repeated confirm).
    assert clashing(Held("deputy_akim", ten, 20), [deputy]) is None
