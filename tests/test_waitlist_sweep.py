"""A free place of a session with citizens waiting reaches them (`BookingService`, Telegram-free,
on each backend): a move offers the place it frees as a cancel does, and the tick offers a
place whose offer was lost (a crash between freeing it and offering it) without offering a
place twice, one held for another offer, or one a citizen has just booked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.domain.catalog import Catalog
from bot.services.bookings import BookingService
from storage.base import Repository
from tests.conftest import FrozenClock
from tests.test_bookings import book
from tests.test_service_queries import WED, bookings_service
from tests.test_storage import NOW

pytestmark = pytest.mark.every_backend
FIRST, SECOND = 71, 72  # waiting, in this order


async def full_session(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> tuple[BookingService, Any, list[int]]:
    """The service, its store, and the bookings (by citizens 1000…) filling the deputy akim's
    Wednesday; FIRST then SECOND wait for it."""
    service, store = bookings_service(repo, catalog, clock)
    reception = service.receptions.get("deputy_akim")
    assert reception is not None
    ids = []
    for n, slot in enumerate(service.planner.slots(reception, WED)):
        for seat in range(reception.capacity):
            citizen = 1000 + 10 * n + seat
            done = await book(
                store, citizen, slot.start, capacity=reception.capacity, reception="deputy_akim"
            )
            assert done.booking is not None, done.reason
            ids.append(done.booking.id)
    for citizen in (FIRST, SECOND):
        assert await service.join_waitlist(citizen, reception, WED)
    return service, store, ids


async def test_the_tick_offers_a_place_whose_offer_was_lost(
    repo: Repository, catalog: Catalog
) -> None:
    clock = FrozenClock(NOW)
    service, store, ids = await full_session(repo, catalog, clock)
    await service.tick(clock())
    assert await service.offer_free_places() == 0  # full: nothing to offer
    first = await store.get(ids[0])
    # Given back, and the process gone before the offer (what `cancel` does next).
    assert await store.cancel(first.id, first.citizen_id, NOW) is not None
    assert await store.offers_held_by(FIRST, NOW) == []

    await service.tick(clock())
    [offer] = await store.offers_held_by(FIRST, NOW)
    assert offer.slot_start == first.slot_start
    # Held for FIRST: not offered again, and nobody else books it.
    assert await service.offer_free_places() == 0
    assert await store.offers_held_by(SECOND, NOW) == []
    reception = service.receptions.get("deputy_akim")
    assert reception is not None
    taken = await book(
        store, 99, first.slot_start, capacity=reception.capacity, reception="deputy_akim"
    )
    assert taken.reason == "full"
    # Not taken in time: the next tick passes it to SECOND, once.
    clock.at = NOW + service.receptions.rules.waitlist_hold + timedelta(minutes=1)
    await service.tick(clock())
    [passed] = await store.offers_held_by(SECOND, clock())
    assert passed.slot_start == first.slot_start
    assert await service.offer_free_places() == 0
    rows = await store.session_bookings("deputy_akim", WED, statuses=["booked"])
    assert len(rows) == len(ids) - 1  # the place is held, not booked by anyone


async def test_a_move_offers_the_place_it_frees(repo: Repository, catalog: Catalog) -> None:
    clock = FrozenClock(NOW)
    service, store, ids = await full_session(repo, catalog, clock)
    mover = await store.get(ids[0])
    moved = await service.move(mover.id, mover.citizen_id, mover.slot_start + timedelta(days=7))
    assert moved.ok, moved.reason
    [offer] = await store.offers_held_by(FIRST, NOW)
    assert offer.slot_start == mover.slot_start
    assert await service.offer_free_places() == 0  # offered once
    assert await store.offers_held_by(SECOND, NOW) == []
