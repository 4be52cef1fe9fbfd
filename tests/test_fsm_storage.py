"""Each FSM storage (SQLite, PostgreSQL) reads a row once per update and never serves what
another scope wrote; a handler's writes are committed with the update's mark, in one
transaction, or not at all. aiogram's BaseStorage contract is tests/test_fsm_contract.py's."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, StorageKey

from storage.base import Repository
from storage.fsm import defer_writes, drop_writes, take_writes, update_scope
from tests.backends import Backend


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

        async def counting(*args: Any, **kwargs: Any) -> Any:
            self.reads += 1
            return await fetchone(*args, **kwargs)

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


# ------------------------------------------------- a handler's writes and the update's mark
NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


async def in_database(fsm: BaseStorage) -> tuple[str | None, dict[str, Any]]:
    """The row as the database has it: read from a context of its own, outside the update's
    scope and its cache."""

    async def read() -> tuple[str | None, dict[str, Any]]:
        return await fsm.get_state(KEY), await fsm.get_data(KEY)

    return await asyncio.create_task(read(), context=contextvars.Context())


async def rows(repo: Repository) -> int:
    found = await repo.db.fetchone("SELECT COUNT(*) AS n FROM fsm")  # type: ignore[attr-defined]
    return int(found["n"])


async def test_a_handlers_writes_commit_with_the_updates_mark_and_not_before(
    repo: Repository, backend: Backend
) -> None:
    fsm = backend.fsm(repo.db)  # type: ignore[attr-defined]
    await fsm.set_state(KEY, Form.text)
    with update_scope():
        assert await fsm.get_state(KEY) == Form.text.state
        defer_writes()
        await fsm.update_data(KEY, {"text": "x"})
        await fsm.set_state(KEY, Form.files)
        # The update reads what it wrote; the database still has the step it began in, so
        # a crash now leaves the dialog where it was.
        assert await fsm.get_state(KEY) == Form.files.state
        assert await fsm.get_data(KEY) == {"text": "x"}
        assert await in_database(fsm) == (Form.text.state, {})
        assert not await repo.update_seen(7)
        writes = take_writes()
        await repo.mark_update(7, NOW, writes)
    assert await in_database(fsm) == (Form.files.state, {"text": "x"})
    assert await repo.update_seen(7)


async def test_a_failed_handler_leaves_the_dialog_as_the_update_found_it(
    repo: Repository, backend: Backend
) -> None:
    fsm = backend.fsm(repo.db)  # type: ignore[attr-defined]
    await fsm.set_state(KEY, Form.text)
    await fsm.set_data(KEY, {"text": "old"})
    with update_scope():
        assert await fsm.get_state(KEY) == Form.text.state
        defer_writes()
        await fsm.set_data(KEY, {"text": "new"})
        await fsm.set_state(KEY, Form.files)
        drop_writes()
        # What the error handler reads is the database's again.
        assert await fsm.get_state(KEY) == Form.text.state
        assert await fsm.get_data(KEY) == {"text": "old"}
        assert take_writes() == []
    assert await in_database(fsm) == (Form.text.state, {"text": "old"})


async def test_the_rows_and_the_mark_commit_together_or_not_at_all(
    repo: Repository, backend: Backend
) -> None:
    fsm = backend.fsm(repo.db)  # type: ignore[attr-defined]
    await fsm.set_state(KEY, Form.text)
    with update_scope():
        await fsm.get_state(KEY)
        defer_writes()
        await fsm.set_state(KEY, Form.files)
        writes = take_writes()
        # An update id the processed_updates column cannot hold: the mark fails after
        # (on SQLite) the row was written in the same transaction.
        with pytest.raises((OverflowError, ValueError, asyncpg.PostgresError)):
            await repo.mark_update(2**63, NOW, writes)
    assert await in_database(fsm) == (Form.text.state, {})


async def test_a_cleared_dialog_leaves_no_row(repo: Repository, backend: Backend) -> None:
    """/forget clears the dialog and erases the citizen's rows in one update: the clear,
    committed after the erasure, must not write a row with the citizen's id back."""
    fsm = backend.fsm(repo.db)  # type: ignore[attr-defined]
    await fsm.set_state(KEY, Form.text)
    await fsm.set_data(KEY, {"text": "x"})
    with update_scope():
        await fsm.get_state(KEY)
        defer_writes()
        await FSMContext(fsm, KEY).clear()
        assert await fsm.get_state(KEY) is None
        await repo.mark_update(8, NOW, take_writes())
    assert await rows(repo) == 0
    assert await in_database(fsm) == (None, {})


async def test_writes_after_the_handler_go_straight_to_the_database(
    repo: Repository, backend: Backend
) -> None:
    """An error handler's write, or a task the update started, is not left waiting for a
    commit that already happened."""
    fsm = backend.fsm(repo.db)  # type: ignore[attr-defined]
    with update_scope():
        defer_writes()
        await repo.mark_update(9, NOW, take_writes())
        await fsm.set_state(KEY, Form.files)
        assert await in_database(fsm) == (Form.files.state, {})


async def test_the_first_read_of_an_update_opens_it_with_the_same_answers(
    backend: Backend, repo: Repository
) -> None:
    """The update's FSM read may also read what open_update asks (one trip on SQLite):
    open_update then answers exactly as it would have on its own, for that update and user
    only, and only once; a later update of the scope-less kind reads the database."""
    storage = backend.fsm(repo.db)  # type: ignore[attr-defined]
    user = KEY.user_id
    await repo.set_language(user, "kk")
    await storage.set_state(KEY, Form.text)
    with update_scope(100):
        assert await storage.get_state(KEY) == Form.text.state
        seen, citizen, _ = await repo.open_update(100, user)
    assert not seen and citizen is not None and citizen.language == "kk"
    await repo.mark_update(100, datetime.now(UTC))
    with update_scope(100):  # Telegram redelivers it
        assert await storage.get_state(KEY) == Form.text.state
        assert await repo.open_update(100, user) == (True, None, None)
    with update_scope(101):  # another user's update reads its own answers
        assert await storage.get_state(KEY) == Form.text.state
        assert await repo.open_update(101, user + 1) == (False, None, None)
    with update_scope(102):  # the citizen changed between two updates
        assert await storage.get_state(KEY) == Form.text.state
        await repo.set_language(user, "ru")
        seen, citizen, _ = await repo.open_update(102, user)
        assert not seen and citizen is not None
        # Read with the row (one trip) or after: both happen under the chat's lock in the
        # bot, with nothing of this chat in between; here the write came in between.
        assert citizen.language in ("kk", "ru")
        # Taken once: asked again, it reads the database.
        assert (await repo.open_update(102, user))[1].language == "ru"  # type: ignore[union-attr]


@pytest.mark.sqlite_only
async def test_on_sqlite_the_update_is_opened_in_its_first_trip(
    backend: Backend, repo: Repository
) -> None:
    db = repo.db  # type: ignore[attr-defined]
    storage = backend.fsm(db)
    await repo.set_language(KEY.user_id, "kk")
    trips = 0
    run = db.run

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await run(*args, **kwargs)

    db.run = counting
    with update_scope(100):
        assert await storage.get_state(KEY) is None
        seen, citizen, _ = await repo.open_update(100, KEY.user_id)
    assert (seen, citizen is not None, trips) == (False, True, 1)
