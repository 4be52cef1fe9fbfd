"""What /receptions lists (the sessions of a day, or today's and the booked ones ahead, each
with its places and the registration numbers of the appeals they are about), and that reading
it costs the same number of SQL statements whatever the number of bookings."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import Catalog
from bot.services.bookings import BookingService
from bot.services.officials import OfficialsService
from handlers.official_receptions import references_in
from storage.base import Repository
from storage.bookings import Booking
from storage.sqlite.bookings import SQLiteBookingStore
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.repository import SQLiteRepository
from tests.conftest import ALMATY, FrozenClock
from tests.test_officials_service import service as officials_service
from tests.test_service_queries import bookings_service
from tests.test_storage import NOW, new_appeal

MONDAY = date(2026, 11, 23)  # NOW's local day
WED = date(2026, 11, 25)  # the deputy akim receives on Wednesdays, 10:00-13:00, 20 minutes
NEXT_WED = date(2026, 12, 2)
OPEN_DAY = date(2026, 12, 11)  # the akim's open day, a one-off date in the catalog
_citizens = itertools.count(1000)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ALMATY)


async def place(
    store: SQLiteBookingStore,
    start: datetime,
    *,
    reception: str = "deputy_akim",
    appeal_id: int | None = None,
) -> Booking:
    """A place taken by a new citizen; capacity is the store's to check, not this test's."""
    result = await store.book(
        draft_key=f"d{next(_citizens)}", citizen_id=next(_citizens), reception=reception,
        slot_start=start, session_day=start.date(), capacity=10_000, topic="Вопрос",
        appeal_id=appeal_id, access=[], access_other=None, contact_name="Айгүл",
        contact_phone="+77011112233", language="kk", now=NOW,
    )  # fmt: skip
    assert result.booking is not None, result.reason
    return result.booking


def shown(sessions: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Sessions as codes and booking ids, for comparing."""
    return [(*s[:-2], s[-2].code, [b.id for b in s[-1]]) for s in sessions]


@pytest.mark.every_backend
async def test_the_sessions_of_a_day(repo: Repository, catalog: Catalog) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    late = await place(store, at(WED, 12, 40))
    early = await place(store, at(WED, 10))
    gone = await place(store, at(WED, 11))
    assert await store.cancel(gone.id, gone.citizen_id or 0, NOW) is not None
    marked = await store.mark(early.id, "attended")
    assert marked is not None

    [(reception, booked)] = await bookings.sessions_on(WED)
    # In slot order, marks kept, the cancelled place left out.
    assert reception.code == "deputy_akim"
    assert [(b.id, b.status) for b in booked] == [(early.id, "attended"), (late.id, "booked")]
    # A session nobody booked is listed, empty; a day without one lists nothing.
    assert shown([(r, b) for r, b in await bookings.sessions_on(NEXT_WED)]) == [("deputy_akim", [])]
    assert await bookings.sessions_on(MONDAY) == []


@pytest.mark.every_backend
async def test_called_off_and_added_sessions(repo: Repository, catalog: Catalog) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    deputy = bookings.reception("deputy_akim")
    assert deputy is not None
    await place(store, at(WED, 10))
    await bookings.cancel_session(deputy, WED)
    assert await bookings.sessions_on(WED) == []

    thursday = WED + timedelta(days=1)
    await bookings.add_session(deputy, thursday, official_id=7)
    added = await place(store, at(thursday, 10, 20))
    [(reception, booked)] = await bookings.sessions_on(thursday)
    assert thursday in reception.dates  # the reception as scheduled, the added day in it
    assert [b.id for b in booked] == [added.id]

    # Adding a called-off day holds it again.
    await bookings.add_session(deputy, WED, official_id=7)
    assert shown([(r, b) for r, b in await bookings.sessions_on(WED)]) == [("deputy_akim", [])]


@pytest.mark.every_backend
async def test_today_and_the_booked_sessions_ahead(repo: Repository, catalog: Catalog) -> None:
    bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
    deputy = bookings.reception("deputy_akim")
    assert deputy is not None
    # Nothing today (a Monday) and nothing booked: nothing to list.
    assert await bookings.sessions_ahead(MONDAY) == []

    wed = await place(store, at(WED, 10))
    open_day = await place(store, at(OPEN_DAY, 10), reception="akim_open_day")
    gone = await place(store, at(NEXT_WED, 10))  # cancelled: that session is not listed
    assert await store.cancel(gone.id, gone.citizen_id or 0, NOW) is not None
    await place(store, at(WED + timedelta(days=14), 10))
    await bookings.cancel_session(deputy, WED + timedelta(days=14))
    await place(store, at(MONDAY + timedelta(days=40), 10))  # beyond the 28-day horizon
    assert shown(await bookings.sessions_ahead(MONDAY)) == [
        (WED, "deputy_akim", [wed.id]),
        (OPEN_DAY, "akim_open_day", [open_day.id]),
    ]
    # Today's sessions come first and are listed even when nobody booked them.
    assert shown(await bookings.sessions_ahead(NEXT_WED)) == [
        (NEXT_WED, "deputy_akim", []),
        (OPEN_DAY, "akim_open_day", [open_day.id]),
    ]


@pytest.mark.every_backend
async def test_references_of_the_appeals_the_places_are_about(
    repo: Repository, catalog: Catalog
) -> None:
    officials, _ = officials_service(repo, catalog, FrozenClock(NOW), {})
    a, _ = await repo.create_appeal(new_appeal("a"))
    b, _ = await repo.create_appeal(new_appeal("b"))
    assert await officials.references([b.id, 9999, a.id, b.id]) == {
        a.id: a.reference, b.id: b.reference,
    }  # fmt: skip
    assert await officials.references([]) == {}
    assert await officials.references(iter([a.id])) == {a.id: a.reference}


# --- what it costs ---------------------------------------------------------------------------


async def statements(
    repo: SQLiteRepository, work: Callable[..., Awaitable[object]], *args: object
) -> int:
    """SQL statements `work(*args)` runs, as SQLite's trace sees them (each statement once,
    whichever way it was sent); not the busy timeout set around each hop to the database
    thread (storage/sqlite/database.py), which is the connection's, not the query's."""
    traced: list[str] = []
    await repo.db.conn.set_trace_callback(traced.append)
    try:
        await work(*args)
    finally:
        # None stops tracing (sqlite3's API; aiosqlite's annotation leaves it out).
        await repo.db.conn.set_trace_callback(None)  # type: ignore[arg-type]
    return len([sql for sql in traced if not sql.startswith("PRAGMA busy_timeout")])


async def fill_days(store: SQLiteBookingStore, repo: SQLiteRepository, per_session: int) -> None:
    """`per_session` places in each of three sessions ahead, every third about an appeal and
    every fifth cancelled, as a busy akimat's week looks."""
    for day, reception in ((WED, "deputy_akim"), (NEXT_WED, "deputy_akim"),
                           (OPEN_DAY, "akim_open_day")):  # fmt: skip
        for k in range(per_session):
            appeal_id = None
            if k % 3 == 0:
                appeal, _ = await repo.create_appeal(new_appeal(f"{day}-{k}"))
                appeal_id = appeal.id
            start = at(day, 10) + timedelta(minutes=20 * (k % 9))
            booking = await place(store, start, reception=reception, appeal_id=appeal_id)
            if k % 5 == 4:
                await store.cancel(booking.id, booking.citizen_id or 0, NOW)


async def receptions_reads(
    bookings: BookingService, officials: OfficialsService, day: date | None
) -> int:
    """What /receptions reads (handlers/official_receptions.py): the sessions, then the
    registration numbers of every appeal a listed place is about."""
    if day is None:
        sessions = [(r, b) for _, r, b in await bookings.sessions_ahead(MONDAY)]
    else:
        sessions = await bookings.sessions_on(day)
    found = await references_in(officials, *(booked for _, booked in sessions))
    return sum(len(booked) for _, booked in sessions) + len(found)


async def test_statements_do_not_grow_with_the_bookings(catalog: Catalog, tmp_path: Path) -> None:
    counts: dict[int, tuple[int, int]] = {}
    listed: dict[int, int] = {}
    for per_session in (5, 50):
        db = await SQLiteDatabase.open(tmp_path / f"receptions-{per_session}.db")
        repo = SQLiteRepository(db)
        try:
            bookings, store = bookings_service(repo, catalog, FrozenClock(NOW))
            officials, _ = officials_service(repo, catalog, FrozenClock(NOW), {})
            await fill_days(store, repo, per_session)
            listed[per_session] = await receptions_reads(bookings, officials, None)
            one_day = await statements(repo, receptions_reads, bookings, officials, WED)
            ahead = await statements(repo, receptions_reads, bookings, officials, None)
            counts[per_session] = (one_day, ahead)
        finally:
            await repo.close()
    # Ten times the places (and the appeals they are about) are read ...
    assert listed[50] >= 9 * listed[5], listed
    # ... by the same statements.
    assert counts[5] == counts[50], counts
    # Added days, called-off days, the places, the appeals' numbers: one read of each.
    assert counts[5] == (4, 4), counts
