"""Each SQLite store implements the interface its consumers are typed against, so a second
backend (PostgreSQL) has one list to implement: the Protocols in storage/*.py.

mypy checks the assignments below signature by signature (argument and return types);
the isinstance checks catch, at run time, a method removed or renamed on either side."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
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
from storage.prompts import PromptStore
from storage.reports import ReportQueries
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
from storage.stores import Stores, open_stores
from tests.backends import NAMES, fresh_schema


async def test_every_sqlite_store_implements_its_interface(repo: SQLiteRepository) -> None:
    db = repo.db
    # Typed assignments: mypy fails here when a signature drifts from the Protocol's.
    repository: Repository = repo
    bookings: BookingStore = SQLiteBookingStore(db)
    digest: DigestQueries = SQLiteDigestQueries(db)
    erasure: ErasureStore = SQLiteErasureStore(db)
    lease: LeaseStore = SQLiteLeaseStore(db)
    lifecycle: LifecycleStore = SQLiteLifecycleStore(db)
    limits: LimitStore = SQLiteLimitStore(db)
    outbox: OutboxStore = SQLiteOutboxStore(db)
    subscriptions: SubscriptionStore = SQLiteSubscriptionStore(db)
    announcements: AnnouncementStore = SQLiteAnnouncementStore(db)
    meetings: MeetingStore = SQLiteMeetingStore(db)
    polls: PollStore = SQLitePollStore(db)
    prompts: PromptStore = SQLitePromptStore(db)
    reports: ReportQueries = SQLiteReportQueries(db)
    fsm: BaseStorage = SQLiteStorage(db)

    assert isinstance(repository, Repository)
    assert isinstance(bookings, BookingStore)
    assert isinstance(digest, DigestQueries)
    assert isinstance(erasure, ErasureStore)
    assert isinstance(lease, LeaseStore)
    assert isinstance(lifecycle, LifecycleStore)
    assert isinstance(limits, LimitStore)
    assert isinstance(outbox, OutboxStore)
    assert isinstance(subscriptions, SubscriptionStore)
    assert isinstance(announcements, AnnouncementStore)
    assert isinstance(meetings, MeetingStore)
    assert isinstance(polls, PollStore)
    assert isinstance(prompts, PromptStore)
    assert isinstance(reports, ReportQueries)
    assert isinstance(fsm, BaseStorage)


def test_every_postgres_store_implements_its_interface() -> None:
    """The same list on PostgreSQL."""
    db = cast(PostgresDatabase, object())  # the constructors only keep it
    repository: Repository = PostgresRepository(db)
    bookings: BookingStore = PostgresBookingStore(db)
    digest: DigestQueries = PostgresDigestQueries(db)
    erasure: ErasureStore = PostgresErasureStore(db)
    lease: LeaseStore = PostgresLeaseStore(db)
    lifecycle: LifecycleStore = PostgresLifecycleStore(db)
    limits: LimitStore = PostgresLimitStore(db)
    outbox: OutboxStore = PostgresOutboxStore(db)
    subscriptions: SubscriptionStore = PostgresSubscriptionStore(db)
    announcements: AnnouncementStore = PostgresAnnouncementStore(db)
    meetings: MeetingStore = PostgresMeetingStore(db)
    polls: PollStore = PostgresPollStore(db)
    prompts: PromptStore = PostgresPromptStore(db)
    reports: ReportQueries = PostgresReportQueries(db)
    fsm: BaseStorage = PostgresStorage(db)

    assert isinstance(repository, Repository)
    assert isinstance(bookings, BookingStore)
    assert isinstance(digest, DigestQueries)
    assert isinstance(erasure, ErasureStore)
    assert isinstance(lease, LeaseStore)
    assert isinstance(lifecycle, LifecycleStore)
    assert isinstance(limits, LimitStore)
    assert isinstance(outbox, OutboxStore)
    assert isinstance(subscriptions, SubscriptionStore)
    assert isinstance(announcements, AnnouncementStore)
    assert isinstance(meetings, MeetingStore)
    assert isinstance(polls, PollStore)
    assert isinstance(prompts, PromptStore)
    assert isinstance(reports, ReportQueries)
    assert isinstance(fsm, BaseStorage)


def test_an_object_missing_a_method_is_not_a_store() -> None:
    """The run-time check is not vacuous: a class lacking one method of the interface fails."""

    class Partial:
        async def latest_appeals(self, citizen_id: int, count: int) -> list[object]:
            return []

    assert not isinstance(Partial(), LimitStore)


@pytest.mark.parametrize("backend_name", NAMES)
async def test_the_database_url_opens_every_store_on_its_backend(
    backend_name: str, tmp_path: Path, postgres_missing: str | None
) -> None:
    if backend_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
        stores = await open_stores(url)
        await check_stores(stores, SQLiteDatabase, SQLiteRepository)
        return
    if postgres_missing:
        pytest.skip(postgres_missing)
    async with fresh_schema() as url:
        stores = await open_stores(url, locked_retry=2)
        await check_stores(stores, PostgresDatabase, PostgresRepository)


async def check_stores(stores: Stores, database: type, repository: type) -> None:
    try:
        assert isinstance(stores.database, database)
        assert isinstance(stores.repository, repository)
        for name, interface in INTERFACES.items():
            assert isinstance(getattr(stores, name), interface), name
            assert getattr(stores, name).db is stores.database, name  # one database for all
        await stores.repository.set_language(1, "kk")
        citizen = await stores.repository.get_citizen(1)
        assert citizen is not None and citizen.language == "kk"
    finally:
        await stores.database.close()


async def test_anything_else_is_refused_without_echoing_the_url() -> None:
    with pytest.raises(ValueError, match="must start with") as refused:
        await open_stores("mysql://root:secret@db/bot")
    assert "secret" not in str(refused.value)


INTERFACES: dict[str, type] = {
    "fsm": BaseStorage, "bookings": BookingStore, "digest": DigestQueries,
    "erasure": ErasureStore, "lease": LeaseStore, "lifecycle": LifecycleStore, "limits": LimitStore,
    "outbox": OutboxStore, "prompts": PromptStore, "reports": ReportQueries,
    "subscriptions": SubscriptionStore, "announcements": AnnouncementStore,
    "meetings": MeetingStore, "polls": PollStore,
}  # fmt: skip
