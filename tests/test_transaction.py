"""A transaction's statements behave like aiosqlite cursors and roll back together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.sqlite.database import SQLiteDatabase


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    database = await SQLiteDatabase.open(tmp_path / "tx.db")
    await database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    yield database
    await database.close()


async def test_statements_read_like_cursors(db: SQLiteDatabase) -> None:
    async with db.transaction() as conn:
        cur = await conn.execute("INSERT INTO t (v) VALUES (?)", ("a",))
        assert (cur.rowcount, cur.lastrowid) == (1, 1)
        many = await conn.executemany("INSERT INTO t (v) VALUES (?)", [("b",), ("c",)])
        assert many.rowcount == 2
        async with conn.execute("SELECT v FROM t ORDER BY id") as rows:
            assert (await rows.fetchone())[0] == "a"  # type: ignore[index]
            assert [r[0] for r in await rows.fetchall()] == ["b", "c"]
            assert await rows.fetchone() is None
        updated = await conn.execute("UPDATE t SET v = 'x' WHERE v != 'a'")
        assert updated.rowcount == 2
    assert [r["v"] for r in await db.fetchall("SELECT v FROM t ORDER BY id")] == ["a", "x", "x"]


async def test_an_error_rolls_the_whole_transaction_back(db: SQLiteDatabase) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (v) VALUES ('gone')")
            raise RuntimeError
    assert await db.fetchall("SELECT * FROM t") == []
    # The lock was released and the next transaction works.
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t (v) VALUES ('kept')")
    assert len(await db.fetchall("SELECT * FROM t")) == 1
