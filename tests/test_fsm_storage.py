"""Each FSM storage (SQLite, PostgreSQL) reads a row once per update and never serves what
another scope wrote; aiogram's BaseStorage contract is tests/test_fsm_contract.py's."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from storage.fsm import update_scope


class Form(StatesGroup):
    text = State()
    files = State()


KEY = StorageKey(bot_id=1, chat_id=42, user_id=42)
pytestmark = pytest.mark.every_backend


class Counted:
    """A storage whose database counts the rows it is asked to read."""

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self.reads = 0
        db = storage.db  # type: ignore[attr-defined]
        fetchone = db.fetchone

        async def counting(*args: Any) -> Any:
            self.reads += 1
            return await fetchone(*args)

        db.fetchone = counting


@pytest.fixture
def storage(fsm_storage: BaseStorage) -> Counted:
    return Counted(fsm_storage)


def reads(storage: Counted) -> int:
    return storage.reads


async def test_one_read_per_update(storage: Counted) -> None:
    await storage.storage.set_state(KEY, Form.text)
    await storage.storage.set_data(KEY, {"files": ["a"]})
    before = reads(storage)
    with update_scope():
        assert await storage.storage.get_state(KEY) == Form.text.state
        assert await storage.storage.get_data(KEY) == {"files": ["a"]}
        await storage.storage.update_data(KEY, {"text": "x"})
        assert await storage.storage.get_data(KEY) == {"files": ["a"], "text": "x"}
        await storage.storage.set_state(KEY, Form.files)
        assert await storage.storage.get_state(KEY) == Form.files.state
        await storage.storage.set_state(KEY, None)
        assert await storage.storage.get_state(KEY) is None
    assert reads(storage) == before + 1
    # What the scope wrote is in the database, not only in the cache.
    assert await storage.storage.get_state(KEY) is None
    assert await storage.storage.get_data(KEY) == {"files": ["a"], "text": "x"}


async def test_a_caller_mutating_the_data_does_not_change_the_cache(
    storage: Counted,
) -> None:
    await storage.storage.set_data(KEY, {"files": ["a"]})
    with update_scope():
        data = await storage.storage.get_data(KEY)
        data["files"].append("b")  # changed, never saved
        assert await storage.storage.get_data(KEY) == {"files": ["a"]}


async def test_outside_a_scope_every_read_goes_to_the_database(storage: Counted) -> None:
    with update_scope():
        assert await storage.storage.get_state(KEY) is None  # cached as empty in this scope only
    # Someone else (another update, /forget) writes between two updates.
    await storage.storage.set_state(KEY, Form.text)
    before = reads(storage)
    assert await storage.storage.get_state(KEY) == Form.text.state
    assert await storage.storage.get_state(KEY) == Form.text.state
    assert reads(storage) == before + 2
    with update_scope():
        assert await storage.storage.get_state(KEY) == Form.text.state


@pytest.mark.sqlite_only  # rows an older version wrote: on SQLite, the only backend it had
async def test_rows_written_before_key_parts_were_escaped_are_still_read(
    storage: Counted,
) -> None:
    """Escaping ':' in the business connection id and destiny left every key without one
    as it was, so a dialog saved by an older version continues after the upgrade."""
    fsm = storage.storage
    db = fsm.db  # type: ignore[attr-defined]
    await db.execute(
        "INSERT INTO fsm (key, user_id, state, data, updated_at) VALUES (?, ?, ?, ?, ?)",
        ("1:42:42:::default", 42, "AppealForm:text", '{"draft":{}}', "2026-11-01T00:00:00+00:00"),
    )
    assert await fsm.get_state(KEY) == "AppealForm:text"
    assert await fsm.get_data(KEY) == {"draft": {}}
    business = StorageKey(bot_id=1, chat_id=42, user_id=42, business_connection_id="bc")
    await db.execute(
        "INSERT INTO fsm (key, user_id, state, updated_at) VALUES (?, ?, ?, ?)",
        ("1:42:42::bc:default", 42, "BookingForm:day", "2026-11-01T00:00:00+00:00"),
    )
    assert await fsm.get_state(business) == "BookingForm:day"
