"""Each FSM storage keeps aiogram's BaseStorage contract (as aiogram's own storage tests
define it), reads a row once per update and never serves what another scope wrote."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import DataNotDictLikeError
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


# aiogram's own storage tests (tests/test_fsm/storage/test_storages.py), on our storages.
OTHER = StorageKey(bot_id=1, chat_id=43, user_id=43, thread_id=5)


async def test_state_is_set_and_cleared(fsm_storage: BaseStorage) -> None:
    assert await fsm_storage.get_state(KEY) is None
    await fsm_storage.set_state(KEY, "state")
    assert await fsm_storage.get_state(KEY) == "state"
    await fsm_storage.set_state(KEY, Form.files)
    assert await fsm_storage.get_state(KEY) == Form.files.state
    assert await fsm_storage.get_state(OTHER) is None
    await fsm_storage.set_state(KEY, None)
    assert await fsm_storage.get_state(KEY) is None


async def test_data_is_set_read_with_defaults_and_cleared(fsm_storage: BaseStorage) -> None:
    assert await fsm_storage.get_data(KEY) == {}
    assert await fsm_storage.get_value(KEY, "foo") is None
    assert await fsm_storage.get_value(KEY, "foo", "default") == "default"
    await fsm_storage.set_data(KEY, {"foo": "bar", "nested": {"list": [1, "ә"]}})
    assert await fsm_storage.get_data(KEY) == {"foo": "bar", "nested": {"list": [1, "ә"]}}
    assert await fsm_storage.get_value(KEY, "foo") == "bar"
    assert await fsm_storage.get_value(KEY, "missing", "default") == "default"
    assert await fsm_storage.get_data(OTHER) == {}
    await fsm_storage.set_data(KEY, {})
    assert await fsm_storage.get_data(KEY) == {}


async def test_data_is_updated_and_merged(fsm_storage: BaseStorage) -> None:
    assert await fsm_storage.update_data(KEY, {"foo": "bar"}) == {"foo": "bar"}
    assert await fsm_storage.update_data(KEY, {"baz": "spam"}) == {"foo": "bar", "baz": "spam"}
    assert await fsm_storage.update_data(KEY, {"foo": "eggs"}) == {"foo": "eggs", "baz": "spam"}
    assert await fsm_storage.get_data(KEY) == {"foo": "eggs", "baz": "spam"}


async def test_state_and_data_are_kept_apart(fsm_storage: BaseStorage) -> None:
    await fsm_storage.set_data(KEY, {"a": 1})
    await fsm_storage.set_state(KEY, "state")
    await fsm_storage.set_state(KEY, None)
    assert await fsm_storage.get_data(KEY) == {"a": 1}
    await fsm_storage.set_data(KEY, {})
    await fsm_storage.set_state(KEY, "state")
    assert await fsm_storage.get_state(KEY) == "state"


@pytest.mark.parametrize("data", [(), [("a", 1)], "text", 1, None])
async def test_data_that_is_not_a_mapping_is_refused(fsm_storage: BaseStorage, data: Any) -> None:
    # Until this, SQLite's storage took () and [("a", 1)] as {} and {"a": 1} without a word.
    with pytest.raises(DataNotDictLikeError):
        await fsm_storage.set_data(KEY, data)
    assert await fsm_storage.get_data(KEY) == {}
