"""The bookings store on each backend: places never oversold, one place per citizen and
session, idempotent confirmation, atomic moves, cancelling, sessions called off, the waitlist.

Everything goes through the stores only (bar the schema check at the end, which is SQLite's), so
the same tests run on both backends."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from bot.services.erasure import redact
from storage.base import Repository
from storage.bookings import BookResult, WaitlistOffer
from storage.outbox import NewMessage, Outgoing
from storage.postgres.bookings import PostgresBookingStore
from storage.sqlite.bookings import SQLiteBookingStore
from storage.sqlite.repository import SQLiteRepository
from tests.backends import Backend, beside
from tests.conftest import ALMATY
from tests.test_storage import new_appeal

WED = date(2026, 11, 25)
NEXT_WED = date(2026, 12, 2)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)
_keys = itertools.count()


def slot(hh: int, mm: int = 0, day: date = WED) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=ALMATY)


# Every test runs on SQLite and on PostgreSQL, but for the SQLite check at the end.
pytestmark = pytest.mark.every_backend
Store = SQLiteBookingStore | PostgresBookingStore


@pytest.fixture
def store(backend: Backend, repo: Repository) -> Store:
    return backend.bookings(repo.db)  # type: ignore[attr-defined]


async def book(
    store: Store,
    citizen: int | None,
    start: datetime,
    *,
    capacity: int = 2,
    draft_key: str | None = None,
    reception: str = "deputy",
    now: datetime = NOW,
) -> BookResult:
    return await store.book(
        draft_key=draft_key or f"draft-{next(_keys)}",
        citizen_id=citizen,
        reception=reception,
        slot_start=start,
        session_day=start.date(),
        capacity=capacity,
        topic="Вопрос о пособии",
        appeal_id=None,
        access=["wheelchair", "sign_language"],
        access_other="нужен стул",
        contact_name="Айгүл",
        contact_phone="+77011112233",
        language="kk",
        now=now,
    )


async def booked(store: Store, start: datetime, reception: str = "deputy") -> int:
    return (await store.booked_counts(reception, [start]))[start]


# --- taking a place ---------------------------------------------------------------------------


async def test_a_booking_round_trips(store: Store) -> None:
    result = await book(store, 1, slot(10))
    assert result.reason == "ok" and result.ok
    b = result.booking
    assert b is not None and b.id > 0
    assert b.slot_start == slot(10) and b.slot_start.utcoffset() == timedelta(0)
    assert (b.session_day, b.status, b.citizen_id, b.reception) == (WED, "booked", 1, "deputy")
    assert b.access == ["wheelchair", "sign_language"] and b.access_other == "нужен стул"
    assert (b.topic, b.contact_name, b.language) == ("Вопрос о пособии", "Айгүл", "kk")
    assert b.created_at == NOW and b.cancelled_at is None
    assert await store.get(b.id) == b
    assert await store.get(b.id + 100) is None


async def test_twenty_citizens_race_for_the_last_three_places(store: Store) -> None:
    capacity = 5
    for citizen in (1, 2):
        assert (await book(store, citizen, slot(10), capacity=capacity)).ok
    results = await asyncio.gather(
        *(book(store, 100 + i, slot(10), capacity=capacity) for i in range(20))
    )
    reasons = [r.reason for r in results]
    assert reasons.count("ok") == 3 and reasons.count("full") == 17
    assert all(r.booking is None for r in results if r.reason == "full")
    assert await booked(store, slot(10)) == capacity
    assert len(await store.session_bookings("deputy", WED)) == capacity


async def test_two_instances_race_for_the_last_places(backend: Backend, store: Store) -> None:
    """As two bot processes would: each its own connection (SQLite) or pool (PostgreSQL) on
    the same database, confirms coming through both at once."""
    other = backend.bookings(await backend.open())
    capacity = 4
    assert (await book(store, 1, slot(10), capacity=capacity)).ok
    results = await asyncio.gather(
        *(book((store, other)[i % 2], 300 + i, slot(10), capacity=capacity) for i in range(24))
    )
    reasons = [r.reason for r in results]
    assert reasons.count("ok") == 3 and reasons.count("full") == 21
    for seen_by in (store, other):
        assert await booked(seen_by, slot(10)) == capacity
        mine = await seen_by.session_bookings("deputy", WED)
        assert len(mine) == len({b.citizen_id for b in mine}) == capacity


async def test_counts_are_per_reception_and_keyed_by_the_slots_given(
    store: Store,
) -> None:
    await book(store, 1, slot(10))
    await book(store, 2, slot(10))
    await book(store, 3, slot(10, 20))
    await book(store, 4, slot(10), reception="akim")
    starts = [slot(10), slot(10, 20), slot(10, 40)]
    counts = await store.booked_counts("deputy", starts)
    assert counts == {slot(10): 2, slot(10, 20): 1, slot(10, 40): 0}
    # Keys come back as given (local), though stored in UTC.
    assert all(k.tzinfo is ALMATY for k in counts)
    assert await store.booked_counts("deputy", []) == {}
    assert (await book(store, 5, slot(10))).reason == "full"


async def test_one_place_per_citizen_and_session(store: Store) -> None:
    first = await book(store, 1, slot(10))
    again = await book(store, 1, slot(11))
    assert again.reason == "already_booked_in_session"
    assert again.booking is not None and first.booking is not None
    assert again.booking.id == first.booking.id
    assert await booked(store, slot(11)) == 0
    # Another session, or another reception on the same day, is fine.
    assert (await book(store, 1, slot(10, day=NEXT_WED))).ok
    assert (await book(store, 1, slot(11), reception="akim")).ok
    # Once the place is given back, another in the same session may be taken.
    assert await store.cancel(first.booking.id, 1, NOW) is not None
    assert (await book(store, 1, slot(11))).ok


async def test_the_same_confirmation_twice_books_once(store: Store) -> None:
    first = await book(store, 1, slot(10), draft_key="d-1")
    second = await book(store, 1, slot(10), draft_key="d-1")
    assert second.reason == "duplicate"
    assert first.booking is not None and second.booking is not None
    assert second.booking.id == first.booking.id
    # Even at capacity 0 (the slot closed meanwhile) the answer is the earlier booking.
    third = await book(store, 1, slot(10), draft_key="d-1", capacity=0)
    assert third.reason == "duplicate"
    # And at once, as when Telegram redelivers while the first is still being handled.
    results = await asyncio.gather(*(book(store, 2, slot(11), draft_key="d-2") for _ in range(5)))
    assert sorted(r.reason for r in results) == ["duplicate"] * 4 + ["ok"]
    assert len({r.booking.id for r in results if r.booking}) == 1
    assert await booked(store, slot(10)) == 1 and await booked(store, slot(11)) == 1


# --- moving -----------------------------------------------------------------------------------


async def test_a_move_to_a_full_slot_keeps_the_old_booking(store: Store) -> None:
    mine = (await book(store, 1, slot(10))).booking
    assert mine is not None
    await book(store, 2, slot(11), capacity=1)
    result = await store.move(mine.id, 1, slot(11), WED, 1, NOW)
    assert result == BookResult(None, "full")
    assert await store.get(mine.id) == mine
    assert await booked(store, slot(10)) == 1 and await booked(store, slot(11)) == 1


async def test_a_move_frees_the_old_place(store: Store) -> None:
    mine = (await book(store, 1, slot(10), capacity=1)).booking
    assert mine is not None
    # Within the same session: the one-place-per-session rule does not block it.
    moved = await store.move(mine.id, 1, slot(11), WED, 1, NOW + timedelta(minutes=5))
    assert moved.reason == "ok" and moved.booking is not None
    new = moved.booking
    assert (new.slot_start, new.session_day, new.status) == (slot(11), WED, "booked")
    assert (new.moved_from, new.topic, new.access) == (mine.id, mine.topic, mine.access)
    old = await store.get(mine.id)
    assert old is not None and old.status == "cancelled"
    assert await booked(store, slot(10)) == 0 and await booked(store, slot(11)) == 1
    assert (await book(store, 2, slot(10), capacity=1)).ok
    # A redelivered move answers with the booking it made.
    again = await store.move(mine.id, 1, slot(11), WED, 1, NOW)
    assert again.reason == "duplicate" and again.booking == new
    # To another week.
    later = await store.move(new.id, 1, slot(10, day=NEXT_WED), NEXT_WED, 1, NOW)
    assert later.ok and [b.slot_start for b in await store.citizen_upcoming(1, NOW)] == [
        slot(10, day=NEXT_WED)
    ]


async def test_only_the_owner_moves_and_not_into_a_second_place(store: Store) -> None:
    mine = (await book(store, 1, slot(10))).booking
    other = (await book(store, 1, slot(10, day=NEXT_WED))).booking
    assert mine is not None and other is not None
    assert (await store.move(mine.id, 2, slot(11), WED, 2, NOW)).reason == "not_found"
    assert (await store.move(999, 1, slot(11), WED, 2, NOW)).reason == "not_found"
    clash = await store.move(mine.id, 1, slot(11, day=NEXT_WED), NEXT_WED, 2, NOW)
    assert clash == BookResult(other, "already_booked_in_session")
    assert (await store.get(mine.id)) == mine
    # A booking whose time has come stays where it was.
    started = await store.move(mine.id, 1, slot(11), WED, 2, slot(10))
    assert started.reason == "not_found"


async def test_racing_moves_and_bookings_never_oversell(store: Store) -> None:
    mine = [(await book(store, c, slot(10), capacity=10)).booking for c in range(1, 6)]
    moves = [store.move(b.id, b.citizen_id or 0, slot(11), WED, 3, NOW) for b in mine if b]
    books = [book(store, 50 + i, slot(11), capacity=3) for i in range(5)]
    results = await asyncio.gather(*moves, *books)
    assert [r.reason for r in results].count("ok") == 3
    assert await booked(store, slot(11)) == 3
    assert await booked(store, slot(10)) == 5 - sum(r.ok for r in results[:5])


# --- cancelling and marking ---------------------------------------------------------------


async def test_only_the_owner_cancels(store: Store) -> None:
    mine = (await book(store, 1, slot(10), capacity=1)).booking
    assert mine is not None
    assert await store.cancel(mine.id, 2, NOW) is None
    assert (await store.get(mine.id) or mine).status == "booked"
    cancelled = await store.cancel(mine.id, 1, NOW + timedelta(hours=1))
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.cancelled_at == NOW + timedelta(hours=1)
    assert await store.cancel(mine.id, 1, NOW) is None  # once only
    assert (await book(store, 2, slot(10), capacity=1)).ok  # the place is free again


async def test_a_started_booking_is_not_cancelled_but_marked(store: Store) -> None:
    mine = (await book(store, 1, slot(10))).booking
    assert mine is not None
    assert await store.cancel(mine.id, 1, slot(10)) is None
    marked = await store.mark(mine.id, "no_show")
    assert marked is not None and marked.status == "no_show"
    corrected = await store.mark(mine.id, "attended")
    assert corrected is not None and corrected.status == "attended"
    with pytest.raises(ValueError, match="attended or no_show"):
        await store.mark(mine.id, "cancelled")
    gone = (await book(store, 2, slot(11))).booking
    assert gone is not None and await store.cancel(gone.id, 2, NOW)
    assert await store.mark(gone.id, "attended") is None
    assert await store.mark(12345, "attended") is None


async def test_upcoming_bookings_soonest_first(store: Store) -> None:
    later = await book(store, 1, slot(10, day=NEXT_WED))
    sooner = await book(store, 1, slot(12, 40))
    dropped = (await book(store, 1, slot(11), reception="akim")).booking
    assert dropped is not None and await store.cancel(dropped.id, 1, NOW)
    await book(store, 2, slot(11))
    upcoming = await store.citizen_upcoming(1, NOW)
    assert [b.id for b in upcoming] == [sooner.booking.id, later.booking.id]  # type: ignore[union-attr]
    after = await store.citizen_upcoming(1, slot(13))
    assert [b.slot_start for b in after] == [slot(10, day=NEXT_WED)]


# --- sessions called off --------------------------------------------------------------------


async def test_cancelling_a_session(store: Store) -> None:
    a = (await book(store, 1, slot(10))).booking
    b = (await book(store, 2, slot(12))).booking
    c = (await book(store, 3, slot(11))).booking
    assert a and b and c and await store.cancel(c.id, 3, NOW)
    await book(store, 4, slot(10, day=NEXT_WED))
    await book(store, 5, slot(10), reception="akim")
    assert await store.join_waitlist(6, "deputy", WED, NOW)

    told = await store.cancel_session("deputy", WED, NOW + timedelta(hours=1))
    assert [x.id for x in told] == [a.id, b.id]
    assert all(x.status == "cancelled" and x.cancelled_at for x in told)
    assert await store.cancelled_days("deputy") == frozenset({WED})
    assert await store.cancelled_days("akim") == frozenset()
    assert await store.cancel_session("deputy", WED, NOW) == []  # repeated: nothing new
    # The session takes no more bookings from the planner, nor waiting citizens.
    assert await store.waiting_citizens("deputy", WED) == []
    assert not await store.join_waitlist(7, "deputy", WED, NOW)
    statuses = {x.citizen_id: x.status for x in await store.session_bookings("deputy", WED)}
    assert statuses == {1: "cancelled", 2: "cancelled", 3: "cancelled"}
    assert len(await store.session_bookings("deputy", NEXT_WED, statuses=["booked"])) == 1
    assert len(await store.session_bookings("akim", WED)) == 1
    # Nor a place from whatever let a caller past the planner (a waiting list's hold read
    # before the cancellation), nor a move into it.
    assert (await book(store, 8, slot(10), capacity=5)).reason == "full"
    later = (await book(store, 9, slot(10, day=NEXT_WED), capacity=5)).booking
    assert later is not None
    moved = await store.move(later.id, 9, slot(11), WED, 5, NOW)
    assert moved.reason == "full"


# --- waitlist ---------------------------------------------------------------------------------


async def test_waitlist_order_and_offers(store: Store) -> None:
    hold = timedelta(hours=2)
    for citizen in (1, 2):
        assert (await book(store, citizen, slot(10), capacity=2)).ok
    for citizen in (11, 12, 13, 14):
        assert await store.join_waitlist(citizen, "deputy", WED, NOW)
    assert not await store.join_waitlist(12, "deputy", WED, NOW)  # already queued
    assert not await store.join_waitlist(1, "deputy", WED, NOW)  # already has a place
    assert await store.next_in_line("deputy", WED) == 11
    assert await store.leave_waitlist(11, "deputy", WED, NOW)
    assert await store.next_in_line("deputy", WED) == 12
    assert await store.waiting_citizens("deputy", WED) == [12, 13, 14]

    # No free place, no offer.
    assert await store.offer("deputy", WED, slot(10), 2, hold, NOW) is None
    first = (await store.citizen_upcoming(1, NOW))[0]
    await store.cancel(first.id, 1, NOW)
    offer = await store.offer("deputy", WED, slot(10), 2, hold, NOW)
    assert offer is not None and offer.citizen_id == 12
    assert (offer.slot_start, offer.expires_at) == (slot(10), NOW + hold)
    assert await store.next_in_line("deputy", WED) == 13
    assert await store.offers_held_by(12, NOW) == [offer]
    assert await store.offers_held_by(12, NOW + 2 * hold) == []  # expired
    assert await store.offers_held_by(13, NOW) == []
    # The held place is taken for everyone else …
    assert (await store.booked_counts("deputy", [slot(10)], now=NOW))[slot(10)] == 2
    assert await booked(store, slot(10)) == 1
    assert (await book(store, 99, slot(10), capacity=2)).reason == "full"
    assert await store.offer("deputy", WED, slot(10), 2, hold, NOW) is None
    # … but not for the citizen it is held for, and booking closes the offer.
    assert (await book(store, 12, slot(10), capacity=2)).ok
    assert await store.waiting_citizens("deputy", WED) == [13, 14]
    assert await store.expire_offers(NOW + 2 * hold) == []


async def test_an_unanswered_offer_expires_and_frees_the_place(store: Store) -> None:
    hold = timedelta(minutes=30)
    await store.join_waitlist(21, "deputy", WED, NOW)
    await store.join_waitlist(22, "deputy", WED, NOW)
    offer = await store.offer("deputy", WED, slot(10), 1, hold, NOW)
    assert offer is not None and offer.citizen_id == 21
    assert await store.expire_offers(NOW + hold - timedelta(seconds=1)) == []
    assert (await book(store, 99, slot(10), capacity=1, now=NOW + hold / 2)).reason == "full"
    expired = await store.expire_offers(NOW + hold)
    assert [(o.id, o.citizen_id, o.slot_start) for o in expired] == [(offer.id, 21, slot(10))]
    assert await store.waiting_citizens("deputy", WED) == [22]
    nxt = await store.offer("deputy", WED, slot(10), 1, hold, NOW + hold)
    assert nxt is not None and nxt.citizen_id == 22
    # A hold that ran out without the tick is not a taken place either.
    assert (await book(store, 99, slot(10), capacity=1, now=NOW + 3 * hold)).ok


async def test_the_sessions_with_someone_waiting(store: Store) -> None:
    """Where a free place is owed to the waiting list: a session with a citizen still
    waiting (one holding an offer, left or served is not), from the day given on."""
    hold = timedelta(hours=2)
    assert await store.waiting_sessions(WED) == []
    for citizen, reception, day in (
        (31, "deputy", WED), (32, "deputy", WED), (33, "akim", NEXT_WED), (34, "akim", WED),
    ):  # fmt: skip
        assert await store.join_waitlist(citizen, reception, day, NOW)
    assert await store.waiting_sessions(WED) == [
        ("akim", WED), ("deputy", WED), ("akim", NEXT_WED)
    ]  # fmt: skip
    assert await store.waiting_sessions(WED + timedelta(days=1)) == [("akim", NEXT_WED)]
    assert await store.leave_waitlist(33, "akim", NEXT_WED, NOW)
    assert await store.offer("akim", WED, slot(10), 1, hold, NOW) is not None  # 34's offer
    assert await store.offer("deputy", WED, slot(10), 1, hold, NOW) is not None  # 31's
    assert await store.waiting_sessions(WED) == [("deputy", WED)]  # 32 still waits
    assert (await book(store, 32, slot(11), capacity=1)).ok
    assert await store.waiting_sessions(WED) == []


async def test_an_offer_and_its_message_commit_together(repo: Repository, store: Store) -> None:
    """`then` writes the offer's message in the offer's transaction: when writing it fails,
    the place is not held either (the citizen is still first in line), and the next offer
    holds it and writes the message, in the citizen's language."""
    outbox = beside("outbox", repo)
    await repo.set_language(31, "kk")
    await store.join_waitlist(31, "deputy", WED, NOW)
    hold = timedelta(minutes=30)
    told: list[tuple[int, str | None]] = []

    async def tell(conn: Any, offer: WaitlistOffer, language: str | None) -> None:
        told.append((offer.citizen_id, language))
        row = Outgoing(offer.citizen_id, [NewMessage("sendMessage", {"text": "🎟"})], NOW)
        await outbox.write_in(conn, [row])

    async def dies(conn: Any, offer: WaitlistOffer, language: str | None) -> None:
        await tell(conn, offer, language)
        raise RuntimeError("the process dies here")

    with pytest.raises(RuntimeError):
        await store.offer("deputy", WED, slot(10), 1, hold, NOW, then=dies)
    assert await store.next_in_line("deputy", WED) == 31  # not held: nobody was told
    assert await outbox.pending_count() == 0

    offer = await store.offer("deputy", WED, slot(10), 1, hold, NOW, then=tell)
    assert offer is not None and offer.citizen_id == 31
    assert await store.next_in_line("deputy", WED) is None
    assert await outbox.pending_count() == 1
    assert told[-1] == (31, "kk")


async def test_an_erased_citizen_on_the_waiting_list_is_skipped(
    repo: Repository, store: Store
) -> None:
    """/forget takes the citizen off every waiting list: a place freed afterwards goes to the
    next in line, and with nobody left it stays free."""
    outbox = beside("outbox", repo)
    for citizen in (51, 52):
        await repo.set_language(citizen, "kk")
        assert await store.join_waitlist(citizen, "deputy", WED, NOW)
    assert await store.join_waitlist(51, "deputy", NEXT_WED, NOW)  # 51 alone in line
    await beside("erasure", repo).erase(51, NOW, redact)
    told: list[int] = []

    async def tell(conn: Any, offer: WaitlistOffer, language: str | None) -> None:
        told.append(offer.citizen_id)
        row = Outgoing(offer.citizen_id, [NewMessage("sendMessage", {"text": "🎟"})], NOW)
        await outbox.write_in(conn, [row])

    hold = timedelta(minutes=30)
    offer = await store.offer("deputy", WED, slot(10), 1, hold, NOW, then=tell)
    assert offer is not None and offer.citizen_id == 52 and told == [52]
    assert await store.waiting_citizens("deputy", WED) == [52]
    later = slot(10, day=NEXT_WED)
    assert await store.offer("deputy", NEXT_WED, later, 1, hold, NOW, then=tell) is None
    assert told == [52] and await outbox.pending_count() == 1
    assert (await store.booked_counts("deputy", [later], now=NOW))[later] == 0


async def _blocked_by(conn: Any, pid: int) -> list[int]:
    """The sessions waiting for a lock `pid` holds (pg_stat_activity read afresh)."""
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    rows = await conn.fetch(
        "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", pid
    )
    return [int(r["pid"]) for r in rows]


async def _until(check: Callable[[], Awaitable[object]]) -> None:
    """Until `check()` holds: a wait for a lock shows in pg_stat_activity, nowhere else."""
    while True:
        if await check():
            return
        await asyncio.sleep(0.01)


@pytest.mark.postgres_only  # SQLite's one writer runs the offer before the erasure or after it
@pytest.mark.parametrize("behind", [(42,), ()], ids=["next-in-line", "nobody-behind"])
async def test_an_offer_racing_forget_never_outlives_the_erasure(
    repo: Repository, store: Store, behind: tuple[int, ...]
) -> None:
    """PostgreSQL: the first in line's /forget is under way (it holds the citizen's row, and
    here waits for their appeal, which an official's action holds) when a freed place is
    offered. The offer waits for the erasure and passes the place to the next in line (or
    leaves it free): never an offer, or its message, for the erased citizen."""
    gone = 41
    outbox = beside("outbox", repo)
    for citizen in (gone, *behind):
        await repo.set_language(citizen, "kk")
        assert await store.join_waitlist(citizen, "deputy", WED, NOW)
    appeal, _ = await repo.create_appeal(new_appeal("forget-race", gone))
    db: Any = repo.db  # type: ignore[attr-defined]
    offered_to_gone = asyncio.Event()
    erasing: list[asyncio.Future[Any]] = []

    async def tell(conn: Any, offer: WaitlistOffer, language: str | None) -> None:
        row = Outgoing(offer.citizen_id, [NewMessage("sendMessage", {"text": "🎟"})], NOW)
        await outbox.write_in(conn, [row])
        if offer.citizen_id != gone:
            return
        # The race as it was: the place held for the citizen being erased and their message
        # written, not committed, when the erasure goes on; this commits once the erasure
        # has passed their outbox and waits for their waiting-list row, locked here.
        offered_to_gone.set()
        me = await conn.fetchval("SELECT pg_backend_pid()")

        async def erasure_waits() -> bool:
            return erasing[0].done() or bool(await _blocked_by(conn, me))

        await _until(erasure_waits)

    async with db.connection() as official:
        holding = official.transaction()
        await holding.start()
        await official.execute("SELECT 1 FROM appeals WHERE id = $1 FOR UPDATE", appeal.id)
        me = await official.fetchval("SELECT pg_backend_pid()")
        erasing.append(asyncio.ensure_future(beside("erasure", repo).erase(gone, NOW, redact)))
        eraser: list[int] = []

        async def erasure_holds_the_citizen() -> bool:
            # It locked the citizen's row first, and now waits for the appeal held here.
            eraser[:] = await _blocked_by(official, me)
            return bool(eraser)

        await _until(erasure_holds_the_citizen)
        offering = asyncio.ensure_future(
            store.offer("deputy", WED, slot(10), 1, timedelta(minutes=30), NOW, then=tell)
        )

        async def offer_waits_or_was_made() -> bool:
            if offered_to_gone.is_set() or offering.done():
                return True
            return bool(await _blocked_by(official, eraser[0]))

        await _until(offer_waits_or_was_made)
        await holding.commit()  # the official's action ends: the erasure goes on
    await erasing[0]
    offer = await offering
    # Nothing of the erased citizen is left: no offer, no message to their chat.
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE chat_id = $1", gone) == 0
    assert await db.fetchval("SELECT count(*) FROM waitlist WHERE citizen_id = $1", gone) == 0
    if behind:
        assert offer is not None and offer.citizen_id == behind[0]
        assert await store.offers_held_by(behind[0], NOW) == [offer]
    else:
        assert offer is None
        assert (await store.booked_counts("deputy", [slot(10)], now=NOW))[slot(10)] == 0
    assert await outbox.pending_count() == len(behind)


# --- database guarantees behind the store -------------------------------------------------


async def test_forget_erases_booking_contacts(repo: Repository, store: Store) -> None:
    mine = (await book(store, 1, slot(10))).booking
    assert mine is not None
    await store.join_waitlist(1, "deputy", NEXT_WED, NOW)
    await beside("erasure", repo).erase(1, NOW, redact)
    gone = await store.get(mine.id)
    assert gone is not None
    assert (gone.citizen_id, gone.contact_name, gone.contact_phone) == (None, None, None)
    assert (gone.topic, gone.access_other) == (None, None)
    # What the statistics need stays.
    assert (gone.reception, gone.slot_start, gone.access) == ("deputy", slot(10), mine.access)
    assert await store.waiting_citizens("deputy", NEXT_WED) == []


@pytest.mark.sqlite_only  # PostgreSQL's index: tests/test_schema_equivalence.py
async def test_the_schema_refuses_a_second_place_in_a_session(repo: SQLiteRepository) -> None:
    row = (1, "deputy", "2026-11-25T05:00:00+00:00", "2026-11-25", "kk", "x")
    sql = (
        "INSERT INTO bookings (citizen_id, reception, slot_start, session_day, language, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)"
    )
    await repo.db.execute("INSERT INTO citizens (id, created_at) VALUES (1, 'x')")
    await repo.db.execute(sql, row)
    with pytest.raises(sqlite3.IntegrityError):
        await repo.db.execute(sql, row)
