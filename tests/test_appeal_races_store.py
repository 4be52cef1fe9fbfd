"""Two people changing the same appeal at the same instant, on each backend: the check of what
they saw and the write are one statement (or one locked transaction), so one wins and what the
change causes (the citizen's notice, the officials' note in the outbox) is written once, with
the change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, timedelta

import pytest

from bot.domain.catalog import Catalog
from bot.domain.status import (
    ORIGINAL_STATUSES,
    Action,
    original_expects,
    sources_for,
    sources_of,
)
from bot.services.officials import Official
from storage.base import DependsOn, Repository
from storage.models import Appeal, Outcome, Status
from tests import backends
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


# --- «Duplicate of…»: the original checked again where the repeat is marked ------------------

ORIGINAL = Official(1, "Асель")


async def same_citizens(repo: Repository) -> tuple[Appeal, Appeal, Appeal]:
    """Three appeals of one citizen: an original, its repeat, and a third."""
    made = [(await repo.create_appeal(new_appeal(f"o{n}", citizen_id=2)))[0] for n in range(3)]
    return made[0], made[1], made[2]


async def change_original(repo: Repository, how: str, original: Appeal, third: Appeal) -> None:
    """What happens to the original between the check and the write."""
    if how == "withdrawn":  # the citizen withdrew it
        changed = await repo.transition(original.id, sources_of(Status.WITHDRAWN),
                                        Status.WITHDRAWN, "citizen:2", NOW)  # fmt: skip
    elif how == "duplicate":  # another official marked it a repeat of a third
        changed = await repo.transition(
            original.id, sources_for(Action.DUPLICATE), Status.DUPLICATE, "official:9", NOW,
            duplicate_of=third.id,
        )  # fmt: skip
    elif how == "forwarded":  # forwarded to a department's chat
        changed = await repo.transition(
            original.id, sources_for(Action.FORWARD), Status.FORWARDED, "official:9", NOW,
            department="labour", officials_chat_id=-5001, forwarded_at=NOW,
        )  # fmt: skip
    else:  # its citizen erased their data (/forget): it is nobody's
        await repo.update_fields(original.id, citizen_id=None)
        changed = await repo.get_appeal(original.id)
    assert changed is not None


@pytest.mark.parametrize("how", ["withdrawn", "duplicate", "forwarded", "erased"])
async def test_an_original_changed_after_it_was_checked_is_not_named(
    repo: Repository, catalog: Catalog, clock: FrozenClock, how: str
) -> None:
    """«Send» on a «Duplicate of…» preview: the original passes `find_original`, then (before
    the mark's transaction) it is withdrawn, marked a duplicate, forwarded away or erased.
    Before, the repeat was marked anyway and its citizen told «it will be answered under
    № …» of an appeal that never will be; now the transaction checks the original again and
    refuses, as a number that does not fit."""
    officials, sent = service(repo, catalog, clock, {ORIGINAL.id: "member"})
    original, repeat, third = await same_citizens(repo)
    found = officials.find_original

    async def checked_then_changed(*args: object) -> Appeal | None:
        seen = await found(*args)  # type: ignore[arg-type]
        assert seen is not None and seen.id == original.id  # it was fit when checked
        await change_original(repo, how, original, third)
        return seen

    officials.find_original = checked_then_changed  # type: ignore[method-assign,assignment]
    result = await officials.mark_duplicate(
        repeat.id, ORIGINAL, original.reference, chat_id=CHAT
    )  # fmt: skip
    assert not result.done and result.reason == "no_original"
    stored = await repo.get_appeal(repeat.id)
    assert stored is not None and stored.status is Status.REGISTERED
    assert stored.duplicate_of is None
    assert sent.to(2) == []  # the citizen is told nothing
    assert len(await repo.status_history(repeat.id)) == 1  # the filing only
    # An original still fit is named as before.
    officials.find_original = found  # type: ignore[method-assign]
    again = await officials.mark_duplicate(repeat.id, ORIGINAL, third.reference, chat_id=CHAT)
    assert again.done and len(sent.to(2)) == 1


async def waiting_for_a_row(
    backend: backends.Backend, repo: Repository, task: asyncio.Task[object]
) -> None:
    """PostgreSQL: until `task` waits for a row another transaction locked (it holds the
    tuple's lock while it waits), or ended without waiting. SQLite: the write lock orders
    the two transactions whole; nothing to wait for here."""
    if backend.name != "postgres":
        return
    waiting = (
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'tuple' AND relation = 'appeals'::regclass"
    )
    for _ in range(1000):  # a bound, so a wrong lock never hangs the suite
        if task.done() or await repo.db.fetchval(waiting):  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("order", ["original first", "repeat first"])
async def test_a_repeat_marked_while_its_original_is_being_withdrawn_is_refused(
    backend: backends.Backend, repo: Repository, order: str
) -> None:
    """The two at the same instant: the withdrawal of the original is written but not yet
    committed when the mark's transaction starts. The mark waits for it (PostgreSQL: the
    original's row is read FOR SHARE; SQLite: the write lock) and then refuses. Before, it
    read nothing of the original and marked the repeat of a withdrawn appeal. `order`: which
    of the two rows has the lower id (they are locked in ascending id order)."""
    first, second, _ = await same_citizens(repo)
    original, repeat = (first, second) if order == "original first" else (second, first)
    inside, release = asyncio.Event(), asyncio.Event()

    async def hold(conn: object, changed: object) -> None:
        inside.set()
        await release.wait()

    withdrawing = asyncio.create_task(repo.transition(
        original.id, sources_of(Status.WITHDRAWN), Status.WITHDRAWN, "citizen:2", NOW,
        then=hold,
    ))  # fmt: skip
    await inside.wait()
    marking: asyncio.Task[object] = asyncio.create_task(repo.transition(
        repeat.id, sources_for(Action.DUPLICATE), Status.DUPLICATE, "official:1", NOW,
        depends_on=DependsOn(original.id, ORIGINAL_STATUSES, original_expects(original)),
        duplicate_of=original.id,
    ))  # fmt: skip
    await waiting_for_a_row(backend, repo, marking)
    release.set()
    assert await withdrawing is not None
    assert await marking is None
    stored = await repo.get_appeal(repeat.id)
    assert stored is not None and stored.status is Status.REGISTERED


async def test_two_appeals_marked_repeats_of_each_other_at_once_do_not_deadlock(
    backend: backends.Backend, repo: Repository
) -> None:
    """Each the other's original, at the same instant: the rows are locked in one order, so
    one waits for the other (no deadlock) and then finds its original a duplicate."""
    first, second, _ = await same_citizens(repo)

    def mark(repeat: Appeal, original: Appeal) -> Awaitable[Appeal | None]:
        return repo.transition(
            repeat.id, sources_for(Action.DUPLICATE), Status.DUPLICATE, "official:1", NOW,
            depends_on=DependsOn(original.id, ORIGINAL_STATUSES, original_expects(original)),
            duplicate_of=original.id,
        )  # fmt: skip

    if backend.name == "postgres":  # connections ready for both, so their statements interleave
        ready = "SELECT pg_sleep(0.01)"
        await asyncio.gather(*(repo.db.fetchval(ready) for _ in range(3)))  # type: ignore[attr-defined]
    results = await asyncio.gather(mark(first, second), mark(second, first))
    assert len([r for r in results if r is not None]) == 1
    statuses = sorted([(await repo.get_appeal(a.id)).status for a in (first, second)])  # type: ignore[union-attr]
    assert statuses == sorted([Status.DUPLICATE, Status.REGISTERED])
