"""The repository on each backend (idempotent filing, references, history, handled updates,
FSM), and what is SQLite's own: its migrations, forgetting, its text timestamps."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.services.erasure import redact
from storage.base import Repository
from storage.models import Appeal, Attachment, NewAppeal, Status
from storage.outbox import NewMessage, Outgoing
from storage.sqlite.database import SQLiteDatabase, migration_files
from storage.sqlite.erasure import SQLiteErasureStore
from storage.sqlite.repository import SQLiteRepository
from tests.backends import Backend

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


@pytest.mark.every_backend
async def test_filing_the_same_draft_twice_stores_one_appeal(repo: Repository) -> None:
    first, created = await repo.create_appeal(new_appeal("same"))
    again, created_again = await repo.create_appeal(new_appeal("same"))
    assert created and not created_again
    assert first.id == again.id
    assert await repo.count_citizen_appeals(1) == 1
    assert [a.file_id for a in first.attachments] == ["p1"]


@pytest.mark.every_backend
async def test_references_are_unique_under_concurrency(repo: Repository) -> None:
    results = await asyncio.gather(*(repo.create_appeal(new_appeal(f"k{i}")) for i in range(40)))
    references = [appeal.reference for appeal, _ in results]
    assert len(set(references)) == 40
    assert sorted(references)[0] == "2026-00001" and sorted(references)[-1] == "2026-00040"


@pytest.mark.every_backend
async def test_references_restart_each_year(repo: Repository) -> None:
    await repo.create_appeal(new_appeal("a"))
    next_year, _ = await repo.create_appeal(new_appeal("b", registered_on=date(2027, 1, 4)))
    assert next_year.reference == "2027-00001"


@pytest.mark.every_backend
async def test_citizen_sees_own_appeals_newest_first(repo: Repository) -> None:
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


@pytest.mark.every_backend
async def test_fsm_state_survives_reopening_the_database(backend: Backend) -> None:
    key = StorageKey(bot_id=7, chat_id=42, user_id=42)
    db = await backend.open()
    storage = backend.fsm(db)
    await storage.set_state(key, "AppealForm:text")
    await storage.set_data(key, {"draft": {"kind": "complaint", "text": "Қазақша мәтін"}})
    await db.close()

    db = await backend.open()
    storage = backend.fsm(db)
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


@pytest.mark.every_backend
async def test_old_handled_update_ids_are_pruned(repo: Repository) -> None:
    await repo.mark_update(1, NOW - timedelta(days=8))
    await repo.mark_update(2, NOW - timedelta(hours=1))
    assert await repo.prune_updates(timedelta(days=7), NOW) == 1
    assert not await repo.update_seen(1)
    assert await repo.update_seen(2)


@pytest.mark.every_backend
async def test_the_same_draft_filed_at_once_is_one_appeal_and_one_number(repo: Repository) -> None:
    results = await asyncio.gather(*(repo.create_appeal(new_appeal("twice")) for _ in range(5)))
    assert [created for _, created in results].count(True) == 1
    assert {appeal.id for appeal, _ in results} == {results[0][0].id}
    # No number was drawn for the filings that found the appeal: the next one follows on.
    following, _ = await repo.create_appeal(new_appeal("next"))
    assert following.reference == "2026-00002"


@pytest.mark.every_backend
async def test_an_appeal_reads_back_as_filed(repo: Repository) -> None:
    filed, _ = await repo.create_appeal(new_appeal("full", attachments=[
        Attachment("photo", "p1"), Attachment("document", "d1", "plan.pdf")]))  # fmt: skip
    for found in (
        await repo.get_appeal(filed.id),
        await repo.appeal_by_draft("full"),
        await repo.appeal_by_reference(filed.reference),
    ):
        assert found == filed
    assert filed.created_at == NOW and filed.due_at == NOW + timedelta(days=29)
    assert filed.registered_on == date(2026, 11, 23)
    assert filed.attachments[1] == Attachment("document", "d1", "plan.pdf")
    assert (filed.latitude, filed.longitude) == (49.8, 73.1)
    assert await repo.get_appeal(filed.id + 100) is None
    assert await repo.unpublished_appeals(10) == [filed]
    await repo.set_officials_chat(filed.id, -100123)
    assert await repo.unpublished_appeals(10) == []


@pytest.mark.every_backend
async def test_citizens_language_consent_and_reachability(repo: Repository) -> None:
    assert await repo.get_citizen(5) is None
    await repo.set_language(5, "ru")
    await repo.set_consent(5, NOW)
    citizen = await repo.get_citizen(5)
    assert citizen is not None
    assert (citizen.language, citizen.consent_at, citizen.unreachable) == ("ru", NOW, False)
    await repo.set_language(5, "kk")
    await repo.set_reachable(5)
    assert (await repo.get_citizen(5)) == replace(citizen, language="kk")
    # Filing keeps the contact on the citizen too.
    await repo.create_appeal(new_appeal("c", citizen_id=5))
    again = await repo.get_citizen(5)
    assert again is not None and (again.full_name, again.phone) == ("Айгүл", "+77012345678")


@pytest.mark.every_backend
async def test_a_transition_happens_only_from_an_allowed_status(repo: Repository) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("t"))
    later = NOW + timedelta(hours=1)
    seen: list[Status] = []

    async def then(conn: object, changed: Appeal) -> None:
        seen.append(changed.status)

    taking = [
        repo.transition(appeal.id, frozenset({Status.REGISTERED}), Status.IN_PROGRESS,
                        f"official:{n}", later, actor_name=f"Official {n}", then=then,
                        taken_by=n, taken_by_name=f"Official {n}")
        for n in (7, 8)
    ]  # fmt: skip
    results = await asyncio.gather(*taking)
    taken = [r for r in results if r is not None]
    assert len(taken) == 1 and seen == [Status.IN_PROGRESS]
    assert taken[0].taken_by_name == f"Official {taken[0].taken_by}"
    answered = await repo.transition(
        appeal.id, frozenset({Status.IN_PROGRESS}), Status.ANSWERED, "official:7", later,
        answer_text="Done", answered_at=later,
    )  # fmt: skip
    assert answered is not None and answered.answered_at == later
    assert await repo.transition(
        appeal.id, frozenset({Status.REGISTERED}), Status.CLOSED, "official:7", later
    ) is None  # fmt: skip
    assert await repo.transition(
        appeal.id + 1, frozenset({Status.REGISTERED}), Status.CLOSED, "official:7", later
    ) is None  # fmt: skip
    history = await repo.status_history(appeal.id)
    assert [(s, at) for s, _, at in history] == [
        (Status.REGISTERED, NOW), (Status.IN_PROGRESS, later), (Status.ANSWERED, later)
    ]  # fmt: skip
    await repo.update_fields(appeal.id, rating=5, solved="yes")
    rated = await repo.get_appeal(appeal.id)
    assert rated is not None and (rated.rating, rated.solved) == (5, "yes")


@pytest.mark.every_backend
async def test_contact_views_in_the_order_they_happened(repo: Repository) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("v"))
    for minutes, official in ((1, 7), (2, 8), (3, 7)):
        await repo.record_contact_view(appeal.id, official, NOW + timedelta(minutes=minutes))
    views = await repo.contact_views(appeal.id)
    assert views == [(o, NOW + timedelta(minutes=m)) for m, o in ((1, 7), (2, 8), (3, 7))]


@pytest.mark.every_backend
async def test_an_update_is_seen_once_marked_and_its_sender_read_with_it(repo: Repository) -> None:
    await repo.set_language(5, "kk")
    seen, citizen, _ = await repo.open_update(100, 5)
    assert not seen and citizen is not None and citizen.language == "kk"
    assert await repo.open_update(100, None) == (False, None, None)
    assert await repo.open_update(100, 6) == (False, None, None)
    await repo.mark_update(100, NOW)
    await repo.mark_update(100, NOW)  # a redelivery marks again: no error
    assert await repo.open_update(100, 5) == (True, None, None)


@pytest.mark.every_backend
async def test_what_a_filing_causes_commits_with_it_or_not_at_all(
    backend: Backend, repo: Repository
) -> None:
    """`also` writes in the appeal's own transaction (the citizen's confirmation in the
    outbox): a failure there leaves neither the appeal nor its number nor the message."""
    outbox = backend.outbox(repo.db)  # type: ignore[attr-defined]

    async def confirm(conn: Any, reference: str) -> None:
        message = NewMessage("sendMessage", {"text": f"№ {reference}"}, f"ack:{reference}")
        await outbox.write_in(conn, [Outgoing(1, [message], NOW)])

    async def confirm_then_fail(conn: Any, reference: str) -> None:
        await confirm(conn, reference)
        raise RuntimeError("the process died here")

    with pytest.raises(RuntimeError):
        await repo.create_appeal(new_appeal("a"), also=confirm_then_fail)
    assert await repo.appeal_by_draft("a") is None
    assert await outbox.pending_count() == 0
    appeal, _ = await repo.create_appeal(new_appeal("a"), also=confirm)
    assert appeal.reference == "2026-00001"
    [row] = await outbox.due(NOW, 10)
    assert row.payload == {"text": "№ 2026-00001"}
