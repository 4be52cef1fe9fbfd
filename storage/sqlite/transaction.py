"""Statements inside a SQLite transaction, one database-thread hop each.

aiosqlite's cursor costs a hop to execute, another to fetch and another to close. Inside a
transaction the lock is held across all of them, so every hop also holds up every other
coroutine that needs the database. Here a statement runs and is fully read in one hop; the
result is what a cursor would have given (the rows, rowcount, lastrowid).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Call = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]


class Done:
    """A statement that has run: an async cursor over rows already read."""

    def __init__(self, rows: list[sqlite3.Row], rowcount: int, lastrowid: int | None) -> None:
        self.rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        if self._next >= len(self.rows):
            return None
        self._next += 1
        return self.rows[self._next - 1]

    async def fetchall(self) -> list[sqlite3.Row]:
        rest, self._next = self.rows[self._next :], len(self.rows)
        return rest

    async def close(self) -> None:
        return None


class Pending:
    """What `execute` returns: awaited, or used as `async with … as cur`, like aiosqlite's."""

    def __init__(self, run: Callable[[], Awaitable[Done]]) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, Done]:
        return self._run().__await__()

    async def __aenter__(self) -> Done:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


def run_statement(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> Done:
    """Run on the database thread: execute and read the whole result."""
    cur = conn.execute(sql, params)
    try:
        return Done(cur.fetchall(), cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


def read_one(sql: str, params: Sequence[Any], conn: sqlite3.Connection) -> sqlite3.Row | None:
    """Run on the database thread: execute and read the first row."""
    cur = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cur.fetchone()
        return row
    finally:
        cur.close()


def _executemany(sql: str, rows: list[Sequence[Any]], conn: sqlite3.Connection) -> Done:
    cur = conn.executemany(sql, rows)
    try:
        return Done([], cur.rowcount, cur.lastrowid)
    finally:
        cur.close()


class Transaction:
    """The connection as a transaction's body sees it (`SQLiteDatabase.transaction`)."""

    def __init__(self, call: Call[Done]) -> None:
        self._call = call

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Pending:
        args = tuple(params)
        return Pending(lambda: self._call(lambda conn: run_statement(sql, args, conn)))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Pending:
        batch = list(rows)
        return Pending(lambda: self._call(lambda conn: _executemany(sql, batch, conn)))
