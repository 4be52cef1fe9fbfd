"""Subscriptions and announcements on each backend (issue #13): a subscription is kept once;
an announcement queues one row per reachable subscriber of its districts, each citizen once,
in their language, all in one transaction keyed by the draft; its progress is counted from the
outbox; «Stop» drops what is not sent, once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from storage.base import Repository
from storage.outbox import NewMessage, Outgoing
from storage.outreach import (
    DONE,
    SENDING,
    STOPPED,
    Announcement,
    AnnouncementStore,
    NewAnnouncement,
    Subscriber,
    SubscriptionStore,
    announcement_purpose,
)
from tests.backends import beside
from tests.test_storage import NOW

pytestmark = pytest.mark.every_backend

SEMEY, KURCHATOV, ABAI = "101000000", "101800000", "103200000"
CHAT = -700


def new(key: str = "k1", districts: tuple[str, ...] = (SEMEY, KURCHATOV)) -> NewAnnouncement:
    return NewAnnouncement(
        key, "notice", districts, "Ертең жиналыс.", "Завтра собрание.", CHAT, 55, 9, "Асқар", NOW
    )


class Writer:
    """Queues a plain row per subscriber, remembering who was handed over."""

    def __init__(self, repo: Repository) -> None:
        self.outbox = beside("outbox", repo)
        self.seen: list[Subscriber] = []

    async def __call__(self, conn: Any, ann: Announcement, who: Sequence[Subscriber]) -> int:
        self.seen += who
        purpose = announcement_purpose(ann.id)
        rows = [
            Outgoing(s.citizen_id, [NewMessage("sendMessage", {"text": s.district},
                     f"{purpose}:{s.citizen_id}", purpose)], NOW)
            for s in who
        ]  # fmt: skip
        return len(await self.outbox.write_in(conn, rows))


async def citizens(repo: Repository, *people: tuple[int, str]) -> None:
    for citizen_id, lang in people:
        await repo.set_language(citizen_id, lang)


async def test_subscriptions_are_kept_once_in_order_and_removed(repo: Repository) -> None:
    store: SubscriptionStore = beside("subscriptions", repo)
    await citizens(repo, (1, "kk"), (2, "ru"))
    assert await store.subscribe(1, KURCHATOV, NOW)
    assert await store.subscribe(1, SEMEY, NOW + timedelta(seconds=1))
    assert not await store.subscribe(1, SEMEY, NOW + timedelta(seconds=2))
    assert await store.subscribe(2, SEMEY, NOW)
    assert await store.districts_of(1) == [KURCHATOV, SEMEY]
    assert await store.count_subscribers([SEMEY, KURCHATOV]) == 2
    assert await store.count_subscribers([ABAI]) == 0
    assert await store.count_subscribers([]) == 0

    assert await store.unsubscribe(1, KURCHATOV)
    assert not await store.unsubscribe(1, KURCHATOV)
    assert await store.districts_of(1) == [SEMEY]
    assert await store.unsubscribe_all(2) == 1
    assert await store.districts_of(2) == []


async def test_an_announcement_reaches_each_reachable_subscriber_once(repo: Repository) -> None:
    subs: SubscriptionStore = beside("subscriptions", repo)
    store: AnnouncementStore = beside("announcements", repo)
    await citizens(repo, (1, "kk"), (2, "ru"), (3, "ru"), (4, "kk"), (5, "kk"))
    await subs.subscribe(1, SEMEY, NOW)
    await subs.subscribe(1, KURCHATOV, NOW)  # two of the districts: one message
    await subs.subscribe(2, KURCHATOV, NOW)
    await subs.subscribe(3, ABAI, NOW)  # another district: nothing
    await subs.subscribe(4, SEMEY, NOW)
    await beside("outbox", repo).mark_unreachable(4)  # blocked the bot
    # Citizen 5 never subscribed.
    write = Writer(repo)
    announcement, created = await store.create(new(), write)
    assert created and announcement.total == 2 and announcement.status == SENDING
    assert sorted((s.citizen_id, s.language, s.district) for s in write.seen) == [
        (1, "kk", SEMEY),  # the lowest of their codes
        (2, "ru", KURCHATOV),
    ]
    assert announcement.districts == (SEMEY, KURCHATOV)
    assert announcement.text("kk") == "Ертең жиналыс." and announcement.text("ru").startswith("З")

    # «Send» again with the same draft: the first one, nothing queued twice.
    again, created_again = await store.create(new(), Writer(repo))
    assert not created_again and again.id == announcement.id and again.total == 2
    assert await beside("outbox", repo).pending_count() == 2


async def test_progress_counts_the_rows_and_stop_drops_what_is_left(repo: Repository) -> None:
    subs: SubscriptionStore = beside("subscriptions", repo)
    store: AnnouncementStore = beside("announcements", repo)
    outbox = beside("outbox", repo)
    people = [(n, "ru") for n in range(10, 16)]
    await citizens(repo, *people)
    for citizen_id, _lang in people:
        await subs.subscribe(citizen_id, SEMEY, NOW)
    announcement, _ = await store.create(new(), Writer(repo))
    rows = await outbox.due(NOW, 100)
    assert len(rows) == 6
    await outbox.mark_sent(rows[0].id, 1, NOW)
    await outbox.mark_sent(rows[1].id, 2, NOW)
    await outbox.drop_chat(rows[2].chat_id, "TelegramForbiddenError: bot was blocked", NOW)
    await outbox.drop(rows[3].id, "TelegramBadRequest: chat not found", NOW)
    progress = await store.progress(announcement)
    assert (progress.total, progress.sent, progress.blocked, progress.failed) == (6, 2, 1, 1)
    assert (progress.stopped, progress.pending) == (0, 2)
    assert [a.id for a in await store.sending(NOW)] == [announcement.id]

    stopped = await store.stop(announcement.id, NOW)
    assert stopped is not None and stopped.status == STOPPED
    assert await store.stop(announcement.id, NOW) is None  # once
    progress = await store.progress(announcement)
    assert (progress.sent, progress.stopped, progress.pending) == (2, 2, 0)
    assert await outbox.pending_count() == 0
    # A row on its way to Telegram when «Stop» came went out all the same: it counts as sent.
    await outbox.mark_sent(rows[4].id, 5, NOW)
    progress = await store.progress(announcement)
    assert (progress.sent, progress.stopped, progress.pending) == (3, 1, 0)
    # Its progress message still follows for a while after «Stop», then no more.
    assert [a.id for a in await store.sending(NOW - timedelta(seconds=1))] == [announcement.id]
    assert await store.sending(NOW) == []
    # Showing the last state does not bring it back to life nor call it done.
    await store.record_shown(announcement.id, progress.key, True, NOW)
    shown = await store.get(announcement.id)
    assert shown is not None and shown.status == STOPPED and shown.shown == progress.key


async def test_finished_is_recorded_as_done(repo: Repository) -> None:
    store: AnnouncementStore = beside("announcements", repo)
    announcement, _ = await store.create(new("empty"), Writer(repo))
    assert announcement.total == 0
    await store.record_shown(announcement.id, "0/0/0/0/0/0", False, NOW)
    assert (await store.get(announcement.id)).status == SENDING  # type: ignore[union-attr]
    await store.record_shown(announcement.id, "0/0/0/0/0/0", True, NOW)
    done = await store.get(announcement.id)
    assert done is not None and done.status == DONE and done.finished_at == NOW
    assert await store.sending(NOW) == []
