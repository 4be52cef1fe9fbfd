"""The SQLite database through aiosqlite (the embedded default): the connection, its
pragmas, numbered migrations, transactions and the retries while another process holds the
lock. The stores in this package run their SQL through it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.base import DatabaseBusy
from storage.sqlite.transaction import Transaction, read_one, run_statement

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent.parent / "migrations" / "sqlite"
T = TypeVar("T")
# Seconds SQLite itself waits for another connection's write lock (PRAGMA busy_timeout) …
BUSY_TIMEOUT = 5.0
# … and how long, counted from the first attempt, a locked statement or transaction is
# tried again before the caller hears DatabaseBusy.
LOCKED_RETRY = 10.0
# Rows written by quick statements after which the WAL is copied into the database file (a
# PASSIVE checkpoint, on the database thread): SQLite's own automatic checkpoint is off, as it
# would run inside whichever COMMIT crossed its threshold, on the event loop for a quick one.
# About a thousand pages of WAL, SQLite's default.
CHECKPOINT_AFTER_ROWS = 500
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 1.0


def is_locked(exc: BaseException) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock; nothing was done."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.OperationalError)
        and code is not None
        and (
            (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # extended codes too
        )
    )


def migration_files() -> list[tuple[int, Path]]:
    files = sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    return [(int(f.name[:4]), f) for f in files]


class SQLiteDatabase:
    """One connection shared by the process. aiosqlite runs it on one thread, so statements
    are serialised anyway; the lock keeps one coroutine's transaction from swallowing
    another's statements.

    Quick statements (`quick=True`: a few indexed rows, the dialog's path) run on the event
    loop's own thread instead, in the lock as well: a hop to the database thread costs more
    CPU than such a statement (a future, a wake-up of that thread, the GIL handed over and
    back, a wake-up of the loop), and under load those hand-overs cost the loop more than
    their own CPU. Measured with `bench.dialogs` (README "Performance"). A quick statement
    never waits for another process's lock on the loop: the connection's busy timeout is 0,
    and a statement SQLite refuses as locked is run again on the database thread with the
    busy timeout, as every other statement is. Nor does it run beside the thread: while a
    hop is under way (one whose caller was cancelled may outlive the lock) it goes behind it.

    Another process may hold the write lock for longer than the busy timeout (a backup, an
    operator's sqlite3 shell). Every statement and every transaction is then tried again
    here, with growing pauses, for up to `locked_retry` seconds; after that the caller gets
    DatabaseBusy, and nothing of it was written.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection,
        *,
        locked_retry: float = LOCKED_RETRY,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()
        self.locked_retry = locked_retry
        self.busy_timeout = busy_timeout
        self._busy_sql = f"PRAGMA busy_timeout={round(busy_timeout * 1000)}"
        # Hops handed to the database thread and hops it has finished: each is written by one
        # thread only, and equal when the thread is not using the connection.
        self._handed = 0
        self._finished = 0
        self._checkpointed_at = 0  # the connection's total_changes at the last checkpoint

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        migrate_to: int | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
        locked_retry: float = LOCKED_RETRY,
    ) -> SQLiteDatabase:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Used on the loop's thread too (quick statements), never by two threads at once.
        conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            # What is deleted or overwritten is zeroed in the file, not left in free space
            # where a copy of the file would still show it (/forget).
            "PRAGMA secure_delete=ON",
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            # For the migrations; then 0, and set around each hop to the database thread.
            f"PRAGMA busy_timeout={round(busy_timeout * 1000)}",
            # Checkpoints run on the database thread (`_quick`), not inside a COMMIT.
            "PRAGMA wal_autocheckpoint=0",
        ):
            await conn.execute(pragma)
        db = cls(conn, locked_retry=locked_retry, busy_timeout=busy_timeout)
        try:
            await db.migrate(migrate_to)
            await conn.execute("PRAGMA busy_timeout=0")  # see `_call` and `_quick`
        except BaseException:
            # aiosqlite's worker thread would keep the process alive after a failed start.
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self.lock:
            await self.conn.close()

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it to nothing: old versions of
        pages (with data since erased) live on in the WAL until then. It never waits for
        another process (a backup reading the file): the bot would wait with it. False when
        such a reader kept it from finishing; closing the database finishes it."""

        def work(conn: sqlite3.Connection) -> bool:
            try:
                row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.OperationalError as exc:
                if is_locked(exc):
                    return False
                raise
            return row is not None and row[0] == 0

        async with self.lock:
            return await self._hop(work)  # busy timeout 0: never waits

    async def ping(self) -> None:
        """Raise unless the database answers a read of the file now: for /healthz. It reads
        the schema (a page of the file, not just the connection) and never waits for another
        process's lock or retries: a probe answers in time or says what is wrong. The caller
        bounds the wait for this process's own statements ahead of it."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()

        async with self.lock:
            await self._hop(work)  # busy timeout 0: never waits

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self, target: int | None = None) -> None:
        """Apply numbered migrations past PRAGMA user_version, each in its own transaction."""
        current = await self.schema_version()
        for number, file in migration_files():
            if number <= current or (target is not None and number > target):
                continue
            log.info("applying migration %s", file.name)
            script = file.read_text(encoding="utf-8")
            # executescript commits on its own, so the version bump rides in the same script.
            await self.conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    @asynccontextmanager
    async def transaction(self, *, quick: bool = False) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE takes the write lock before the body runs, so a lock held elsewhere
        shows up there, where trying again repeats nothing: retrying the BEGIN is retrying the
        whole transaction. (In WAL mode nothing after it waits for another connection.)
        `quick`: the body's statements are quick ones (see the class)."""
        call = self._quick if quick else self._call
        await self._retrying(partial(self._begin, call))
        try:
            try:
                yield Transaction(call)
                await call(partial(run_statement, "COMMIT", ()))
            except BaseException as exc:
                # A failed COMMIT too: left open, the transaction would wedge the connection.
                await call(_rollback)
                if is_locked(exc):
                    raise DatabaseBusy(str(exc)) from exc
                raise
        finally:
            self.lock.release()

    async def _begin(
        self, call: Callable[[Callable[[sqlite3.Connection], Any]], Awaitable[Any]]
    ) -> None:
        """Returns holding `self.lock` inside BEGIN IMMEDIATE, or raises holding nothing."""
        await self.lock.acquire()
        try:
            await call(partial(run_statement, "BEGIN IMMEDIATE", ()))
        except BaseException:
            self.lock.release()
            raise

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`attempt` again while the database is locked, up to `locked_retry` seconds from
        the start. Pauses are spent without our lock, so reads (which WAL lets through while
        another connection writes) carry on meanwhile."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.locked_retry
        pause = FIRST_PAUSE
        while True:
            try:
                return await attempt()
            except sqlite3.OperationalError as exc:
                if not is_locked(exc):
                    raise
                if loop.time() + pause > give_up:
                    log.error("database still locked after %.1fs: %s", self.locked_retry, exc)
                    raise DatabaseBusy(str(exc)) from exc
                log.warning("database locked (%s); trying again in %.1fs", exc, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    @asynccontextmanager
    async def statements(self) -> AsyncIterator[Transaction]:
        """Several statements in a row, no other coroutine's in between, no transaction."""
        async with self.lock:
            yield Transaction(self._call)

    async def _hop(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One hop to the database thread, as the connection is (busy timeout 0); the caller
        holds the lock."""

        def counted(conn: sqlite3.Connection) -> T:
            try:
                return work(conn)
            finally:
                self._finished += 1  # on the database thread, the only one writing it

        self._handed += 1
        # aiosqlite's own entry point to its thread (what its cursors use): the work runs
        # there with the sqlite3 connection, in one hop.
        result: T = await self.conn._execute(counted, self.conn._conn)  # type: ignore[no-untyped-call]
        return result

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One hop to the database thread, where SQLite waits up to the busy timeout for
        another process's lock; the caller holds the lock."""
        busy_sql = self._busy_sql

        def waiting(conn: sqlite3.Connection) -> T:
            conn.execute(busy_sql)
            try:
                return work(conn)
            finally:
                conn.execute("PRAGMA busy_timeout=0")

        result = await self._hop(waiting)
        if (conn := self._open_connection()) is not None:
            await self._checkpoint_if_due(conn)
        return result

    def _open_connection(self) -> sqlite3.Connection | None:
        """The sqlite3 connection, None once aiosqlite was told to close it."""
        conn: sqlite3.Connection | None = self.conn._connection
        return conn if self.conn._running else None

    async def _quick(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on the loop's thread, unless the database thread is busy with the
        connection or SQLite would wait for a lock: then on that thread (`_call`). The caller
        holds the lock."""
        conn = self._open_connection()
        if conn is None or self._handed != self._finished:
            return await self._call(work)  # closed (aiosqlite says so), or behind a hop
        try:
            result = work(conn)
        except sqlite3.OperationalError as exc:
            if not is_locked(exc):
                raise
            # Nothing of it was written: a statement refused as locked did nothing, and a
            # quick `work` writes with one statement or in one transaction (see `run`).
            return await self._call(work)
        await self._checkpoint_if_due(conn)
        return result

    async def _checkpoint_if_due(self, conn: sqlite3.Connection) -> None:
        """After CHECKPOINT_AFTER_ROWS rows written, outside a transaction: a PASSIVE
        checkpoint on the database thread (SQLite's automatic one is off, see `open`)."""
        changes = conn.total_changes
        if changes - self._checkpointed_at >= CHECKPOINT_AFTER_ROWS and not conn.in_transaction:
            self._checkpointed_at = changes
            await self._hop(_passive_checkpoint)

    async def run(self, work: Callable[[sqlite3.Connection], T], *, quick: bool = False) -> T:
        """Run `work` on the database thread in one hop.

        aiosqlite's cursor API costs a thread hop for execute, another for fetch and another
        for close; each hop is a GIL hand-over and a wake-up of the event loop, and on the
        dialog path they cost more than the statements themselves (see bench/dialogs.py).
        Several statements that belong together run in one `work` for the same reason.
        Outside a transaction each statement commits on its own, so a locked one did nothing
        and is simply tried again; hence `work` writes with one statement at most (several
        writes that belong together go in a transaction).

        `quick`: `work` is a few indexed rows and runs on the loop's thread (see the class):
        the dialog's path. Anything that may read many rows (reports, digests, lists for the
        officials) stays on the database thread, where the loop goes on meanwhile.
        """
        call = self._quick if quick else self._call

        async def attempt() -> T:
            async with self.lock:
                return await call(work)

        return await self._retrying(attempt)

    async def fetchone(
        self, sql: str, params: Iterable[Any] = (), *, quick: bool = False
    ) -> sqlite3.Row | None:
        return await self.run(partial(read_one, sql, tuple(params)), quick=quick)

    async def fetchall(
        self, sql: str, params: Iterable[Any] = (), *, quick: bool = False
    ) -> list[sqlite3.Row]:
        return (await self.run(partial(run_statement, sql, tuple(params)), quick=quick)).rows

    async def execute(self, sql: str, params: Iterable[Any] = (), *, quick: bool = False) -> int:
        return (await self.run(partial(run_statement, sql, tuple(params)), quick=quick)).rowcount

    async def fetchall_as(
        self, sql: str, params: Iterable[Any], convert: Callable[[sqlite3.Row], T]
    ) -> list[T]:
        """Rows turned into objects on the database thread: for reports of tens of thousands
        of rows, which would otherwise hold up the event loop the citizens wait on."""
        args = tuple(params)
        return await self.run(lambda conn: [convert(r) for r in conn.execute(sql, args)])


def _passive_checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the WAL holds into the database file as far as no reader needs it; never
    waits (a backup reading the file only stops it short)."""
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()


def _rollback(conn: sqlite3.Connection) -> None:
    # Some failures (a full disk, an interrupted COMMIT) have rolled back already.
    if conn.in_transaction:
        conn.execute("ROLLBACK")
