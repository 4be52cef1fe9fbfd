"""Meetings with residents on each backend (issue #13): a meeting is an announcement with who,
where, when and its topics; «I will come» counts a citizen once, with their access needs, and
can be withdrawn; questions in advance are kept with their topic; /meetings reads the upcoming
ones with the head count, the needs summed and the questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from storage.base import Repository
from storage.outreach import (
    Announcement,
    AnnouncementStore,
    MeetingDetails,
    MeetingStore,
    NewAnnouncement,
    Subscriber,
)
from tests.backends import beside
from tests.test_storage import NOW

pytestmark = pytest.mark.every_backend

SEMEY = "101000000"
TOPICS = ("Жол жөндеу", "Көше жарығы")


async def nobody(conn: Any, announcement: Announcement, who: Sequence[Subscriber]) -> int:
    return 0


async def meeting(repo: Repository, key: str, days: float) -> Announcement:
    store: AnnouncementStore = beside("announcements", repo)
    details = MeetingDetails("Аким Ә. Б.", "Мәдениет үйі, Абай к. 1", NOW + timedelta(days), TOPICS)
    new = NewAnnouncement(
        key, "meeting", (SEMEY,), "Кездесуге шақырамыз.", "Приглашаем на встречу.", -700, 55,
        9, "Асқар", NOW, details,
    )  # fmt: skip
    created, _ = await store.create(new, nobody)
    return created


async def test_a_meeting_keeps_its_details_and_a_notice_has_none(repo: Repository) -> None:
    held = await meeting(repo, "m1", 2)
    store: AnnouncementStore = beside("announcements", repo)
    read = await store.get(held.id)
    assert read is not None and read == held and read.kind == "meeting"
    assert read.meeting is not None
    assert read.meeting.at == NOW + timedelta(days=2) and read.meeting.topics == TOPICS
    assert read.meeting.who == "Аким Ә. Б." and read.meeting.place.startswith("Мәдениет")
    notice, _ = await store.create(
        NewAnnouncement("n1", "notice", (SEMEY,), "Хабарландыру.", "Объявление.", -700, 56, 9,
                        "Асқар", NOW), nobody,
    )  # fmt: skip
    assert notice.meeting is None and (await store.get(notice.id)).meeting is None  # type: ignore[union-attr]


async def test_coming_counts_once_with_needs_and_can_be_withdrawn(repo: Repository) -> None:
    for citizen, lang in ((1, "kk"), (2, "ru"), (3, "ru")):
        await repo.set_language(citizen, lang)
    held = await meeting(repo, "m1", 2)
    store: MeetingStore = beside("meetings", repo)
    assert await store.register(held.id, 1, ["wheelchair", "companion"], NOW)
    # A double press: counted once, the first answer kept.
    assert not await store.register(held.id, 1, [], NOW)
    assert await store.register(held.id, 2, ["wheelchair"], NOW)
    assert await store.register(held.id, 3, [], NOW)
    attendance = await store.attendance(held.id, 1)
    assert attendance is not None and attendance.access == ("wheelchair", "companion")
    [figures] = await store.upcoming(NOW, 10)
    assert figures.coming == 3
    assert figures.access == {"wheelchair": 2, "companion": 1}

    assert await store.unregister(held.id, 3, NOW)
    assert not await store.unregister(held.id, 3, NOW)
    assert await store.attendance(held.id, 3) is None
    [figures] = await store.upcoming(NOW, 10)
    assert figures.coming == 2


async def test_questions_are_kept_with_their_topic_and_upcoming_is_soonest_first(
    repo: Repository,
) -> None:
    await repo.set_language(1, "kk")
    later = await meeting(repo, "later", 5)
    sooner = await meeting(repo, "sooner", 1)
    past = await meeting(repo, "past", -1)
    store: MeetingStore = beside("meetings", repo)
    first = await store.ask(sooner.id, 1, 1, "Шам қашан жанады?", NOW)
    await store.ask(sooner.id, 1, None, "Басқа сұрақ бар.", NOW)
    await store.ask(past.id, 1, 0, "Өткен кездесу.", NOW)
    assert first.topic == 1 and first.id > 0
    figures = await store.upcoming(NOW, 10)
    assert [f.meeting.id for f in figures] == [sooner.id, later.id]  # the past one is not
    assert [(q.topic, q.text) for q in figures[0].questions] == [
        (1, "Шам қашан жанады?"),
        (None, "Басқа сұрақ бар."),
    ]
    assert figures[1].questions == () and figures[1].coming == 0 and figures[1].access == {}
    assert [f.meeting.id for f in await store.upcoming(NOW, 1)] == [sooner.id]
