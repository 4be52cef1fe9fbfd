"""Two people changing the same appeal at the same instant, on each backend: the check of what
they saw and the write are one statement (or one locked transaction), so one wins and what the
change causes (the citizen's notice, the officials' note in the outbox) is written once, with
the change."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from bot.domain.catalog import Catalog
from bot.services.officials import Official
from storage.base import Repository
from storage.models import Appeal, Outcome, Status
from tests.backends import beside
from tests.conftest import FrozenClock
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal

pytestmark = pytest.mark.every_backend


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def read_together(repo: Repository, readers: int = 2) -> None:
    """Both presses read the appeal before either writes: what two instances (or two
    handlers on one loop) do when the clicks arrive at the same instant."""
    read = repo.get_appeal
    arrived: list[object] = []
    all_read = asyncio.Event()

    async def get_appeal(appeal_id: int) -> Appeal | None:
        appeal = await read(appeal_id)
        arrived.append(appeal)
        if len(arrived) >= readers:
            all_read.set()
        await all_read.wait()
        return appeal

    repo.get_appeal = get_appeal  # type: ignore[method-assign]


async def test_two_officials_extending_at_once_extend_once(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("x", language="ru"))
    outbox = beside("outbox", repo)
    read_together(repo)
    results = await asyncio.gather(
        officials.extend(appeal.id, Official(10, "Асель"), date(2027, 1, 10), "экспертиза"),
        officials.extend(appeal.id, Official(11, "Бота"), date(2027, 1, 20), "выезд"),
    )
    done = [r for r in results if r.done]
    refused = [r for r in results if not r.done]
    assert len(done) == 1 and [r.reason for r in refused] == ["outdated"]
    assert len(sent.to(1)) == 1 and await outbox.pending_count() == 1  # the citizen told once
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and done[0].appeal is not None
    assert stored.due_at == done[0].appeal.due_at  # the one told is the one kept
    assert len(await repo.status_history(appeal.id)) == 2  # the filing and one extension
    # An extension from the deadline now stored still applies.
    again = await officials.extend(appeal.id, Official(11, "Бота"), date(2027, 1, 22), "выезд")
    assert again.done and len(sent.to(1)) == 2


async def test_an_extension_applies_only_to_the_deadline_seen(repo: Repository) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("y"))
    seen = appeal.due_at
    told: list[object] = []

    async def then(conn: object, changed: object) -> None:
        told.append(changed)

    extending = [
        repo.transition(appeal.id, frozenset({Status.REGISTERED}), Status.REGISTERED,
                        f"official:{n}", NOW, "extended", then=then, expect={"due_at": seen},
                        due_at=seen + timedelta(days=days))
        for n, days in ((7, 10), (8, 20))
    ]  # fmt: skip
    results = await asyncio.gather(*extending)
    assert len([r for r in results if r is not None]) == 1 and len(told) == 1
    stale = await repo.transition(
        appeal.id, frozenset({Status.REGISTERED}), Status.REGISTERED, "official:8", NOW,
        expect={"due_at": seen}, due_at=seen + timedelta(days=30),
    )  # fmt: skip
    assert stale is None and len(told) == 1


async def test_two_ratings_at_once_store_one_and_tell_the_officials_once(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("z", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    assert (
        await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Готово")
    ).done
    assert (await officials.citizen_says_solved(appeal.id, 1, "yes")).done  # then the stars
    outbox = beside("outbox", repo)
    queued = await outbox.pending_count()
    read_together(repo)
    results = await asyncio.gather(officials.rate(appeal.id, 1, 2), officials.rate(appeal.id, 1, 5))
    done = [r for r in results if r.done]
    assert len(done) == 1 and [r.reason for r in results if not r.done] == ["already"]
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and done[0].appeal is not None
    assert stored.rating == done[0].appeal.rating
    assert await outbox.pending_count() == queued + 1  # one note to the officials


async def test_a_rating_and_its_note_to_the_officials_commit_together(
    repo: Repository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, sent = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("w", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    assert (await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, "Ок")).done
    assert (await officials.citizen_says_solved(appeal.id, 1, "yes")).done  # then the stars
    outbox = beside("outbox", repo)
    queued = await outbox.pending_count()
    sent.fail = 1  # the note cannot be written: the rating must not stay either
    with pytest.raises(RuntimeError):
        await officials.rate(appeal.id, 1, 4)
    stored = await repo.get_appeal(appeal.id)
    assert stored is not None and stored.rating is None
    assert await outbox.pending_count() == queued
    assert (await officials.rate(appeal.id, 1, 4)).done  # tried again, both happen
    assert await outbox.pending_count() == queued + 1
