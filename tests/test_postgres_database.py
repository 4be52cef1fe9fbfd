"""PostgreSQL's side of what the stores rely on (storage/postgres/database.py): a lock held
elsewhere past the bound, or no free connection, is DatabaseBusy with nothing written, as a
locked database is on SQLite (tests/test_storage_lock.py); a transaction is all or nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.base import DatabaseBusy
from storage.models import Status
from storage.postgres.database import PostgresDatabase, rowcount
from storage.postgres.repository import PostgresRepository
from tests.backends import fresh_schema
from tests.test_storage import NOW, new_appeal


@pytest.fixture
async def url(postgres_missing: str | None) -> AsyncIterator[str]:
    if postgres_missing:
        pytest.skip(postgres_missing)
    async with fresh_schema() as schema_url:
        yield schema_url


def test_rows_touched_are_read_from_the_command_tag() -> None:
    assert [rowcount(tag) for tag in ("UPDATE 3", "INSERT 0 1", "DELETE 0", "SELECT 2")] == [
        3, 1, 0, 2
    ]  # fmt: skip
    assert rowcount("CREATE TABLE") == 0


async def test_a_row_locked_past_the_bound_is_database_busy_and_nothing_is_written(
    url: str,
) -> None:
    db = await PostgresDatabase.open(url, max_size=3, lock_timeout=0.3)
    repo = PostgresRepository(db)
    try:
        appeal, _ = await repo.create_appeal(new_appeal("locked"))
        async with db.transaction() as holder:  # an operator's session, a long report …
            await holder.execute("SELECT 1 FROM appeals WHERE id = $1 FOR UPDATE", appeal.id)
            with pytest.raises(DatabaseBusy):
                await repo.transition(
                    appeal.id, frozenset({Status.REGISTERED}), Status.IN_PROGRESS, "o:1", NOW
                )
        assert await repo.status_history(appeal.id) == [(Status.REGISTERED, "citizen:1", NOW)]
        # Once the lock is gone the same call works.
        taken = await repo.transition(
            appeal.id, frozenset({Status.REGISTERED}), Status.IN_PROGRESS, "o:1", NOW
        )
        assert taken is not None and taken.status == Status.IN_PROGRESS
    finally:
        await db.close()


async def test_no_free_connection_within_the_bound_is_database_busy(url: str) -> None:
    db = await PostgresDatabase.open(url, max_size=1, acquire_timeout=0.2)
    try:
        async with db.connection():
            with pytest.raises(DatabaseBusy, match="no free database connection"):
                await db.fetchval("SELECT 1")
        assert await db.fetchval("SELECT 1") == 1
    finally:
        await db.close()


async def test_a_transaction_that_raises_leaves_nothing(url: str) -> None:
    db = await PostgresDatabase.open(url, max_size=2)
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO counters (name, value) VALUES ('x', 1)")
                raise RuntimeError("the body failed")
        assert await db.fetchval("SELECT count(*) FROM counters") == 0
        # Statements outside a transaction commit each on their own.
        assert await db.execute("INSERT INTO counters (name, value) VALUES ('y', 1)") == 1
        assert await db.fetchval("SELECT value FROM counters WHERE name = 'y'") == 1
    finally:
        await db.close()


async def test_ping_answers_while_the_server_does(url: str) -> None:
    """What /healthz asks (as of SQLite's `ping`): a read of the schema, or an error."""
    db = await PostgresDatabase.open(url, max_size=1)
    await db.ping()
    await db.close()
    with pytest.raises(Exception):  # noqa: B017 - the pool's own "closed" error
        await db.ping()
