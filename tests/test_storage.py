"""The SQLite repository: migrations, idempotent filing, references, forgetting, FSM."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from aiogram.fsm.storage.base import StorageKey

from bot.services.erasure import redact
from storage.models import Attachment, NewAppeal
from storage.sqlite.database import SQLiteDatabase, migration_files
from storage.sqlite.erasure import SQLiteErasureStore
from storage.sqlite.fsm import SQLiteStorage
from storage.sqlite.repository import SQLiteRepository

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def new_appeal(draft_key: str, citizen_id: int = 1, **changes: object) -> NewAppeal:
    fields: dict[str, object] = {
        "draft_key": draft_key,
        "citizen_id": citizen_id,
        "kind": "complaint",
        "category": "roads",
        "region": "350000000",
        "district": "354800000",
        "text": "Яма на дороге у школы номер 3",
        "contact_name": "Айгүл",
        "contact_phone": "+77012345678",
        "language": "kk",
        "created_at": NOW,
        "registered_on": date(2026, 11, 23),
        "due_at": NOW + timedelta(days=29),
        "attachments": [Attachment("photo", "p1")],
        "latitude": 49.8,
        "longitude": 73.1,
    }
    fields.update(changes)
    return NewAppeal(**fields)  # type: ignore[arg-type]


async def test_new_database_gets_every_migration(tmp_path: Path) -> None:
    db = await SQLiteDatabase.open(tmp_path / "a.db")
    assert await db.schema_version() == migration_files()[-1][0]
    journal = await db.fetchone("PRAGMA journal_mode")
    foreign_keys = await db.fetchone("PRAGMA foreign_keys")
    assert journal is not None and journal[0] == "wal"
    assert foreign_keys is not None and foreign_keys[0] == 1
    await db.close()


async def test_old_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = await SQLiteDatabase.open(path, migrate_to=1)
    assert await old.schema_version() == 1
    # Rows as the first release wrote them, in its own SQL.
    await old.execute("INSERT INTO citizens (id, language, created_at) VALUES (1, 'kk', 'x')")
    await old.execute(
        "INSERT INTO appeals (reference, draft_key, citizen_id, kind, category, region, "
        "district, text, language, status, created_at, registered_on, due_at) VALUES "
        "('2026-00001', 'd-old', 1, 'complaint', 'roads', '350000000', '354800000', 'Жол', "
        "'kk', 'registered', '2026-11-23T05:00:00+00:00', '2026-11-23', "
        "'2026-12-22T13:30:00+00:00')"
    )
    await old.close()

    upgraded = await SQLiteDatabase.open(path)
    assert await upgraded.schema_version() == migration_files()[-1][0]
    repo = SQLiteRepository(upgraded)
    appeal = await repo.appeal_by_draft("d-old")
    assert appeal is not None and appeal.reference == "2026-00001"
    await repo.mark_update(1, NOW)  # a table the upgrade added
    assert await repo.update_seen(1)
    await upgraded.close()


async def test_filing_the_same_draft_twice_stores_one_appeal(repo: SQLiteRepository) -> None:
    first, created = await repo.create_appeal(new_appeal("same"))
    again, created_again = await repo.create_appeal(new_appeal("same"))
    assert created and not created_again
    assert first.id == again.id
    assert await repo.count_citizen_appeals(1) == 1
    assert [a.file_id for a in first.attachments] == ["p1"]


async def test_references_are_unique_under_concurrency(repo: SQLiteRepository) -> None:
    results = await asyncio.gather(*(repo.create_appeal(new_appeal(f"k{i}")) for i in range(40)))
    references = [appeal.reference for appeal, _ in results]
    assert len(set(references)) == 40
    assert sorted(references)[0] == "2026-00001" and sorted(references)[-1] == "2026-00040"


async def test_references_restart_each_year(repo: SQLiteRepository) -> None:
    await repo.create_appeal(new_appeal("a"))
    next_year, _ = await repo.create_appeal(new_appeal("b", registered_on=date(2027, 1, 4)))
    assert next_year.reference == "2027-00001"


async def test_citizen_sees_own_appeals_newest_first(repo: SQLiteRepository) -> None:
    for i in range(3):
        await repo.create_appeal(new_appeal(f"mine{i}"))
    await repo.create_appeal(new_appeal("theirs", citizen_id=2))
    mine = await repo.citizen_appeals(1, limit=2, offset=0)
    assert [a.reference for a in mine] == ["2026-00003", "2026-00002"]
    assert await repo.count_citizen_appeals(1) == 3


async def test_forget_keeps_anonymous_statistics(repo: SQLiteRepository, tmp_path: Path) -> None:
    await repo.set_language(1, "kk")
    await repo.set_consent(1, NOW)
    appeal, _ = await repo.create_appeal(
        new_appeal("f", contact_address="aigul@mail.kz", contact_address_kind="email")
    )
    assert (appeal.contact_address, appeal.contact_address_kind) == ("aigul@mail.kz", "email")
    await repo.create_appeal(new_appeal("other", citizen_id=2))
    assert len(await SQLiteErasureStore(repo.db).erase(1, NOW, redact)) == 1
    assert await repo.get_citizen(1) is None
    kept = await repo.get_appeal(appeal.id)
    assert kept is not None
    personal = (
        kept.citizen_id, kept.text, kept.contact_name, kept.contact_phone, kept.contact_address,
        kept.contact_address_kind, kept.latitude,
    )  # fmt: skip
    assert personal == (None,) * 7
    assert (kept.kind, kept.district, kept.status) == ("complaint", "354800000", "registered")
    assert kept.attachments == []
    other = await repo.citizen_appeals(2, 10, 0)
    assert other[0].text is not None


async def test_fsm_state_survives_reopening_the_database(tmp_path: Path) -> None:
    key = StorageKey(bot_id=7, chat_id=42, user_id=42)
    db = await SQLiteDatabase.open(tmp_path / "fsm.db")
    storage = SQLiteStorage(db)
    await storage.set_state(key, "AppealForm:text")
    await storage.set_data(key, {"draft": {"kind": "complaint", "text": "Қазақша мәтін"}})
    await db.close()

    db = await SQLiteDatabase.open(tmp_path / "fsm.db")
    storage = SQLiteStorage(db)
    assert await storage.get_state(key) == "AppealForm:text"
    assert (await storage.get_data(key))["draft"]["text"] == "Қазақша мәтін"
    assert await storage.get_state(StorageKey(bot_id=7, chat_id=43, user_id=43)) is None
    await storage.set_state(key, None)
    assert await storage.get_state(key) is None
    await db.close()


async def test_timestamps_are_stored_in_utc(repo: SQLiteRepository, tmp_path: Path) -> None:
    await repo.create_appeal(new_appeal("utc"))
    conn = sqlite3.connect(tmp_path / "test.db")
    created_at, due_at = conn.execute("SELECT created_at, due_at FROM appeals").fetchone()
    conn.close()
    assert created_at.endswith("+00:00") and due_at.endswith("+00:00")


async def test_old_handled_update_ids_are_pruned(repo: SQLiteRepository) -> None:
    await repo.mark_update(1, NOW - timedelta(days=8))
    await repo.mark_update(2, NOW - timedelta(hours=1))
    assert await repo.prune_updates(timedelta(days=7), NOW) == 1
    assert not await repo.update_seen(1)
    assert await repo.update_seen(2)
