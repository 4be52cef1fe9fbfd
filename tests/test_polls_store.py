"""Polls on each backend (issue #13): whom each Telegram poll went to, found by the poll id the
sender records; one vote per citizen, replaced and retracted, none after the end; the close
claimed once, with the poll rows not sent yet dropped and what closing sends written in the
same transaction; the results by district and option."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from storage.base import Repository
from storage.outbox import NewMessage, Outgoing
from storage.outreach import (
    STOPPED,
    Announcement,
    AnnouncementStore,
    NewAnnouncement,
    PollDetails,
    Subscriber,
    announcement_purpose,
)
from storage.polls import POLL_CLOSED_ERROR, PollResults, PollStore, SentPoll
from tests.backends import beside
from tests.test_storage import NOW

pytestmark = pytest.mark.every_backend

SEMEY, KURCHATOV = "101000000", "101800000"
CLOSES = NOW + timedelta(hours=5)


async def poll_to(repo: Repository, citizens: dict[int, tuple[str, ...]]) -> Announcement:
    """A poll to Semey and Kurchatov; `citizens`: each one's subscriptions."""
    subscriptions = beside("subscriptions", repo)
    for citizen, districts in citizens.items():
        await repo.set_language(citizen, "kk" if citizen % 2 else "ru")
        for district in districts:
            await subscriptions.subscribe(citizen, district, NOW)
    outbox, polls = beside("outbox", repo), beside("polls", repo)

    async def write(conn: Any, poll: Announcement, who: Sequence[Subscriber]) -> int:
        rows = [
            Outgoing(s.citizen_id, [NewMessage("sendPoll", {"question": poll.text(s.language)},
                     f"{announcement_purpose(poll.id)}:{s.citizen_id}",
                     announcement_purpose(poll.id))], NOW, bulk=True)
            for s in who
        ]  # fmt: skip
        ids = await outbox.write_in(conn, rows)
        await polls.record_sends(conn, poll.id, list(zip(who, ids, strict=True)))
        return len(ids)

    store: AnnouncementStore = beside("announcements", repo)
    new = NewAnnouncement(
        "p1", "poll", (SEMEY, KURCHATOV), "Саябақ керек пе?", "Нужен ли парк?", -700, 55, 9,
        "Асқар", NOW, poll=PollDetails(("Иә", "Жоқ"), ("Да", "Нет"), CLOSES),
    )  # fmt: skip
    created, _ = await store.create(new, write)
    return created


async def send_all(repo: Repository, poll: Announcement, but: int | None = None) -> None:
    """Telegram took every poll message (but `but`'s): the sender records each poll id."""
    outbox = beside("outbox", repo)
    rows = await repo.db.fetchall(  # type: ignore[attr-defined]
        *sql(repo, "SELECT id, chat_id FROM outbox WHERE purpose = ? ORDER BY id",
             announcement_purpose(poll.id)),
    )  # fmt: skip
    for row_id, chat_id in [(int(r[0]), int(r[1])) for r in rows]:
        if chat_id != but:
            await outbox.mark_sent(row_id, 100 + chat_id, NOW, poll_id=f"tg-{chat_id}")


def sql(repo: Repository, text: str, *params: Any) -> tuple[Any, ...]:
    """`text` with ? placeholders, as the backend of `repo` takes it."""
    if type(repo).__name__.startswith("Postgres"):
        for n in range(1, len(params) + 1):
            text = text.replace("?", f"${n}", 1)
        return (text, *params)
    return (text, params)


async def test_a_vote_finds_its_citizen_and_counts_once(repo: Repository) -> None:
    poll = await poll_to(repo, {1: (SEMEY,), 2: (KURCHATOV, SEMEY), 3: (KURCHATOV,)})
    assert poll.poll is not None and poll.poll.closes_at == CLOSES
    polls: PollStore = beside("polls", repo)
    assert await polls.recipient("tg-1") is None  # not sent yet: Telegram named no poll
    await send_all(repo, poll)
    anna = await polls.recipient("tg-2")
    assert anna is not None and (anna.citizen_id, anna.language, anna.district) == (2, "ru", SEMEY)
    kk = await polls.recipient("tg-3")
    assert kk is not None and (kk.language, kk.district) == ("kk", KURCHATOV)
    assert await polls.recipient("tg-unknown") is None

    assert await polls.cast(anna, 0, NOW)
    assert await polls.cast(anna, 1, NOW)  # a change replaces the vote
    assert await polls.cast(kk, 0, NOW)
    results = await polls.results(poll.id)
    assert results is not None and results.delivered == 3
    assert sorted(results.votes) == [(SEMEY, 1, 1), (KURCHATOV, 0, 1)]
    assert await polls.retract(kk, NOW)
    assert not await polls.retract(kk, NOW)  # nothing left to take back
    assert not await polls.cast(kk, 0, CLOSES)  # the end time has come
    results = await polls.results(poll.id)
    assert results is not None and results.votes == ((SEMEY, 1, 1),)


async def test_the_close_is_claimed_once_and_writes_with_it(repo: Repository) -> None:
    poll = await poll_to(repo, {1: (SEMEY,), 2: (SEMEY,), 3: (KURCHATOV,)})
    await send_all(repo, poll, but=3)  # citizen 3's poll is still waiting at the end
    polls: PollStore = beside("polls", repo)
    one = await polls.recipient("tg-1")
    assert one is not None and await polls.cast(one, 1, NOW)
    await beside("subscriptions", repo).unsubscribe(2, SEMEY)  # 2 follows nothing now
    assert await polls.due(CLOSES - timedelta(seconds=1)) == []
    assert await polls.due(CLOSES) == [poll.id]
    written: list[tuple[PollResults, list[SentPoll]]] = []

    async def write(conn: Any, results: PollResults, sent: Sequence[SentPoll]) -> int:
        written.append((results, list(sent)))
        return len(sent)

    closed = await polls.close(poll.id, CLOSES, write)
    assert closed is not None and closed.votes == ((SEMEY, 1, 1),)
    assert closed.poll.poll is not None and closed.poll.poll.closed_at == CLOSES
    [(results, sent)] = written
    assert results == closed  # what was written is what the close returns
    assert [(s.recipient.citizen_id, s.message_id, s.follows) for s in sent] == [
        (1, 101, True), (2, 102, False),
    ]  # fmt: skip
    assert await polls.close(poll.id, CLOSES, write) is None  # once
    assert len(written) == 1 and await polls.due(CLOSES + timedelta(days=1)) == []
    assert not await polls.cast(one, 0, NOW)  # closed: no vote counts any more
    # The poll not sent by its end never will be; the broadcast shows as stopped.
    store: AnnouncementStore = beside("announcements", repo)
    after = await store.get(poll.id)
    assert after is not None and after.status == STOPPED
    progress = await store.progress(after)
    assert (progress.sent, progress.stopped, progress.failed, progress.pending) == (2, 1, 0, 0)
    dropped = await repo.db.fetchall(  # type: ignore[attr-defined]
        *sql(repo, "SELECT chat_id, last_error FROM outbox WHERE dropped_at IS NOT NULL")
    )
    assert [(int(r[0]), r[1]) for r in dropped] == [(3, POLL_CLOSED_ERROR)]
    # The digest's and the reports' reads.
    assert [r.poll.id for r in await polls.closed_between(NOW, CLOSES + timedelta(1), None)] == [
        poll.id
    ]
    assert await polls.closed_between(NOW, CLOSES + timedelta(1), -1) == []
    assert [r.poll.id for r in await polls.running_since(NOW, -700)] == [poll.id]
    assert await polls.running_since(CLOSES + timedelta(seconds=1), None) == []


async def test_a_vote_after_forget_keeps_nothing_of_the_citizen(repo: Repository) -> None:
    """Telegram's poll_answer is read (whose poll it is), then counted: a /forget that
    commits in between must not be followed by a vote row with the citizen's id."""
    poll = await poll_to(repo, {1: (SEMEY,), 2: (SEMEY,)})
    await send_all(repo, poll)
    polls: PollStore = beside("polls", repo)
    two = await polls.recipient("tg-2")
    assert two is not None and await polls.cast(two, 0, NOW)
    await beside("erasure", repo).erase(2, NOW, lambda text, _ids: text)
    assert not await polls.cast(two, 1, NOW)  # the vote that was on its way
    assert not await polls.retract(two, NOW)
    left = await repo.db.fetchall(  # type: ignore[attr-defined]
        *sql(repo, "SELECT COUNT(*) FROM poll_votes WHERE citizen_id = ?", 2)
    )
    assert int(left[0][0]) == 0


@pytest.mark.postgres_only  # SQLite's one writer orders the vote and the close by itself
async def test_a_vote_racing_the_close_is_in_the_results_or_not_at_all(repo: Repository) -> None:
    """PostgreSQL: the close has claimed the poll and counted the votes when a vote (read as
    open a moment before the end) is written. The vote must wait for the close and then not
    count, or be counted in what the close sends: never a stored vote the results lack."""
    poll = await poll_to(repo, {1: (SEMEY,), 2: (SEMEY,)})
    await send_all(repo, poll)
    polls: PollStore = beside("polls", repo)
    one = await polls.recipient("tg-1")
    assert one is not None
    voting: list[asyncio.Task[bool]] = []

    async def write(conn: Any, results: PollResults, sent: Sequence[SentPoll]) -> int:
        # The vote arrives now, while the close's transaction is open.
        vote = asyncio.ensure_future(polls.cast(one, 1, CLOSES - timedelta(seconds=1)))
        voting.append(vote)
        me = await conn.fetchval("SELECT pg_backend_pid()")
        while not vote.done():
            await conn.execute("SELECT pg_stat_clear_snapshot()")  # read it afresh
            waiting = await conn.fetchval(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", me
            )
            if waiting:
                break  # the vote waits for this close
            await asyncio.sleep(0.01)
        return 0

    closed = await polls.close(poll.id, CLOSES, write)
    assert closed is not None
    counted = await voting[0]
    stored = await polls.results(poll.id)
    assert stored is not None and stored.votes == closed.votes
    assert not counted and closed.votes == ()
