"""The announcements' service without Telegram: the progress message is edited only when what
it shows changed, only by the process that sends, and for the last time once nothing is
pending."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.delivery.outbox import Outbox
from bot.services.outreach import AnnouncementService, Draft
from storage.base import Repository
from storage.outbox import NewMessage, Outgoing
from storage.outreach import Announcement, Progress, Subscriber
from tests.backends import beside
from tests.test_storage import NOW

SEMEY = "101000000"
CHAT = -700


class Messages:
    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def to_citizen(self, announcement: Announcement, subscriber: Subscriber) -> Outgoing:
        key = f"announce:{announcement.id}:{subscriber.citizen_id}"
        message = NewMessage("sendMessage", {"text": "x"}, key, f"announce:{announcement.id}")
        return Outgoing(subscriber.citizen_id, [message], NOW)

    def progress(self, announcement: Announcement, progress: Progress) -> Outgoing | None:
        self.shown.append((announcement.status, progress.key))
        payload: dict[str, Any] = {"message_id": 5, "text": progress.key}
        message = NewMessage(
            "editMessageText", payload, None, f"announce-progress:{announcement.id}"
        )
        return Outgoing(CHAT, [message], NOW)


def clock() -> datetime:
    return NOW


async def test_progress_is_edited_by_the_sender_only_when_it_changed(repo: Repository) -> None:
    for citizen in (1, 2):
        await repo.set_language(citizen, "kk")
        await beside("subscriptions", repo).subscribe(citizen, SEMEY, NOW)
    outbox_store = beside("outbox", repo)
    messages = Messages()
    sending = [False]
    service = AnnouncementService(
        beside("announcements", repo), beside("subscriptions", repo), Outbox(outbox_store, clock),
        outbox_store, clock, messages, sending_here=lambda: sending[0],
    )  # fmt: skip
    sent = await service.send(Draft("k", "notice", (SEMEY,), "Мәтін", "Текст"), CHAT, 5, 9, "А")
    assert sent.created and sent.progress.pending == 2

    await service.tick(NOW)  # another process sends: it edits, not this one
    assert messages.shown == []
    sending[0] = True
    await service.tick(NOW)
    await service.tick(NOW)  # nothing changed: no second edit
    assert messages.shown == [("sending", "2/0/0/0/0/2")]

    for row in await outbox_store.due(NOW, 10):
        if row.method == "sendMessage":
            await outbox_store.mark_sent(row.id, 1, NOW)
    await service.tick(NOW)
    assert messages.shown[-1] == ("done", "2/2/0/0/0/0")
    await service.tick(NOW)  # done: no more edits
    assert len(messages.shown) == 2
    # Only the latest edit waits in the outbox; the superseded one was withdrawn.
    edits = [r for r in await outbox_store.due(NOW, 10) if r.method == "editMessageText"]
    assert [r.payload["text"] for r in edits] == ["2/2/0/0/0/0"]
