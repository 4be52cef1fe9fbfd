"""The outbox row behind a citizen's confirmation (bot.services.confirmations), without Telegram."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.outbox import Outbox
from bot.domain.catalog import Catalog
from bot.domain.deadlines import DeadlinePolicy
from bot.services.appeals import AppealService
from bot.services.confirmations import Confirmation, Confirmations
from bot.telegram.menu import MainMenu
from bot.views.confirmations import ConfirmationMessages
from i18n.core import PoI18n
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outbox import SQLiteOutboxStore
from storage.sqlite.repository import SQLiteRepository

T0 = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
GRACE = timedelta(seconds=30)
MESSAGES = ConfirmationMessages(MainMenu(booking=True))
REGISTERED = Confirmation(7, "appeal:2026-00001", "✅ Регистрационный номер: <b>2026-00001</b>")


@pytest.fixture(autouse=True)
def russian() -> Iterator[None]:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        yield


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    database = await SQLiteDatabase.open(tmp_path / "c.db")
    yield database
    await database.close()


@pytest.fixture
async def confirmations(db: SQLiteDatabase) -> Confirmations:
    store = SQLiteOutboxStore(db)
    service = Confirmations(Outbox(store, lambda: T0), store, GRACE, MESSAGES)
    async with db.transaction() as conn:  # as the appeal's own transaction does
        await service.store_in(conn, REGISTERED)
    return service


async def row(db: SQLiteDatabase) -> dict[str, Any]:
    [found] = await db.fetchall("SELECT * FROM outbox")
    return dict(found) | {"payload": json.loads(found["payload"])}


def due(found: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(found["not_before"])


async def test_the_row_waits_out_the_grace_with_the_whole_confirmation(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    found = await row(db)
    assert (found["chat_id"], found["method"]) == (7, "sendMessage")
    assert due(found) == T0 + GRACE
    assert found["payload"]["text"] == REGISTERED.text
    assert "keyboard" in found["payload"]["reply_markup"]  # the main menu rides along
    assert found["purpose"] == found["dedupe_key"] == "confirmation:appeal:2026-00001"


async def test_shown_with_the_menu_the_row_is_withdrawn(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    await confirmations.shown(REGISTERED)
    found = await row(db)
    assert found["dropped_at"] and found["sent_at"] is None


async def test_shown_without_the_menu_the_row_brings_only_the_menu_now(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    await confirmations.menu_only(REGISTERED)
    found = await row(db)
    assert due(found) == T0
    assert found["payload"]["text"] == "Вы вернулись в главное меню."
    assert "keyboard" in found["payload"]["reply_markup"]


async def test_not_shown_the_row_goes_now_as_it_is(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    await confirmations.not_shown(REGISTERED)
    found = await row(db)
    assert due(found) == T0 and found["payload"]["text"] == REGISTERED.text


async def test_a_row_sent_or_withdrawn_already_is_left_alone(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    await db.execute("UPDATE outbox SET sent_at = ?", (T0.isoformat(),))
    before = await row(db)
    await confirmations.menu_only(REGISTERED)
    await confirmations.not_shown(REGISTERED)
    await confirmations.shown(REGISTERED)
    assert await row(db) == before


async def test_a_second_store_keeps_one_row(
    confirmations: Confirmations, db: SQLiteDatabase
) -> None:
    async with db.transaction() as conn:
        await confirmations.store_in(conn, REGISTERED)
    assert len(await db.fetchall("SELECT id FROM outbox")) == 1


DRAFT = {
    "draft_key": "d1", "kind": "complaint", "category": "roads", "region": "350000000",
    "district": "354800000", "text": "Яма на дороге у школы номер 3",
    "contact_name": "Иванов Иван", "contact_phone": "+77012345678",
}  # fmt: skip


async def test_the_appeal_and_its_confirmation_are_stored_together_or_not_at_all(
    db: SQLiteDatabase, catalog: Catalog
) -> None:
    store = SQLiteOutboxStore(db)
    service = AppealService(
        SQLiteRepository(db),
        catalog,
        DeadlinePolicy(catalog, ZoneInfo("Asia/Almaty")),
        lambda: T0,
        confirmations=Confirmations(Outbox(store, lambda: T0), store, GRACE, MESSAGES),
    )

    def broken(reference: str, kind: str, due_at: datetime) -> str:
        raise RuntimeError("the text could not be made")

    with pytest.raises(RuntimeError):
        await service.file(7, "ru", DRAFT, broken)
    assert await db.fetchall("SELECT id FROM appeals") == []
    assert await db.fetchall("SELECT id FROM outbox") == []

    filed = await service.file(7, "ru", DRAFT, lambda ref, kind, due: f"№ {ref}, {kind}")
    [found] = await db.fetchall("SELECT payload FROM outbox")
    assert json.loads(found["payload"])["text"] == f"№ {filed.appeal.reference}, complaint"
    # A repeated confirm of the same draft returns the appeal and queues nothing more.
    again = await service.file(7, "ru", DRAFT, lambda ref, kind, due: "second")
    assert (again.created, again.appeal.id) == (False, filed.appeal.id)
    assert len(await db.fetchall("SELECT id FROM outbox")) == 1


async def test_the_sender_is_woken_once_the_confirmation_has_committed(
    db: SQLiteDatabase, catalog: Catalog
) -> None:
    store = SQLiteOutboxStore(db)
    outbox = Outbox(store, lambda: T0)
    service = AppealService(
        SQLiteRepository(db),
        catalog,
        DeadlinePolicy(catalog, ZoneInfo("Asia/Almaty")),
        lambda: T0,
        confirmations=Confirmations(outbox, store, GRACE, MESSAGES),
    )
    woken_inside: list[bool] = []

    def render(reference: str, kind: str, due_at: datetime) -> str:
        return f"№ {reference}"

    real_queue_in = outbox.queue_in

    async def queue_in(conn: Any, batches: Any, *, bulk: bool = False) -> list[int]:
        ids = await real_queue_in(conn, batches, bulk=bulk)
        woken_inside.append(outbox.wakeup.is_set())
        return ids

    outbox.queue_in = queue_in  # type: ignore[method-assign]
    await service.file(7, "ru", DRAFT, render)
    # A wake-up before the commit would have the sender read a table without the row yet.
    assert woken_inside == [False]
    assert outbox.wakeup.is_set()
