"""A meeting's registration on each backend, against what happens around it: a meeting called
off registers nobody, and what is written with a registration (its reminder) commits with it
or not at all."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from storage.base import Repository
from storage.outbox import NewMessage, OutboxStore, Outgoing
from storage.outreach import MeetingStore, meeting_reminder_purpose
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


def reminder(meeting_id: int, citizen: int) -> Outgoing:
    purpose = meeting_reminder_purpose(meeting_id, citizen)
    message = NewMessage("sendMessage", {"text": "Ертең кездесу."}, f"{purpose}:k", purpose)
    return Outgoing(citizen, [message], NOW, NOW + timedelta(days=1))


async def test_a_cancellation_withdraws_the_meetings_reminders_and_only_them(
    repo: Repository,
) -> None:
    for citizen in (1, 2):
        await repo.set_language(citizen, "ru")
    held = [await meeting(repo, f"m{n}", 2) for n in range(11)]
    first, tenth = held[0], held[9]  # ids 1 and 10 on a fresh database
    assert str(tenth.id).startswith(str(first.id))  # 1 and 10, say: a prefix of the other
    store: MeetingStore = beside("meetings", repo)
    outbox: OutboxStore = beside("outbox", repo)
    assert await store.register(first.id, 1, [], NOW)
    # Citizen 2 withdrew, but their reminder is still queued (a crash before its withdrawal).
    await outbox.add_outgoing([reminder(first.id, 1), reminder(first.id, 2), reminder(tenth.id, 1)])
    assert await store.cancel(first.id, NOW, nobody) is not None
    pending = [r.purpose for r in await outbox.due(NOW + timedelta(days=2), 10)]
    assert pending == [meeting_reminder_purpose(tenth.id, 1)]
