"""The meetings' service without Telegram (issue #13), on each backend: «I will come» counts
once and queues a reminder for the day before at the bookings' time, local; «I won't come
after all» withdraws it; one who says they come late gets none; a past meeting takes nobody."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.delivery.outbox import Outbox
from bot.domain.announcements import MeetingChangeProblem
from bot.services.outreach import Coming, MeetingService, Moved
from storage.base import Repository
from storage.outbox import NewMessage, Outgoing
from storage.outreach import (
    Announcement,
    MeetingDetails,
    MeetingMove,
    NewAnnouncement,
    Subscriber,
    meeting_reminder_purpose,
)
from tests.backends import beside
from tests.test_storage import NOW  # Monday 23 November 2026, 10:00 in Almaty

pytestmark = pytest.mark.every_backend

ALMATY = ZoneInfo("Asia/Almaty")


class Messages:
    def __init__(self) -> None:
        self.langs: list[str] = []

    def reminder(
        self, meeting: Announcement, citizen_id: int, lang: str, at: datetime, key: str
    ) -> Outgoing:
        self.langs.append(lang)
        purpose = meeting_reminder_purpose(meeting.id, citizen_id)
        return Outgoing(citizen_id, [NewMessage("sendMessage", {"text": lang}, key, purpose)], at)

    def cancelled(self, meeting: Announcement, subscriber: Subscriber) -> Outgoing:
        key = f"meeting-cancelled:{meeting.id}:{subscriber.citizen_id}"
        text = f"cancelled {subscriber.language}"
        message = NewMessage("sendMessage", {"text": text}, key, f"meeting-cancelled:{meeting.id}")
        return Outgoing(subscriber.citizen_id, [message], NOW)

    def moved(self, meeting: Announcement, move: MeetingMove, subscriber: Subscriber) -> Outgoing:
        key = f"meeting-moved:{move.id}:{subscriber.citizen_id}"
        text = f"moved {subscriber.language} {move.old_place} -> {move.new_place}"
        message = NewMessage("sendMessage", {"text": text}, key, f"meeting-moved:{meeting.id}")
        return Outgoing(subscriber.citizen_id, [message], NOW)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def nobody(conn: Any, announcement: Announcement, who: Sequence[Subscriber]) -> int:
    return 0


async def meeting_at(repo: Repository, key: str, at: datetime) -> int:
    new = NewAnnouncement(
        key, "meeting", ("101000000",), "Кездесу.", "Встреча.", -700, 5, 9, "Асқар", NOW,
        MeetingDetails("Аким", "Мәдениет үйі", at, ("Жол",)),
    )  # fmt: skip
    created, _ = await beside("announcements", repo).create(new, nobody)
    return int(created.id)


def service(repo: Repository, clock: Clock, messages: Messages) -> MeetingService:
    outbox_store = beside("outbox", repo)
    return MeetingService(
        beside("meetings", repo), beside("announcements", repo), clock, ALMATY,
        Outbox(outbox_store, clock), outbox_store, messages, time(18, 0),
    )  # fmt: skip


async def test_coming_queues_a_reminder_the_day_before_and_withdrawing_drops_it(
    repo: Repository,
) -> None:
    await repo.set_language(1, "kk")
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    outbox = beside("outbox", repo)
    meeting = await meeting_at(repo, "m", datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY))
    reminder_due = datetime(2026, 11, 25, 18, 0, tzinfo=ALMATY)

    assert await meetings.come(meeting, 1, ("wheelchair",), "kk") == Coming.REGISTERED
    assert await meetings.come(meeting, 1, (), "kk") == Coming.ALREADY  # counted once
    assert messages.langs == ["kk"]  # one reminder, in the citizen's language
    assert await outbox.due(reminder_due - timedelta(seconds=1), 10) == []
    [row] = await outbox.due(reminder_due, 10)
    assert row.chat_id == 1 and row.not_before == reminder_due

    clock.now += timedelta(minutes=1)
    assert await meetings.withdraw(meeting, 1)
    assert await outbox.due(reminder_due, 10) == []
    assert not await meetings.withdraw(meeting, 1)
    # Back again, at the same moment (a frozen clock): a reminder of its own.
    assert await meetings.come(meeting, 1, (), "kk") == Coming.REGISTERED
    assert len(await outbox.due(reminder_due, 10)) == 1


async def test_late_comers_get_no_reminder_and_a_past_meeting_takes_nobody(
    repo: Repository,
) -> None:
    await repo.set_language(1, "ru")
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    # Tomorrow morning: the reminder's time (today 18:00) is still ahead.
    tomorrow = await meeting_at(repo, "tomorrow", datetime(2026, 11, 24, 9, 0, tzinfo=ALMATY))
    # Today at 16:00: the day before has passed.
    today = await meeting_at(repo, "today", datetime(2026, 11, 23, 16, 0, tzinfo=ALMATY))
    past = await meeting_at(repo, "past", NOW - timedelta(hours=1))
    assert await meetings.come(tomorrow, 1, (), "ru") == Coming.REGISTERED
    assert await meetings.come(today, 1, (), "ru") == Coming.REGISTERED
    assert messages.langs == ["ru"]
    assert await meetings.come(past, 1, (), "ru") == Coming.OVER
    assert await meetings.come(999, 1, (), "ru") == Coming.UNKNOWN
    assert await meetings.ask(past, 1, 0, "Кеш қалған сұрақ.") is None
    asked = await meetings.ask(tomorrow, 1, 7, "Тақырыбы жоқ сұрақ.")  # no such topic
    assert asked is not None and asked.topic is None


async def test_cancelling_tells_those_who_come_and_drops_their_reminders(
    repo: Repository,
) -> None:
    for citizen, lang in ((1, "kk"), (2, "ru"), (3, "ru")):
        await repo.set_language(citizen, lang)
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    outbox = beside("outbox", repo)
    meeting = await meeting_at(repo, "m", datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY))
    for citizen in (1, 2, 3):
        await meetings.come(meeting, citizen, (), "kk")
    await meetings.withdraw(meeting, 3)  # not coming any more: not told
    await outbox.mark_unreachable(2)  # blocked the bot: not told either
    later = datetime(2026, 11, 30, tzinfo=ALMATY)
    assert {r.chat_id for r in await outbox.due(later, 10)} == {1, 2}  # the reminders

    cancelled = await meetings.cancel(meeting)
    assert cancelled is not None and cancelled[1] == 1
    assert cancelled[0].meeting is not None and cancelled[0].meeting.cancelled_at == NOW
    [row] = await outbox.due(later, 10)  # the reminder is gone, the notice is there
    assert row.chat_id == 1 and row.payload["text"] == "cancelled kk"
    assert await meetings.cancel(meeting) is None  # once
    assert await meetings.upcoming() == []
    assert await meetings.come(meeting, 3, (), "ru") == Coming.OVER
    assert await meetings.ask(meeting, 3, None, "Кездесу болмайды ма?") is None


async def test_moving_tells_those_who_come_and_requeues_their_reminders_once(
    repo: Repository,
) -> None:
    for citizen, lang in ((1, "kk"), (2, "ru"), (3, "ru"), (4, "kk")):
        await repo.set_language(citizen, lang)
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    outbox = beside("outbox", repo)
    meeting = await meeting_at(repo, "m", datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY))
    for citizen in (1, 2, 3, 4):
        await meetings.come(meeting, citizen, (), "ru" if citizen == 2 else "kk")
    await meetings.withdraw(meeting, 3)  # not coming any more: not told
    await outbox.mark_unreachable(4)  # blocked the bot: not told, its reminder goes too
    old_reminder = datetime(2026, 11, 25, 18, 0, tzinfo=ALMATY)
    new_at = datetime(2026, 12, 3, 11, 0, tzinfo=ALMATY)
    new_reminder = datetime(2026, 12, 2, 18, 0, tzinfo=ALMATY)

    moved = await meetings.move(meeting, "key", new_at, "Акимат, зал 2", 9, "Асқар")
    assert isinstance(moved, Moved) and moved.created and moved.move.told == 2
    assert moved.move.old_place == "Мәдениет үйі" and moved.move.new_place == "Акимат, зал 2"
    assert moved.meeting.meeting is not None and moved.meeting.meeting.at == new_at
    # The notices are due now; the old reminders are gone; the new ones wait for 2 December.
    notices = await outbox.due(old_reminder, 10)
    assert sorted((r.chat_id, r.payload["text"]) for r in notices) == [
        (1, "moved kk Мәдениет үйі -> Акимат, зал 2"),
        (2, "moved ru Мәдениет үйі -> Акимат, зал 2"),
    ]
    for row in notices:
        await outbox.mark_sent(row.id, 1, NOW)
    assert await outbox.due(new_reminder - timedelta(seconds=1), 10) == []
    reminders = await outbox.due(new_reminder, 10)
    assert sorted((r.chat_id, r.payload["text"]) for r in reminders) == [(1, "kk"), (2, "ru")]

    # The same dialog's «Move» again (a double press, a restart): nothing new.
    again = await meetings.move(meeting, "key", new_at, "Акимат, зал 2", 9, "Асқар")
    assert isinstance(again, Moved) and not again.created and again.move.id == moved.move.id
    assert len(await outbox.due(new_reminder, 10)) == 2
    # Withdrawing after the move drops the new reminder.
    assert await meetings.withdraw(meeting, 2)
    assert [r.chat_id for r in await outbox.due(new_reminder, 10)] == [1]
    # A move to the same time and place changes nothing; to a time gone by, neither.
    same = await meetings.move(meeting, "k2", new_at, "", 9, "Асқар")
    assert same == MeetingChangeProblem.SAME
    assert await meetings.move(meeting, "k3", NOW, "", 9, "Асқар") == MeetingChangeProblem.PAST
    # Moved to the next morning: the day-before time has passed, so no reminder, only notice.
    soon = await meetings.move(
        meeting, "k4", datetime(2026, 11, 23, 20, 0, tzinfo=ALMATY), "", 9, "Асқар"
    )
    assert isinstance(soon, Moved) and soon.move.old_place == soon.move.new_place
    [notice] = await outbox.due(new_reminder, 10)
    assert notice.chat_id == 1 and notice.payload["text"].startswith("moved kk")


async def test_a_cancelled_or_begun_meeting_is_not_moved(repo: Repository) -> None:
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    later = datetime(2026, 12, 3, 11, 0, tzinfo=ALMATY)
    begun = await meeting_at(repo, "begun", NOW - timedelta(minutes=5))
    assert await meetings.move(begun, "a", later, "", 9, "A") == MeetingChangeProblem.BEGUN
    called_off = await meeting_at(repo, "off", datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY))
    await meetings.cancel(called_off)
    assert await meetings.move(called_off, "b", later, "", 9, "A") == (
        MeetingChangeProblem.CANCELLED
    )
    assert await meetings.move(999, "c", later, "", 9, "A") == MeetingChangeProblem.CANCELLED


async def test_how_many_came_is_entered_after_the_meeting_and_corrected(
    repo: Repository,
) -> None:
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    held = await meeting_at(repo, "held", NOW - timedelta(days=2))
    ahead = await meeting_at(repo, "ahead", NOW + timedelta(days=2))
    assert await meetings.record_attended(ahead, 5, 9, "A") == MeetingChangeProblem.NOT_YET
    first = await meetings.record_attended(held, 40, 9, "Асқар")
    assert isinstance(first, Announcement) and first.meeting is not None
    assert (first.meeting.attended, first.meeting.attended_by_name) == (40, "Асқар")
    clock.now += timedelta(hours=1)
    second = await meetings.record_attended(held, 45, 10, "Дана")
    assert isinstance(second, Announcement) and second.meeting is not None
    assert second.meeting.attended == 45 and second.meeting.attended_by_name == "Дана"
    assert second.meeting.attended_at == clock.now
    [past] = await meetings.past()
    assert past.meeting.id == held and past.meeting.meeting is not None
    assert past.meeting.meeting.attended == 45
    # A cancelled meeting takes no count.
    off = await meeting_at(repo, "off", NOW + timedelta(days=1))
    await meetings.cancel(off)
    clock.now += timedelta(days=3)
    assert await meetings.record_attended(off, 1, 9, "A") == MeetingChangeProblem.CANCELLED


@pytest.mark.postgres_only  # SQLite's one writer reads the meeting after the first move by itself
async def test_same_place_is_the_place_when_moved_not_when_read(
    repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: two officials move the same meeting at once, one to a new place, the other
    «📍 same place» to another time. The second waits for the first's move (the meeting is
    locked); «same place» must then be the place the first set, not the one the second read
    before waiting (which would move the meeting back to its old place unasked)."""
    clock, messages = Clock(), Messages()
    meetings = service(repo, clock, messages)
    meeting = await meeting_at(repo, "m", datetime(2026, 11, 26, 15, 0, tzinfo=ALMATY))
    real = Outbox.queue_in
    second: list[Any] = []

    async def paused(self: Outbox, conn: Any, batches: Any, *, bulk: bool = False) -> list[int]:
        if not second:  # the first move, in its transaction: the second one starts now
            later = datetime(2026, 11, 27, 11, 0, tzinfo=ALMATY)
            second.append(asyncio.ensure_future(meetings.move(meeting, "b", later, "", 8, "Б")))
            me = await conn.fetchval("SELECT pg_backend_pid()")
            while not second[0].done():
                await conn.execute("SELECT pg_stat_clear_snapshot()")
                if await conn.fetchval(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
                    me,
                ):
                    break  # the second move waits for this one
                await asyncio.sleep(0.01)
        return await real(self, conn, batches, bulk=bulk)

    monkeypatch.setattr(Outbox, "queue_in", paused)
    first = await meetings.move(
        meeting, "a", datetime(2026, 11, 26, 17, 0, tzinfo=ALMATY), "Акимат, зал 2", 9, "А"
    )
    assert isinstance(first, Moved)
    then = await second[0]
    assert isinstance(then, Moved) and then.move.old_place == "Акимат, зал 2"
    assert then.move.new_place == "Акимат, зал 2"
    assert then.meeting.meeting is not None and then.meeting.meeting.place == "Акимат, зал 2"
