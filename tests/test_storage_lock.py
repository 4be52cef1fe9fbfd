"""Another connection holds the database's write lock (a backup, an operator's sqlite3
shell): statements and transactions wait, are tried again, and past the bound fail with
DatabaseBusy having written nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage.base import DatabaseBusy
from storage.sqlite.database import SQLiteDatabase, is_locked
from tests.dblock import LockSeen, WriteLock

BUSY_TIMEOUT = 0.05  # SQLite's own wait, kept short so the retries are what is tested


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "lock.db"


async def open_db(path: Path, locked_retry: float) -> SQLiteDatabase:
    db = await SQLiteDatabase.open(path, busy_timeout=BUSY_TIMEOUT, locked_retry=locked_retry)
    await db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    return db


@pytest.fixture
async def patient(path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = await open_db(path, locked_retry=30)
    yield db
    await db.close()


@pytest.fixture
async def impatient(path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = await open_db(path, locked_retry=0.3)
    yield db
    await db.close()


@pytest.fixture
def lock(path: Path) -> Iterator[list[WriteLock]]:
    """Locks taken by a test are released at its end, failed or not."""
    held: list[WriteLock] = []
    yield held
    for one in held:
        one.release()


@pytest.fixture
def lock_seen() -> Iterator[LockSeen]:
    with LockSeen.attached() as seen:
        yield seen


async def test_a_transaction_waits_for_a_lock_longer_than_the_busy_timeout(
    patient: SQLiteDatabase, path: Path, lock: list[WriteLock], lock_seen: LockSeen
) -> None:
    lock.append(WriteLock(path))

    async def write() -> None:
        async with patient.transaction() as conn:
            await conn.execute("INSERT INTO t (v) VALUES ('a')")
            await conn.execute("INSERT INTO t (v) VALUES ('b')")

    writing = asyncio.create_task(write())
    await lock_seen.wait()
    assert not writing.done()
    lock.pop().release()
    await asyncio.wait_for(writing, 5)
    assert [r["v"] for r in await patient.fetchall("SELECT v FROM t ORDER BY id")] == ["a", "b"]


async def test_a_statement_waits_too(
    patient: SQLiteDatabase, path: Path, lock: list[WriteLock], lock_seen: LockSeen
) -> None:
    lock.append(WriteLock(path))
    writing = asyncio.create_task(patient.execute("INSERT INTO t (v) VALUES ('a')"))
    await lock_seen.wait()
    lock.pop().release()
    assert await asyncio.wait_for(writing, 5) == 1


async def test_past_the_bound_nothing_is_written_and_the_next_try_works(
    impatient: SQLiteDatabase, path: Path, lock: list[WriteLock]
) -> None:
    lock.append(WriteLock(path))
    with pytest.raises(DatabaseBusy):
        async with impatient.transaction() as conn:
            await conn.execute("INSERT INTO t (v) VALUES ('lost')")
    with pytest.raises(DatabaseBusy):
        await impatient.execute("INSERT INTO t (v) VALUES ('lost')")
    # Reads go on meanwhile: WAL lets them past another connection's write.
    assert await impatient.fetchall("SELECT * FROM t") == []
    lock.pop().release()
    async with impatient.transaction() as conn:
        await conn.execute("INSERT INTO t (v) VALUES ('kept')")
    assert [r["v"] for r in await impatient.fetchall("SELECT v FROM t")] == ["kept"]


async def test_other_errors_are_not_retried(patient: SQLiteDatabase) -> None:
    with pytest.raises(sqlite3.OperationalError) as raised:
        await patient.execute("INSERT INTO no_such_table VALUES (1)")
    assert not is_locked(raised.value)
    with pytest.raises(sqlite3.IntegrityError):
        async with patient.transaction() as conn:
            await conn.execute("INSERT INTO t (id, v) VALUES (1, 'a')")
            await conn.execute("INSERT INTO t (id, v) VALUES (1, 'b')")
    assert await patient.fetchall("SELECT * FROM t") == []


async def test_quick_statements_wait_on_the_database_thread_not_on_the_loop(
    patient: SQLiteDatabase, path: Path, lock: list[WriteLock], lock_seen: LockSeen
) -> None:
    # Quick statements run on the loop's thread (storage/sqlite/database.py); one that finds
    # the lock is tried again on the database thread, with the busy timeout and the retries,
    # so the loop goes on meanwhile.
    lock.append(WriteLock(path))

    async def write() -> None:
        async with patient.transaction(quick=True) as conn:
            await conn.execute("INSERT INTO t (v) VALUES ('b')")
            await conn.execute("INSERT INTO t (v) VALUES ('c')")

    statement = asyncio.create_task(patient.execute("INSERT INTO t (v) VALUES ('a')", quick=True))
    transaction = asyncio.create_task(write())
    await lock_seen.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await asyncio.sleep(0.01)
    assert loop.time() - started < 1  # not stuck behind a busy wait on this thread
    assert not statement.done() and not transaction.done()
    lock.pop().release()
    assert await asyncio.wait_for(statement, 5) == 1
    await asyncio.wait_for(transaction, 5)
    rows = await patient.fetchall("SELECT v FROM t ORDER BY id", quick=True)
    assert sorted(r["v"] for r in rows) == ["a", "b", "c"]
