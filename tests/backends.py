"""The storage backends the storage tests run on, as one shape: open a database (again, on the
same data), build its repository and its FSM storage.

A test marked `every_backend` that uses the `backend` fixture (or `repo`, `fsm_storage`, which
use it) runs once on SQLite and once on PostgreSQL; unmarked, on SQLite only. PostgreSQL is
the server at TEST_POSTGRES_URL (default: the CI's, on 127.0.0.1:5432, database `test`); each
test gets a schema of its own, dropped after it. Without a server the PostgreSQL runs skip
with the reason, and REQUIRE_ALL_TESTS (CI) turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiogram.fsm.storage.base import BaseStorage

from storage.base import Repository
from storage.postgres.bookings import PostgresBookingStore
from storage.postgres.database import PostgresDatabase
from storage.postgres.digest import PostgresDigestQueries
from storage.postgres.erasure import PostgresErasureStore
from storage.postgres.fsm import PostgresStorage
from storage.postgres.lease import PostgresLeaseStore
from storage.postgres.lifecycle import PostgresLifecycleStore
from storage.postgres.limits import PostgresLimitStore
from storage.postgres.outbox import PostgresOutboxStore
from storage.postgres.outreach import (
    PostgresAnnouncementStore,
    PostgresMeetingStore,
    PostgresSubscriptionStore,
)
from storage.postgres.polls import PostgresPollStore
from storage.postgres.prompts import PostgresPromptStore
from storage.postgres.reports import PostgresReportQueries
from storage.postgres.repository import PostgresRepository
from storage.sqlite.bookings import SQLiteBookingStore
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.digest import SQLiteDigestQueries
from storage.sqlite.erasure import SQLiteErasureStore
from storage.sqlite.fsm import SQLiteStorage
from storage.sqlite.lease import SQLiteLeaseStore
from storage.sqlite.lifecycle import SQLiteLifecycleStore
from storage.sqlite.limits import SQLiteLimitStore
from storage.sqlite.outbox import SQLiteOutboxStore
from storage.sqlite.outreach import (
    SQLiteAnnouncementStore,
    SQLiteMeetingStore,
    SQLiteSubscriptionStore,
)
from storage.sqlite.polls import SQLitePollStore
from storage.sqlite.prompts import SQLitePromptStore
from storage.sqlite.reports import SQLiteReportQueries
from storage.sqlite.repository import SQLiteRepository

NAMES = ("sqlite", "postgres")
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Backend:
    """One backend under test. `open()` opens the test's database (another connection to the
    same data each time, as a restart or a second instance would); what it opened is closed
    when the test ends, if the test did not close it."""

    name: str
    _open: Callable[[], Awaitable[Any]]
    _opened: list[Any] = field(default_factory=list)

    async def open(self) -> Any:
        db = await self._open()
        self._opened.append(db)
        return db

    def repository(self, db: Any) -> Repository:
        return store("repository", db)  # type: ignore[no-any-return]

    def fsm(self, db: Any) -> BaseStorage:
        return store("fsm", db)  # type: ignore[no-any-return]

    def bookings(self, db: Any) -> SQLiteBookingStore | PostgresBookingStore:
        return store("bookings", db)  # type: ignore[no-any-return]

    def outbox(self, db: Any) -> SQLiteOutboxStore | PostgresOutboxStore:
        return store("outbox", db)  # type: ignore[no-any-return]

    async def close_all(self) -> None:
        for db in self._opened:
            await db.close()


# Each store on each backend: (SQLite's class, PostgreSQL's class).
STORES: dict[str, tuple[type, type]] = {
    "repository": (SQLiteRepository, PostgresRepository),
    "fsm": (SQLiteStorage, PostgresStorage),
    "bookings": (SQLiteBookingStore, PostgresBookingStore),
    "digest": (SQLiteDigestQueries, PostgresDigestQueries),
    "erasure": (SQLiteErasureStore, PostgresErasureStore),
    "lease": (SQLiteLeaseStore, PostgresLeaseStore),
    "lifecycle": (SQLiteLifecycleStore, PostgresLifecycleStore),
    "limits": (SQLiteLimitStore, PostgresLimitStore),
    "outbox": (SQLiteOutboxStore, PostgresOutboxStore),
    "prompts": (SQLitePromptStore, PostgresPromptStore),
    "reports": (SQLiteReportQueries, PostgresReportQueries),
    "subscriptions": (SQLiteSubscriptionStore, PostgresSubscriptionStore),
    "announcements": (SQLiteAnnouncementStore, PostgresAnnouncementStore),
    "meetings": (SQLiteMeetingStore, PostgresMeetingStore),
    "polls": (SQLitePollStore, PostgresPollStore),
}


def store(kind: str, db: Any) -> Any:
    """The `kind` store on whichever database `db` is, so a test helper handed a repository
    builds the other stores on the same database (`store("outbox", repo.db)`)."""
    sqlite, postgres = STORES[kind]
    return postgres(db) if isinstance(db, PostgresDatabase) else sqlite(db)


def beside(kind: str, repo: Repository) -> Any:
    """The `kind` store on the database of `repo` (either backend's repository has a `db`)."""
    return store(kind, repo.db)  # type: ignore[attr-defined]


@functools.cache
def postgres_missing() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None. Probed on a thread of its own: its
    event loop must not replace the one pytest-asyncio runs the tests on."""
    reason: list[str] = []

    async def probe() -> None:
        try:
            conn = await asyncpg.connect(POSTGRES_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            reason.append(f"{type(exc).__name__}: {exc}")
        else:
            await conn.close()

    thread = threading.Thread(target=lambda: asyncio.run(probe()))
    thread.start()
    thread.join()
    if not reason:
        return None
    where = urlsplit(POSTGRES_URL)
    return (
        f"PostgreSQL is not reachable at {where.hostname}:{where.port or 5432}{where.path} "
        f"({reason[0]}); start it or set TEST_POSTGRES_URL"
    )


def with_search_path(url: str, schema: str) -> str:
    """The URL with the schema as search_path (asyncpg passes unknown query parameters on as
    server settings), so every connection of the pool works in it."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}"


@asynccontextmanager
async def fresh_schema(url: str = POSTGRES_URL) -> AsyncIterator[str]:
    """A new empty schema for one test; yields the URL that works in it."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        yield with_search_path(url, schema)
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@asynccontextmanager
async def backend_for(name: str, tmp_path: Path) -> AsyncIterator[Backend]:
    if name == "sqlite":
        backend = Backend(name, lambda: SQLiteDatabase.open(tmp_path / "test.db"))
        try:
            yield backend
        finally:
            await backend.close_all()
        return
    async with fresh_schema() as url:
        backend = Backend(name, lambda: PostgresDatabase.open(url, max_size=4))
        try:
            yield backend
        finally:
            await backend.close_all()
