"""Every FSM storage keeps aiogram's `BaseStorage` contract, as aiogram's own storage tests
(tests/test_fsm/storage/test_storages.py) define it: state set and cleared; data set, read
with defaults, updated and merged; `DataNotDictLikeError` for data that is not a dict.

The same checks run on every storage in `STORAGES`. aiogram's `MemoryStorage` is the
reference: the checks pass on it, so they test the contract and not our implementation's
habits. Each backend has a factory in `STORAGES`; PostgreSQL's calls `pytest.skip` with the
reason when its server is absent (a failure under REQUIRE_ALL_TESTS).

The checks use JSON values only: a storage that keeps dialog state outside the process
serialises it (aiogram's Redis and Mongo storages do too), so a tuple comes back a list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypedDict

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.fsm.storage.memory import MemoryStorage

from storage.fsm import defer_writes, deferring, scope_rows, update_scope
from storage.postgres.database import PostgresDatabase
from storage.postgres.fsm import PostgresStorage
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.fsm import SQLiteStorage
from tests.backends import fresh_schema, postgres_missing

StorageFactory = Callable[[Path], AbstractAsyncContextManager[BaseStorage]]


@asynccontextmanager
async def memory(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    yield MemoryStorage()


@asynccontextmanager
async def sqlite(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    db = await SQLiteDatabase.open(tmp_path / "fsm.db")
    try:
        yield SQLiteStorage(db)
    finally:
        await db.close()


@asynccontextmanager
async def sqlite_in_one_update(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    """As the bot uses it: the dispatcher opens `update_scope()` around each update, so the
    storage answers from that update's row cache after the first read. The whole check runs
    as one update: every read after a write is served by the cache."""
    async with sqlite(tmp_path) as storage:
        with update_scope():
            yield storage


@asynccontextmanager
async def sqlite_in_a_handler(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    """As a handler sees it: inside the update, its writes deferred to the update's end
    (`storage.fsm.defer_writes`, committed with the update's mark), read back from the cache."""
    async with sqlite(tmp_path) as storage:
        with update_scope():
            defer_writes()
            yield storage


@asynccontextmanager
async def postgres(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    missing = postgres_missing()
    if missing:
        pytest.skip(missing)
    async with fresh_schema() as url:
        db = await PostgresDatabase.open(url, max_size=2)
        try:
            yield PostgresStorage(db)
        finally:
            await db.close()


@asynccontextmanager
async def postgres_in_one_update(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    async with postgres(tmp_path) as storage:
        with update_scope():
            yield storage


@asynccontextmanager
async def postgres_in_a_handler(tmp_path: Path) -> AsyncIterator[BaseStorage]:
    async with postgres(tmp_path) as storage:
        with update_scope():
            defer_writes()
            yield storage


# The storages under the contract; a new backend adds its factory here.
STORAGES: dict[str, StorageFactory] = {
    "memory-reference": memory,
    "sqlite": sqlite,
    "sqlite-in-one-update": sqlite_in_one_update,
    "postgres": postgres,
    "postgres-in-one-update": postgres_in_one_update,
    "sqlite-in-a-handler": sqlite_in_a_handler,
    "postgres-in-a-handler": postgres_in_a_handler,
}


@pytest.fixture(params=list(STORAGES))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BaseStorage]:
    async with STORAGES[request.param](tmp_path) as opened:
        yield opened


KEY = StorageKey(bot_id=42, chat_id=-42, user_id=42)


class Form(StatesGroup):
    text = State()


async def test_state_is_set_and_cleared(storage: BaseStorage) -> None:
    assert await storage.get_state(key=KEY) is None

    await storage.set_state(key=KEY, state="state")
    assert await storage.get_state(key=KEY) == "state"
    await storage.set_state(key=KEY, state=None)
    assert await storage.get_state(key=KEY) is None

    await storage.set_state(key=KEY, state=Form.text)  # a State is stored by its name
    assert await storage.get_state(key=KEY) == "Form:text"


async def test_data_is_set_and_read_with_defaults(storage: BaseStorage) -> None:
    assert await storage.get_data(key=KEY) == {}
    assert await storage.get_value(storage_key=KEY, dict_key="foo") is None
    assert await storage.get_value(storage_key=KEY, dict_key="foo", default="baz") == "baz"

    await storage.set_data(key=KEY, data={"foo": "bar"})
    assert await storage.get_data(key=KEY) == {"foo": "bar"}
    assert await storage.get_value(storage_key=KEY, dict_key="foo") == "bar"
    assert await storage.get_value(storage_key=KEY, dict_key="foo", default="baz") == "bar"

    await storage.set_data(key=KEY, data={})
    assert await storage.get_data(key=KEY) == {}
    assert await storage.get_value(storage_key=KEY, dict_key="foo") is None
    assert await storage.get_value(storage_key=KEY, dict_key="foo", default="baz") == "baz"


async def test_a_stored_none_is_returned_not_the_default(storage: BaseStorage) -> None:
    await storage.set_data(key=KEY, data={"foo": None})
    assert await storage.get_value(storage_key=KEY, dict_key="foo", default="baz") is None


async def test_a_typed_dict_is_data(storage: BaseStorage) -> None:
    class Draft(TypedDict, total=False):
        foo: str
        bar: str

    await storage.set_data(key=KEY, data=Draft(foo="bar", bar="baz"))
    assert await storage.get_data(key=KEY) == {"foo": "bar", "bar": "baz"}
    assert await storage.get_value(storage_key=KEY, dict_key="foo") == "bar"
    assert await storage.get_value(storage_key=KEY, dict_key="foo", default="baz") == "bar"


@pytest.mark.parametrize(
    "data",
    [(), [], [("foo", "bar")], "foo", None, MappingProxyType({"foo": "bar"})],
    ids=["empty-tuple", "empty-list", "pairs", "str", "none", "read-only-mapping"],
)
async def test_data_that_is_not_a_dict_is_refused_and_nothing_changes(
    storage: BaseStorage, data: Any
) -> None:
    await storage.set_data(key=KEY, data={"kept": 1})
    with pytest.raises(DataNotDictLikeError):
        await storage.set_data(key=KEY, data=data)
    assert await storage.get_data(key=KEY) == {"kept": 1}


async def test_update_data_merges(storage: BaseStorage) -> None:
    assert await storage.get_data(key=KEY) == {}
    assert await storage.update_data(key=KEY, data={"foo": "bar"}) == {"foo": "bar"}
    assert await storage.update_data(key=KEY, data={}) == {"foo": "bar"}
    assert await storage.get_data(key=KEY) == {"foo": "bar"}
    assert await storage.update_data(key=KEY, data={"baz": "spam"}) == {
        "foo": "bar",
        "baz": "spam",
    }
    assert await storage.get_data(key=KEY) == {"foo": "bar", "baz": "spam"}
    assert await storage.update_data(key=KEY, data={"baz": "test"}) == {
        "foo": "bar",
        "baz": "test",
    }
    assert await storage.get_data(key=KEY) == {"foo": "bar", "baz": "test"}


async def test_state_and_data_are_independent(storage: BaseStorage) -> None:
    await storage.set_state(key=KEY, state="state")
    await storage.set_data(key=KEY, data={"foo": "bar"})
    await storage.set_state(key=KEY, state=None)
    assert await storage.get_data(key=KEY) == {"foo": "bar"}
    await storage.set_state(key=KEY, state="other")
    await storage.set_data(key=KEY, data={})
    assert await storage.get_state(key=KEY) == "other"


async def test_what_a_caller_holds_is_not_the_stored_data(storage: BaseStorage) -> None:
    """Changing a dict given to or returned by the storage changes nothing stored: a handler
    that edits the draft and then fails leaves the saved step as it was."""
    given = {"foo": "bar", "files": ["a"]}
    await storage.set_data(key=KEY, data=given)
    given["foo"] = "changed"

    read = await storage.get_data(key=KEY)
    read["foo"] = "changed"
    read["new"] = 1

    files = await storage.get_value(storage_key=KEY, dict_key="files")
    assert isinstance(files, list)
    files.append("b")

    merged = await storage.update_data(key=KEY, data={"baz": "spam"})
    merged["baz"] = "changed"

    assert await storage.get_data(key=KEY) == {"foo": "bar", "files": ["a"], "baz": "spam"}


async def test_every_part_of_the_key_keeps_its_own_dialog(storage: BaseStorage) -> None:
    """A citizen's dialog is not seen from another chat, user, bot, forum topic, business
    connection or destiny (aiogram's scenes keep their own)."""
    others = [
        StorageKey(bot_id=43, chat_id=-42, user_id=42),
        StorageKey(bot_id=42, chat_id=-43, user_id=42),
        StorageKey(bot_id=42, chat_id=-42, user_id=43),
        StorageKey(bot_id=42, chat_id=-42, user_id=42, thread_id=7),
        StorageKey(bot_id=42, chat_id=-42, user_id=42, business_connection_id="bc"),
        StorageKey(bot_id=42, chat_id=-42, user_id=42, destiny="scene"),
    ]
    await storage.set_state(key=KEY, state="mine")
    await storage.set_data(key=KEY, data={"mine": True})
    for other in others:
        assert await storage.get_state(key=other) is None
        assert await storage.get_data(key=other) == {}
        await storage.set_state(key=other, state="theirs")
        await storage.set_data(key=other, data={"theirs": True})
    assert await storage.get_state(key=KEY) == "mine"
    assert await storage.get_data(key=KEY) == {"mine": True}
    for other in others:
        assert await storage.get_state(key=other) == "theirs"


async def test_keys_that_differ_only_in_where_a_separator_falls_are_two_dialogs(
    storage: BaseStorage,
) -> None:
    """A business connection id is Telegram's opaque string and a destiny is any name: two
    keys whose parts, joined with a separator, spell the same text are still two dialogs."""
    first = StorageKey(bot_id=42, chat_id=-42, user_id=42, business_connection_id="x:scene")
    second = StorageKey(
        bot_id=42, chat_id=-42, user_id=42, business_connection_id="x", destiny="scene:default"
    )
    await storage.set_state(key=first, state="first")
    assert await storage.get_state(key=second) is None
    await storage.set_data(key=second, data={"second": True})
    assert await storage.get_data(key=first) == {}


async def test_the_one_update_variant_reads_through_the_cache(
    storage: BaseStorage, request: pytest.FixtureRequest
) -> None:
    """The scope opened by the factory reaches the checks (pytest-asyncio runs an async
    fixture and its test in one context), so that variant does test the cache."""
    name = request.node.callspec.params["storage"]
    in_one_update = name.endswith(("-in-one-update", "-in-a-handler"))
    assert (scope_rows() is not None) == in_one_update
    assert deferring() == name.endswith("-in-a-handler")
