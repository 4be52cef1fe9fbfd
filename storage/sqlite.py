"""SQLite through aiosqlite: the embedded default. All SQLite-specific SQL lives here."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.base import AlsoWrite, DatabaseBusy, Repository
from storage.models import Appeal, Attachment, Citizen, NewAppeal, Status
from storage.transaction import Transaction, run_statement

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations" / "sqlite"
T = TypeVar("T")
# Seconds SQLite itself waits for another connection's write lock (PRAGMA busy_timeout) …
BUSY_TIMEOUT = 5.0
# … and how long, counted from the first attempt, a locked statement or transaction is
# tried again before the caller hears DatabaseBusy.
LOCKED_RETRY = 10.0
FIRST_PAUSE = 0.1
LONGEST_PAUSE = 1.0


def _ts(value: datetime) -> str:
    """UTC ISO text, so that comparing the strings compares the instants."""
    return value.astimezone(UTC).isoformat()


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _dt(value: str | None) -> datetime | None:
    return _parse(value) if value else None


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
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        for pragma in (
            # What is deleted or overwritten is zeroed in the file, not left in free space
            # where a copy of the file would still show it (/forget).
            "PRAGMA secure_delete=ON",
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            f"PRAGMA busy_timeout={round(busy_timeout * 1000)}",
        ):
            await conn.execute(pragma)
        db = cls(conn, locked_retry=locked_retry, busy_timeout=busy_timeout)
        try:
            await db.migrate(migrate_to)
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
        busy_ms = round(self.busy_timeout * 1000)

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("PRAGMA busy_timeout=0")
            try:
                row = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.OperationalError as exc:
                if is_locked(exc):
                    return False
                raise
            finally:
                conn.execute(f"PRAGMA busy_timeout={busy_ms}")
            return row is not None and row[0] == 0

        async with self.lock:
            return await self._call(work)

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
    async def transaction(self) -> AsyncIterator[Transaction]:
        """BEGIN IMMEDIATE takes the write lock before the body runs, so a lock held elsewhere
        shows up there, where trying again repeats nothing: retrying the BEGIN is retrying the
        whole transaction. (In WAL mode nothing after it waits for another connection.)"""
        await self._retrying(self._begin)
        try:
            try:
                yield Transaction(self._call)
                await self._call(partial(run_statement, "COMMIT", ()))
            except BaseException as exc:
                # A failed COMMIT too: left open, the transaction would wedge the connection.
                await self._call(_rollback)
                if is_locked(exc):
                    raise DatabaseBusy(str(exc)) from exc
                raise
        finally:
            self.lock.release()

    async def _begin(self) -> None:
        """Returns holding `self.lock` inside BEGIN IMMEDIATE, or raises holding nothing."""
        await self.lock.acquire()
        try:
            await self._call(partial(run_statement, "BEGIN IMMEDIATE", ()))
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

    async def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One hop to the database thread; the caller holds the lock."""
        # aiosqlite's own entry point to its thread (what its cursors use): the work runs
        # there with the sqlite3 connection, in one hop.
        result: T = await self.conn._execute(work, self.conn._conn)  # type: ignore[no-untyped-call]
        return result

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the database thread in one hop.

        aiosqlite's cursor API costs a thread hop for execute, another for fetch and another
        for close; each hop is a GIL hand-over and a wake-up of the event loop, and on the
        dialog path they cost more than the statements themselves (see bench/dialogs.py).
        Several statements that belong together run in one `work` for the same reason.
        Outside a transaction each statement commits on its own, so a locked one did nothing
        and is simply tried again; hence `work` writes with one statement at most (several
        writes that belong together go in a transaction).
        """

        async def attempt() -> T:
            async with self.lock:
                return await self._call(work)

        return await self._retrying(attempt)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        return await self.run(partial(_fetchone, sql, tuple(params)))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return (await self.run(partial(run_statement, sql, tuple(params)))).rows

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return (await self.run(partial(run_statement, sql, tuple(params)))).rowcount

    async def fetchall_as(
        self, sql: str, params: Iterable[Any], convert: Callable[[sqlite3.Row], T]
    ) -> list[T]:
        """Rows turned into objects on the database thread: for reports of tens of thousands
        of rows, which would otherwise hold up the event loop the citizens wait on."""
        args = tuple(params)
        return await self.run(lambda conn: [convert(r) for r in conn.execute(sql, args)])


def _rollback(conn: sqlite3.Connection) -> None:
    # Some failures (a full disk, an interrupted COMMIT) have rolled back already.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _fetchone(sql: str, params: tuple[Any, ...], conn: sqlite3.Connection) -> sqlite3.Row | None:
    cur = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cur.fetchone()
        return row
    finally:
        cur.close()


class SQLiteRepository(Repository):
    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db

    async def close(self) -> None:
        await self.db.close()

    # citizens
    async def get_citizen(self, user_id: int) -> Citizen | None:
        return _citizen(await self.db.fetchone(CITIZEN_SQL, (user_id,)))

    async def open_update(self, update_id: int, user_id: int | None) -> tuple[bool, Citizen | None]:
        def work(conn: sqlite3.Connection) -> tuple[bool, sqlite3.Row | None]:
            seen = _fetchone(UPDATE_SEEN_SQL, (update_id,), conn) is not None
            if seen or user_id is None:
                return seen, None
            return False, _fetchone(CITIZEN_SQL, (user_id,), conn)

        seen, row = await self.db.run(work)
        return seen, _citizen(row)

    async def set_reachable(self, user_id: int) -> None:
        await self.db.execute("UPDATE citizens SET unreachable = 0 WHERE id = ?", (user_id,))

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, language, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET language = excluded.language",
            (user_id, language, _ts(datetime.now().astimezone())),
        )

    async def set_consent(self, user_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, consent_at, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET consent_at = excluded.consent_at",
            (user_id, _ts(at), _ts(at)),
        )

    # appeals
    async def create_appeal(
        self, new: NewAppeal, also: AlsoWrite | None = None
    ) -> tuple[Appeal, bool]:
        async with self.db.transaction() as conn:
            async with conn.execute(
                "SELECT id FROM appeals WHERE draft_key = ?", (new.draft_key,)
            ) as cur:
                existing = await cur.fetchone()
            if existing is None:
                reference = await self._next_reference(conn, new.registered_on)
                appeal_id = await self._insert_appeal(conn, new, reference)
                if also is not None:
                    await also(conn, reference)
        if existing is not None:
            appeal = await self.get_appeal(existing["id"])
            assert appeal is not None
            return appeal, False
        appeal = await self.get_appeal(appeal_id)
        assert appeal is not None
        return appeal, True

    @staticmethod
    async def _next_reference(conn: Transaction, registered_on: date) -> str:
        name = f"appeal:{registered_on.year}"
        async with conn.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (name,),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return f"{registered_on.year}-{row[0]:05d}"

    @staticmethod
    async def _insert_appeal(conn: Transaction, new: NewAppeal, reference: str) -> int:
        await conn.execute(
            "INSERT INTO citizens (id, language, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (new.citizen_id, new.language, _ts(new.created_at)),
        )
        cur = await conn.execute(
            "INSERT INTO appeals (reference, draft_key, citizen_id, kind, category, region, "
            "district, text, latitude, longitude, contact_name, contact_phone, contact_address, "
            "contact_address_kind, language, status, created_at, registered_on, due_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                new.draft_key,
                new.citizen_id,
                new.kind,
                new.category,
                new.region,
                new.district,
                new.text,
                new.latitude,
                new.longitude,
                new.contact_name,
                new.contact_phone,
                new.contact_address,
                new.contact_address_kind,
                new.language,
                Status.REGISTERED,
                _ts(new.created_at),
                new.registered_on.isoformat(),
                _ts(new.due_at),
            ),
        )
        appeal_id = int(cur.lastrowid or 0)
        await conn.executemany(
            "INSERT INTO attachments (appeal_id, kind, file_id, file_name) VALUES (?, ?, ?, ?)",
            [(appeal_id, a.kind, a.file_id, a.file_name) for a in new.attachments],
        )
        await conn.execute(
            "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at) "
            "VALUES (?, NULL, ?, ?, ?)",
            (appeal_id, Status.REGISTERED, f"citizen:{new.citizen_id}", _ts(new.created_at)),
        )
        await conn.execute(
            "UPDATE citizens SET full_name = ?, phone = ? WHERE id = ?",
            (new.contact_name, new.contact_phone, new.citizen_id),
        )
        return appeal_id

    async def appeal_by_draft(self, draft_key: str) -> Appeal | None:
        row = await self.db.fetchone("SELECT * FROM appeals WHERE draft_key = ?", (draft_key,))
        return await self._with_attachments(row)

    async def get_appeal(self, appeal_id: int) -> Appeal | None:
        row = await self.db.fetchone("SELECT * FROM appeals WHERE id = ?", (appeal_id,))
        return await self._with_attachments(row)

    async def _with_attachments(self, row: aiosqlite.Row | None) -> Appeal | None:
        if row is None:
            return None
        appeal = _appeal(row)
        rows = await self.db.fetchall(
            "SELECT kind, file_id, file_name FROM attachments WHERE appeal_id = ? ORDER BY id",
            (appeal.id,),
        )
        appeal.attachments = [Attachment(r["kind"], r["file_id"], r["file_name"]) for r in rows]
        return appeal

    async def citizen_appeals(self, citizen_id: int, limit: int, offset: int) -> list[Appeal]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeals WHERE citizen_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (citizen_id, limit, offset),
        )
        return [_appeal(r) for r in rows]

    async def count_citizen_appeals(self, citizen_id: int) -> int:
        row = await self.db.fetchone(
            "SELECT COUNT(*) FROM appeals WHERE citizen_id = ?", (citizen_id,)
        )
        return int(row[0]) if row else 0

    async def status_history(self, appeal_id: int) -> list[tuple[Status, str, datetime]]:
        rows = await self.db.fetchall(
            "SELECT new_status, actor, at FROM status_history WHERE appeal_id = ? ORDER BY id",
            (appeal_id,),
        )
        return [(Status(r["new_status"]), r["actor"], _parse(r["at"])) for r in rows]

    async def appeal_by_reference(self, reference: str) -> Appeal | None:
        row = await self.db.fetchone("SELECT * FROM appeals WHERE reference = ?", (reference,))
        return await self._with_attachments(row)

    async def unpublished_appeals(self, limit: int) -> list[Appeal]:
        rows = await self.db.fetchall(
            "SELECT * FROM appeals WHERE officials_chat_id IS NULL AND status = ? "
            "ORDER BY id LIMIT ?",
            (Status.REGISTERED, limit),
        )
        return [a for a in [await self._with_attachments(r) for r in rows] if a is not None]

    async def set_officials_chat(self, appeal_id: int, chat_id: int) -> None:
        await self.db.execute(
            "UPDATE appeals SET officials_chat_id = ? WHERE id = ?", (chat_id, appeal_id)
        )

    async def transition(
        self,
        appeal_id: int,
        allowed_from: frozenset[Status],
        new: Status,
        actor: str,
        at: datetime,
        note: str | None = None,
        *,
        actor_name: str | None = None,
        then: Callable[[Transaction, Appeal], Awaitable[object]] | None = None,
        **fields: Any,
    ) -> Appeal | None:
        """Move an appeal to `new` only if it is still in one of `allowed_from`; the check and
        the change are one statement, so of two officials clicking at once one wins. `then`
        gets the changed appeal inside the same transaction: what the change causes (the
        citizen's notice in the outbox) commits with it or not at all."""
        assignments = ", ".join(f"{name} = ?" for name in fields)
        values = [_sql_value(v) for v in fields.values()]
        marks = ", ".join("?" for _ in allowed_from)
        async with self.db.transaction() as conn:
            async with conn.execute("SELECT status FROM appeals WHERE id = ?", (appeal_id,)) as cur:
                row = await cur.fetchone()
            cur = await conn.execute(
                f"UPDATE appeals SET status = ?{', ' if fields else ''}{assignments} "
                f"WHERE id = ? AND status IN ({marks})",
                (new, *values, appeal_id, *allowed_from),
            )
            if cur.rowcount == 0 or row is None:
                return None
            await conn.execute(
                "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
                "actor_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (appeal_id, row["status"], new, actor, _ts(at), note, actor_name),
            )
            changed = await _appeal_in(conn, appeal_id)
            if then is not None:
                await then(conn, changed)
        return changed

    async def update_fields(self, appeal_id: int, **fields: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self.db.execute(
            f"UPDATE appeals SET {assignments} WHERE id = ?",
            (*(_sql_value(v) for v in fields.values()), appeal_id),
        )

    async def note_history(
        self,
        appeal_id: int,
        status: Status,
        actor: str,
        at: datetime,
        note: str,
        actor_name: str | None = None,
    ) -> None:
        """A change that keeps the status (an extension) still goes into the history."""
        await self.db.execute(
            "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at, note, "
            "actor_name) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (appeal_id, status, status, actor, _ts(at), note, actor_name),
        )

    async def record_contact_view(self, appeal_id: int, official_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO contact_views (appeal_id, official_id, at) VALUES (?, ?, ?)",
            (appeal_id, official_id, _ts(at)),
        )

    async def contact_views(self, appeal_id: int) -> list[tuple[int, datetime]]:
        rows = await self.db.fetchall(
            "SELECT official_id, at FROM contact_views WHERE appeal_id = ? ORDER BY rowid",
            (appeal_id,),
        )
        return [(r["official_id"], _parse(r["at"])) for r in rows]

    # updates
    async def update_seen(self, update_id: int) -> bool:
        return await self.db.fetchone(UPDATE_SEEN_SQL, (update_id,)) is not None

    async def mark_update(self, update_id: int, at: datetime) -> None:
        await self.db.execute(
            "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)",
            (update_id, _ts(at)),
        )

    async def prune_updates(self, older_than: timedelta, now: datetime) -> int:
        return await self.db.execute(
            "DELETE FROM processed_updates WHERE at < ?", (_ts(now - older_than),)
        )


async def _appeal_in(conn: Transaction, appeal_id: int) -> Appeal:
    """The appeal as the open transaction sees it (the database lock is held: no `get_appeal`)."""
    async with conn.execute("SELECT * FROM appeals WHERE id = ?", (appeal_id,)) as cur:
        row = await cur.fetchone()
    assert row is not None
    appeal = _appeal(row)
    async with conn.execute(
        "SELECT kind, file_id, file_name FROM attachments WHERE appeal_id = ? ORDER BY id",
        (appeal_id,),
    ) as cur:
        rows = await cur.fetchall()
    appeal.attachments = [Attachment(r["kind"], r["file_id"], r["file_name"]) for r in rows]
    return appeal


def _sql_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


CITIZEN_SQL = (
    "SELECT id, language, consent_at, full_name, phone, unreachable FROM citizens WHERE id = ?"
)
UPDATE_SEEN_SQL = "SELECT 1 FROM processed_updates WHERE update_id = ?"


def _citizen(row: sqlite3.Row | None) -> Citizen | None:
    if row is None:
        return None
    return Citizen(
        row["id"],
        row["language"],
        _dt(row["consent_at"]),
        row["full_name"],
        row["phone"],
        bool(row["unreachable"]),
    )


def _appeal(row: aiosqlite.Row) -> Appeal:
    return Appeal(
        id=row["id"],
        reference=row["reference"],
        citizen_id=row["citizen_id"],
        kind=row["kind"],
        category=row["category"],
        region=row["region"],
        district=row["district"],
        text=row["text"],
        language=row["language"],
        status=Status(row["status"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        registered_on=date.fromisoformat(row["registered_on"]),
        due_at=datetime.fromisoformat(row["due_at"]),
        contact_name=row["contact_name"],
        contact_phone=row["contact_phone"],
        contact_address=row["contact_address"],
        contact_address_kind=row["contact_address_kind"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        answer_text=row["answer_text"],
        answered_at=_dt(row["answered_at"]),
        answer_outcome=row["answer_outcome"],
        answer_file_id=row["answer_file_id"],
        officials_chat_id=row["officials_chat_id"],
        department=row["department"],
        taken_by=row["taken_by"],
        taken_by_name=row["taken_by_name"],
        answered_by_name=row["answered_by_name"],
        extension_reason=row["extension_reason"],
        duplicate_of=row["duplicate_of"],
        solved=row["solved"],
        rating=row["rating"],
    )
