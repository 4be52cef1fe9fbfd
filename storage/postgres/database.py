"""The PostgreSQL database through asyncpg (for several instances of the bot): the pool,
numbered migrations applied at start-up, and transactions. The stores in this package run
their SQL through it.

What the SQLite stores take from BEGIN IMMEDIATE (one writer at a time, so "read, then write
what depends on it" cannot interleave with another writer) is not given here: transactions are
READ COMMITTED and run side by side. Each store says what it must see unchanged: a row it reads
to change it is read `FOR UPDATE`; a row that must exist once is inserted `ON CONFLICT`. Both
block on the row only, not on the database. A transaction that locks several appeals locks
them in ascending id order (`/forget`'s `ORDER BY id FOR UPDATE`; a transition that depends on
another appeal, `Repository.transition(…, depends_on=…)`), after the citizen's row where it
locks that, so two of them wait for each other instead of deadlocking.

A row lock held elsewhere for longer than `lock_timeout`, or no free connection within
`acquire_timeout`, is DatabaseBusy, as a lock held too long is on SQLite: the transaction
rolled back and nothing of it was written.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.base import DatabaseBusy

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent.parent / "migrations" / "postgres"
T = TypeVar("T")
# A connection in use: what a transaction's body (and a store's `also`/`then`) is handed.
# (Generic in asyncpg's stubs only.)
if TYPE_CHECKING:
    Connection = PoolConnectionProxy[asyncpg.Record]
else:
    Connection = PoolConnectionProxy
# Seconds a statement waits for a row lock, and a caller for a free connection of the pool.
LOCK_TIMEOUT = 10.0
ACQUIRE_TIMEOUT = 10.0
# pg_advisory_lock key of the migration runner ("LSBM"): instances starting together take
# turns, so each migration is applied once and a later one sees the earlier ones done.
MIGRATION_LOCK = 0x4C53424D


def migration_files() -> list[tuple[int, Path]]:
    files = sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(int(f.name[:4]), f) for f in files]


def rowcount(status: str) -> int:
    """Rows a statement touched, from its command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresDatabase:
    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], *, acquire_timeout: float) -> None:
        self.pool = pool
        self.acquire_timeout = acquire_timeout

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        migrate_to: int | None = None,
        min_size: int = 1,
        max_size: int = 10,
        lock_timeout: float = LOCK_TIMEOUT,
        acquire_timeout: float = ACQUIRE_TIMEOUT,
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            server_settings={
                "lock_timeout": str(round(lock_timeout * 1000)),
                # Instants come back aware in UTC whatever the server's zone, as the SQLite
                # codec gives them.
                "TimeZone": "UTC",
            },
        )
        db = cls(pool, acquire_timeout=acquire_timeout)
        try:
            await db.migrate(migrate_to)
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        """Raise unless the server answers a read of the schema now: for /healthz. Bounded by
        the pool's wait for a connection and the statement's own `timeout`, never retried."""
        async with self.connection() as conn:
            await conn.fetchval(
                "SELECT count(*) FROM schema_migrations", timeout=self.acquire_timeout
            )

    async def schema_version(self) -> int:
        exists = await self.pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not exists:
            return 0
        version = await self.pool.fetchval("SELECT max(version) FROM schema_migrations")
        return int(version or 0)

    async def migrate(self, target: int | None = None) -> None:
        """Apply the numbered files past the recorded version, each in its own transaction
        together with its row in schema_migrations. The advisory lock (a session lock, on
        this one connection) makes a second instance starting at the same moment wait, then
        find the work done."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
            try:
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())"
                )
                current = int(
                    await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
                )
                for number, file in migration_files():
                    if number <= current or (target is not None and number > target):
                        continue
                    log.info("applying migration %s", file.name)
                    async with conn.transaction():
                        # No parameters: the simple query protocol runs a whole script.
                        await conn.execute(file.read_text(encoding="utf-8"))
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            number,
                            file.name,
                        )
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """A connection of the pool, for several statements without a transaction."""
        try:
            acquired = await self.pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError as exc:
            raise DatabaseBusy("no free database connection") from exc
        try:
            yield acquired
        finally:
            await self.pool.release(acquired)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A transaction on one connection: committed when the body returns, rolled back
        when it raises."""
        async with self.connection() as conn:
            try:
                async with conn.transaction():
                    yield conn
            except asyncpg.LockNotAvailableError as exc:
                raise DatabaseBusy(str(exc)) from exc

    async def _run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        async with self.connection() as conn:
            try:
                return await work(conn)
            except asyncpg.LockNotAvailableError as exc:
                raise DatabaseBusy(str(exc)) from exc

    async def fetchone(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._run(lambda conn: conn.fetchrow(sql, *args))

    async def fetchall(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._run(lambda conn: conn.fetch(sql, *args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(lambda conn: conn.fetchval(sql, *args))

    async def execute(self, sql: str, *args: Any) -> int:
        """One statement, committed on its own; the rows it touched."""
        return rowcount(await self._run(lambda conn: conn.execute(sql, *args)))
