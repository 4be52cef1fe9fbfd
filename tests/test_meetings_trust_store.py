"""A meeting's registration on each backend, against what happens around it: a meeting called
off registers nobody, and what is written with a registration (its reminder) commits with it
or not at all."""

from __future__ import annotations

from typing import Any

import pytest

from storage.base import Repository
from storage.outreach import MeetingStore
from tests.backends import beside
from tests.test_meetings_store import meeting, nobody
from tests.test_storage import NOW

pytestmark = pytest.mark.every_backend


async def test_a_meeting_called_off_registers_nobody(repo: Repository) -> None:
    await repo.set_language(1, "ru")
    held = await meeting(repo, "m1", 2)
    store: MeetingStore = beside("meetings", repo)
    assert await store.cancel(held.id, NOW, nobody) is not None
    written: list[Any] = []

    async def then(conn: Any) -> None:
        written.append(conn)

    # A press read the meeting as ahead just before it was called off: nothing is written.
    assert not await store.register(held.id, 1, [], NOW, then)
    assert written == [] and await store.attendance(held.id, 1) is None
    assert not await store.register(10_000, 1, [], NOW, then)  # no such meeting


async def test_what_is_written_with_a_registration_commits_with_it(repo: Repository) -> None:
    await repo.set_language(1, "ru")
    held = await meeting(repo, "m1", 2)
    store: MeetingStore = beside("meetings", repo)

    async def fails(conn: Any) -> None:
        raise RuntimeError("the reminder could not be written")

    with pytest.raises(RuntimeError):
        await store.register(held.id, 1, [], NOW, fails)
    assert await store.attendance(held.id, 1) is None  # rolled back with it
    calls: list[Any] = []

    async def then(conn: Any) -> None:
        calls.append(conn)

    assert await store.register(held.id, 1, ["wheelchair"], NOW, then)
    assert len(calls) == 1 and await store.attendance(held.id, 1) is not None
    assert not await store.register(held.id, 1, [], NOW, then)  # a double press: not again
    assert len(calls) == 1
