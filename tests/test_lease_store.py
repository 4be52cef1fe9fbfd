"""The lease row on both backends (storage/sqlite/lease.py, storage/postgres/lease.py): take,
renew, expiry, release, and two instances racing for it through two connections to one
database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage.lease import LeaseStore
from storage.postgres.lease import PostgresLeaseStore
from storage.sqlite.lease import SQLiteLeaseStore
from tests.backends import Backend, store

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=15)
NAME = "outbox-sender"


Stores = tuple[SQLiteLeaseStore | PostgresLeaseStore, SQLiteLeaseStore | PostgresLeaseStore]
pytestmark = pytest.mark.every_backend


@pytest.fixture
async def two(backend: Backend) -> Stores:
    """Two connections to one database (on PostgreSQL, two pools): what two processes have."""
    return store("lease", await backend.open()), store("lease", await backend.open())


async def test_the_store_implements_its_interface(
    two: Stores,
) -> None:
    store: LeaseStore = two[0]
    assert isinstance(store, LeaseStore)


async def test_a_free_lease_is_taken_and_renewed_by_its_holder(
    two: Stores,
) -> None:
    a, _ = two
    assert await a.current(NAME) is None
    assert await a.take(NAME, "A", T0, T0 + LEASE)
    record = await a.current(NAME)
    assert record is not None and (record.holder, record.expires_at) == ("A", T0 + LEASE)
    # Renewing: the same statement, by the holder, pushes the expiry forward.
    later = T0 + timedelta(seconds=5)
    assert await a.take(NAME, "A", later, later + LEASE)
    record = await a.current(NAME)
    assert record is not None and record.expires_at == later + LEASE


async def test_another_instance_takes_it_only_after_it_expired(
    two: Stores,
) -> None:
    a, b = two
    assert await a.take(NAME, "A", T0, T0 + LEASE)
    for seconds in (0, 5, 14.999, 15):  # at the expiry itself it is still A's
        now = T0 + timedelta(seconds=seconds)
        assert not await b.take(NAME, "B", now, now + LEASE)
    record = await b.current(NAME)
    assert record is not None and record.holder == "A"
    now = T0 + timedelta(seconds=15.001)
    assert await b.take(NAME, "B", now, now + LEASE)
    # The old holder's late renewal is refused: it must stop sending.
    assert not await a.take(NAME, "A", now, now + LEASE)
    record = await a.current(NAME)
    assert record is not None and record.holder == "B"


async def test_a_holder_known_dead_is_replaced_before_the_expiry(
    two: Stores,
) -> None:
    a, b = two
    assert await a.take(NAME, "A", T0, T0 + LEASE)
    assert not await b.take(NAME, "B", T0, T0 + LEASE, replacing="someone else")
    assert await b.take(NAME, "B", T0, T0 + LEASE, replacing="A")
    # A third instance that also read "A" as dead comes second: the row is B's now.
    assert not await a.take(NAME, "C", T0, T0 + LEASE, replacing="A")


async def test_release_lets_another_take_it_at_once_and_only_the_holder_releases(
    two: Stores,
) -> None:
    a, b = two
    assert await a.take(NAME, "A", T0, T0 + LEASE)
    assert not await b.release(NAME, "B")
    assert not await b.take(NAME, "B", T0, T0 + LEASE)
    assert await a.release(NAME, "A")
    assert await a.current(NAME) is None
    assert await b.take(NAME, "B", T0, T0 + LEASE)
    assert not await a.release(NAME, "A")  # gone to B meanwhile: A's release is a no-op
    assert (record := await a.current(NAME)) is not None and record.holder == "B"


async def test_two_instances_racing_never_both_hold_it(
    two: Stores,
) -> None:
    """Both try at the same moment, over and over, on a free lease and on an expired one:
    exactly one is granted each time."""
    a, b = two
    now = T0
    for round_ in range(40):
        name = f"race-{round_}"
        if round_ % 2:  # an expired holder, on every other round
            assert await a.take(name, "old", now - 2 * LEASE, now - LEASE)
        granted = await asyncio.gather(
            a.take(name, "A", now, now + LEASE), b.take(name, "B", now, now + LEASE)
        )
        assert sorted(granted) == [False, True], (round_, granted)
        record = await a.current(name)
        assert record is not None
        assert record.holder == ("A" if granted[0] else "B")
