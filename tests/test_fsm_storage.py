"""The FSM storage reads a row once per update and never serves what another scope wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from storage.fsm import update_scope
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.fsm import SQLiteStorage


class Form(StatesGroup):
    text = State()
    files = State()


KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)


class CountingDatabase(SQLiteDatabase):
    reads = 0

    async def fetchone(self, sql: str, params: object = ()) -> object:  # type: ignore[override]
        self.reads += 1
        return await super().fetchone(sql, params)  # type: ignore[arg-type]


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    opened = await SQLiteDatabase.open(tmp_path / "fsm.db")
    db = CountingDatabase(opened.conn)
    yield SQLiteStorage(db)
    await db.close()


def reads(storage: SQLiteStorage) -> int:
    assert isinstance(storage.db, CountingDatabase)
    return storage.db.reads


async def test_one_read_per_update(storage: SQLiteStorage) -> None:
    await storage.set_state(KEY, Form.text)
    await storage.set_data(KEY, {"files": ["a"]})
    before = reads(storage)
    with update_scope():
        assert await storage.get_state(KEY) == Form.text.state
        assert await storage.get_data(KEY) == {"files": ["a"]}
        await storage.update_data(KEY, {"text": "x"})
        assert await storage.get_data(KEY) == {"files": ["a"], "text": "x"}
        await storage.set_state(KEY, Form.files)
        assert await storage.get_state(KEY) == Form.files.state
        await storage.set_state(KEY, None)
        assert await storage.get_state(KEY) is None
    assert reads(storage) == before + 1
    # What the scope wrote is in the database, not only in the cache.
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {"files": ["a"], "text": "x"}


async def test_a_caller_mutating_the_data_does_not_change_the_cache(
    storage: SQLiteStorage,
) -> None:
    await storage.set_data(KEY, {"files": ["a"]})
    with update_scope():
        data = await storage.get_data(KEY)
        data["files"].append("b")  # changed, never saved
        assert await storage.get_data(KEY) == {"files": ["a"]}


async def test_outside_a_scope_every_read_goes_to_the_database(storage: SQLiteStorage) -> None:
    with update_scope():
        assert await storage.get_state(KEY) is None  # cached as empty in this scope only
    # Someone else (another update, /forget) writes between two updates.
    await storage.set_state(KEY, Form.text)
    before = reads(storage)
    assert await storage.get_state(KEY) == Form.text.state
    assert await storage.get_state(KEY) == Form.text.state
    assert reads(storage) == before + 2
    with update_scope():
        assert await storage.get_state(KEY) == Form.text.state


async def test_rows_written_before_key_parts_were_escaped_are_still_read(
    storage: SQLiteStorage,
) -> None:
    """Escaping ':' in the business connection id and destiny left every key without one
    as it was, so a dialog saved by an older version continues after the upgrade."""
    await storage.db.execute(
        "INSERT INTO fsm (key, user_id, state, data, updated_at) VALUES (?, ?, ?, ?, ?)",
        ("1:42:42:::default", 42, "AppealForm:text", '{"draft":{}}', "2026-11-01T00:00:00+00:00"),
    )
    assert await storage.get_state(KEY) == "AppealForm:text"
    assert await storage.get_data(KEY) == {"draft": {}}
    business = StorageKey(bot_id=1, chat_id=42, user_id=42, business_connection_id="bc")
    await storage.db.execute(
        "INSERT INTO fsm (key, user_id, state, updated_at) VALUES (?, ?, ?, ?)",
        ("1:42:42::bc:default", 42, "BookingForm:day", "2026-11-01T00:00:00+00:00"),
    )
    assert await storage.get_state(business) == "BookingForm:day"
