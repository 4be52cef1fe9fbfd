"""Every store of one database, chosen by DATABASE_URL: what the composition root opens at
start-up and hands to the services, typed by the interfaces (storage/<store>.py), whichever
backend is behind them.

`sqlite:///path` opens the embedded database (storage/sqlite/), `postgresql://…` (or
`postgres://…`) a pool on the server (storage/postgres/); each applies its own numbered
migrations first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from aiogram.fsm.storage.base import BaseStorage

from storage.base import Repository
from storage.bookings import BookingStore
from storage.digest import DigestQueries
from storage.erasure import ErasureStore
from storage.lease import LeaseStore
from storage.lifecycle import LifecycleStore
from storage.limits import LimitStore
from storage.outbox import OutboxStore
from storage.outreach import AnnouncementStore, MeetingStore, SubscriptionStore
from storage.polls import PollStore
from storage.prompts import PromptStore
from storage.reports import PeriodReader, ReportQueries
from storage.sqlite.database import BUSY_TIMEOUT, LOCKED_RETRY, SQLiteDatabase

if TYPE_CHECKING:
    from storage.postgres.database import PostgresDatabase

SQLITE = "sqlite:///"
POSTGRES = ("postgresql://", "postgres://")


class Database(Protocol):
    """What the composition root itself asks of the database, whichever it is."""

    async def ping(self) -> None:
        """Raise unless the database answers now (/healthz)."""

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Stores:
    database: SQLiteDatabase | PostgresDatabase  # closed last, by whoever opened it
    repository: Repository
    fsm: BaseStorage
    bookings: BookingStore
    digest: DigestQueries
    erasure: ErasureStore
    lifecycle: LifecycleStore
    limits: LimitStore
    outbox: OutboxStore
    prompts: PromptStore
    reports: ReportQueries
    lease: LeaseStore
    # /stats and /export's reads, pickled to the report worker's process: where the database
    # is, never a connection.
    period_reader: PeriodReader
    subscriptions: SubscriptionStore
    announcements: AnnouncementStore
    meetings: MeetingStore
    polls: PollStore


async def open_stores(
    database_url: str,
    *,
    busy_timeout: float = BUSY_TIMEOUT,
    locked_retry: float = LOCKED_RETRY,
) -> Stores:
    """Open the database at `database_url`, migrated, with every store on it.

    `locked_retry` bounds, on either backend, how long a write waits for a lock another
    connection holds before the caller hears DatabaseBusy (on PostgreSQL: lock_timeout, and
    the wait for a free connection of the pool); `busy_timeout` is SQLite's own."""
    # Each backend's modules are imported when its URL is given: a bot on SQLite does not
    # load asyncpg and the PostgreSQL stores at start-up, nor the other way round.
    if database_url.startswith(SQLITE):
        from storage.sqlite.bookings import SQLiteBookingStore
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
        from storage.sqlite.reports import SQLiteReportQueries, SQLiteReportReader
        from storage.sqlite.repository import SQLiteRepository

        path = Path(database_url.removeprefix(SQLITE))
        lite = await SQLiteDatabase.open(
            path,
            busy_timeout=busy_timeout,
            locked_retry=locked_retry,
        )
        return Stores(
            lite, SQLiteRepository(lite), SQLiteStorage(lite), SQLiteBookingStore(lite),
            SQLiteDigestQueries(lite), SQLiteErasureStore(lite), SQLiteLifecycleStore(lite),
            SQLiteLimitStore(lite), SQLiteOutboxStore(lite), SQLitePromptStore(lite),
            SQLiteReportQueries(lite), SQLiteLeaseStore(lite),
            # The worker's working directory may differ: the path is made absolute here.
            SQLiteReportReader(path.resolve(), busy_timeout),  # noqa: ASYNC240 - once, at start
            SQLiteSubscriptionStore(lite), SQLiteAnnouncementStore(lite), SQLiteMeetingStore(lite),
            SQLitePollStore(lite),
        )  # fmt: skip
    if database_url.startswith(POSTGRES):
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
        from storage.postgres.reports import PostgresReportQueries, PostgresReportReader
        from storage.postgres.repository import PostgresRepository

        pg = await PostgresDatabase.open(
            database_url, lock_timeout=locked_retry, acquire_timeout=locked_retry
        )
        return Stores(
            pg, PostgresRepository(pg), PostgresStorage(pg), PostgresBookingStore(pg),
            PostgresDigestQueries(pg), PostgresErasureStore(pg), PostgresLifecycleStore(pg),
            PostgresLimitStore(pg), PostgresOutboxStore(pg), PostgresPromptStore(pg),
            PostgresReportQueries(pg), PostgresLeaseStore(pg),
            PostgresReportReader(database_url, locked_retry),
            PostgresSubscriptionStore(pg), PostgresAnnouncementStore(pg), PostgresMeetingStore(pg),
            PostgresPollStore(pg),
        )  # fmt: skip
    raise ValueError(f"DATABASE_URL must start with {SQLITE} or {POSTGRES[0]}")
