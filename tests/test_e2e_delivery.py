"""Trust in the core loop (issue #9), over HTTP: what the outbox delivers, in which order, and
what it keeps when Telegram will not take it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

import storage.postgres.outbox
import storage.sqlite.outbox
from storage.outbox import NewMessage
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import reach_review, rows
from tests.test_e2e_booking import book_first_slot
from tests.test_e2e_officials import (
    DEPARTMENT_CHAT,
    OFFICIAL,
    answer_appeal,
    card_of,
    file_again,
    file_and_card,
    forwarding,  # noqa: F401 - the fixture
    group_alert,
    official_reply,
    open_prompt,
    reply_to,
)

pytestmark = pytest.mark.e2e
CITIZEN = 1201
ADMIN = 77
KICKED = "Forbidden: bot was kicked from the supergroup chat"
PENDING = "sent_at IS NULL AND dropped_at IS NULL"


# --------------------------------------------------------------------------- item 2: order


@pytest.fixture
async def booking(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    """Delivery on a clock that stands still, so the reminders stay days away."""
    delivery = FrozenClock(clock.at)
    settings = make_settings(fake.base_url, tmp_path / "bot.db")
    app, task = await start_bot(fake, settings, clock, delivery)
    h = Harness(fake, app, task, clock, delivery)
    yield h
    await stop_bot(h.app, h.task)


async def test_a_booked_citizen_gets_the_status_and_the_answer_at_once(
    booking: Harness,
) -> None:
    h = booking
    card = await file_and_card(h, CITIZEN)
    await book_first_slot(h, CITIZEN, "ru", "Вопрос о ремонте дороги во дворе дома")
    reminders = f"SELECT COUNT(*) FROM outbox WHERE purpose LIKE 'booking:%' AND {PENDING}"
    assert rows(h, reminders)[0][0] == 2  # the day before and two hours before: days away

    since = h.fake.mark()
    await group_alert(h, OFFICIAL, card, "▶️")
    taken = await h.reply(CITIZEN, since, expect="2026-00001")
    assert "рассмотрении" in (taken.text or "").lower()
    answer = await answer_appeal(h, card, CITIZEN, "Яма во дворе засыпана 24 ноября.")
    assert "2026-00001" in (answer.text or "")
    # The reminders still wait for their own time.
    assert rows(h, reminders)[0][0] == 2
    assert not [t for t in h.texts_to(CITIZEN) if "⏰" in t]


# --------------------------------------------------------------------------- item 6: 403 in a group


@pytest.fixture
async def with_admin(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", admin_ids=[ADMIN])
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


def alerts(fake: FakeTelegram) -> list[str]:
    return [c.text or "" for c in fake.sent(ADMIN) if "⚠️" in (c.text or "")]


async def test_a_kicked_group_keeps_its_cards_until_the_bot_is_back(
    with_admin: Harness,
) -> None:
    h = with_admin
    # The morning digest went out at start-up; then someone removes the bot from the group.
    await h.fake.wait_for(lambda c: "Сводка" in (c.text or "") and not c.failed)
    h.fake.kick_bot(OFFICIALS)
    await file_and_card_refused(h, CITIZEN)
    alert = await h.fake.wait_sent(ADMIN)
    assert str(OFFICIALS) in (alert.text or "")
    assert "чат должностных лиц" in (alert.text or "")  # OFFICIALS_LANGUAGE is ru
    assert KICKED in (alert.text or "")

    # A second card waits behind the first: not tried, nothing dropped, nobody alerted again.
    tried = len(h.fake.sent(OFFICIALS, include_failed=True))
    await file_and_card_refused(h, CITIZEN + 1, wait=False)
    await h.quiet(0.5)
    assert len(h.fake.sent(OFFICIALS, include_failed=True)) == tried
    # (The citizens' confirmation rows were withdrawn once their cards showed the number.)
    dropped = f"SELECT COUNT(*) FROM outbox WHERE dropped_at IS NOT NULL AND chat_id = {OFFICIALS}"
    assert rows(h, dropped)[0][0] == 0
    assert len(alerts(h.fake)) == 1

    # The bot is added back: Telegram says so with a my_chat_member update, which the bot asks
    # for (aiogram derives allowed_updates from the registered handlers).
    polls = [c for c in h.fake.calls if c.method == "getUpdates"]
    assert "my_chat_member" in polls[-1].params["allowed_updates"]
    since = h.fake.mark()
    h.fake.add_bot(OFFICIALS)
    await card_of(h, "2026-00002")
    await h.app.sender.drain(5)
    cards = [c.text or "" for c in h.fake.sent(OFFICIALS) if (c.text or "").startswith("🆕")]
    after = [c.text or "" for c in h.fake.calls[since:] if (c.text or "").startswith("🆕")]
    assert cards == after  # each once, in order, once the bot was back
    assert len(cards) == 2 and "2026-00001" in cards[0] and "2026-00002" in cards[1]
    assert rows(h, f"SELECT COUNT(*) FROM outbox WHERE {PENDING}")[0][0] == 0
    assert rows(h, "SELECT COUNT(*) FROM refused_chats")[0][0] == 0


async def file_and_card_refused(h: Harness, user: int, *, wait: bool = True) -> None:
    """A citizen files an appeal while the officials' group refuses the bot."""
    since = h.fake.mark()
    review = await reach_review(h, user)
    await h.confirm(user, review, "✅", expect="2026-")
    if wait:
        await h.fake.wait_for(
            lambda c: c.failed and h.fake.chat_of(c) == OFFICIALS and c.method == "sendMessage",
            since=since,
        )


async def test_a_group_that_took_the_bot_back_while_it_was_down_gets_its_card_at_start_up(
    with_admin: Harness,
) -> None:
    h = with_admin
    await h.fake.wait_for(lambda c: "Сводка" in (c.text or "") and not c.failed)
    h.fake.kick_bot(OFFICIALS)
    await file_and_card_refused(h, CITIZEN)
    await h.fake.wait_sent(ADMIN)

    # Restarted while still kicked: tried once more at start-up, refused, nobody re-alerted.
    since = h.fake.mark()
    await h.restart()
    await h.fake.wait_for(
        lambda c: c.failed and h.fake.chat_of(c) == OFFICIALS and c.method == "sendMessage",
        since=since,
    )
    await h.quiet(0.3)
    assert len(alerts(h.fake)) == 1
    assert len([c for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS]) == 1

    # Added back while the bot was down, and that update never arrives: the start-up retry.
    await stop_bot(h.app, h.task)
    h.fake.add_bot(OFFICIALS, notify=False)
    h.app, h.task = await start_bot(h.fake, h.app.settings, h.clock)
    card = await card_of(h, "2026-00001")
    assert any("▶️" in b for b, _ in h.fake.buttons(card))
    await h.app.sender.drain(5)
    assert rows(h, f"SELECT COUNT(*) FROM outbox WHERE {PENDING}")[0][0] == 0
    assert rows(h, "SELECT COUNT(*) FROM refused_chats")[0][0] == 0
    assert len(alerts(h.fake)) == 1


# --------------------------------------------------------------------------- item 6: atomic


class FailingEnqueue:
    """The outbox write for one chat fails `armed` times: a fault between an appeal's change
    and the enqueue of the message it causes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chat_id: int) -> None:
        self.armed = 0
        # Each backend's row writer, failing as its driver would; the one DATABASE_URL chose
        # runs.
        faults: list[tuple[Any, Exception]] = [
            (storage.sqlite.outbox, sqlite3.OperationalError("disk I/O error")),
            (storage.postgres.outbox, asyncpg.exceptions.DiskFullError("could not extend file")),
        ]
        for module, error in faults:
            self._arm(monkeypatch, module, error, chat_id)

    def _arm(
        self, monkeypatch: pytest.MonkeyPatch, module: Any, error: Exception, chat_id: int
    ) -> None:
        real: Callable[..., Awaitable[int]] = module._insert

        async def insert(conn: Any, chat: int, message: NewMessage, *rest: Any) -> int:
            if self.armed and chat == chat_id:
                self.armed -= 1
                raise error
            return await real(conn, chat, message, *rest)

        monkeypatch.setattr(module, "_insert", insert)


async def error_shown(h: Harness, since: int) -> None:
    await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "Извините" in (c.text or ""), since=since
    )


def state(h: Harness) -> tuple[Any, ...]:
    [appeal] = rows(h, "SELECT status, due_at, answer_text, duplicate_of FROM appeals LIMIT 1")
    history = rows(h, "SELECT COUNT(*) FROM status_history")[0][0]
    return (*appeal, history)


async def test_take_extend_and_answer_commit_with_the_citizens_notice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    fault = FailingEnqueue(monkeypatch, CITIZEN)
    card = await file_and_card(h, CITIZEN)

    before = state(h)
    since = h.fake.mark()
    fault.armed = 1
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "▶️"), first_name="Official900")
    await error_shown(h, since)
    assert state(h) == before  # neither the status nor its notice
    since = h.fake.mark()
    await group_alert(h, OFFICIAL, card, "▶️")  # the official tries again: both happen
    await h.reply(CITIZEN, since, expect="рассмотрении")

    before = state(h)
    since = h.fake.mark()
    fault.armed = 1
    await official_reply_failing(h, card, "⏳", "15.01.2027\nнужна экспертиза")
    await error_shown(h, since)
    assert state(h) == before
    since = h.fake.mark()
    await official_reply(h, card, "⏳", "15.01.2027\nнужна экспертиза")
    await h.reply(CITIZEN, since, expect="15 января 2027")

    before = state(h)
    fault.armed = 1
    preview = await reply_to(h, await answer_prompt(h, card), "Работы выполнены.")
    send = h.fake.find_button(preview, "✅")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, preview, send, first_name="Official900")
    await error_shown(h, since)
    assert state(h) == before
    since = h.fake.mark()
    h.fake.press(OFFICIAL, preview, send, first_name="Official900")  # «Send» again
    await h.reply(CITIZEN, since, expect="Работы выполнены.")
    assert state(h)[0] == "answered"
    assert len([t for t in h.texts_to(CITIZEN) if "Работы выполнены." in t]) == 1


async def answer_prompt(h: Harness, card: Call) -> Call:
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "✍️"), first_name="Official900")
    outcomes = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "✖️" in str(c.params.get("reply_markup")),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, outcomes, h.fake.buttons(outcomes)[0][1] or "")
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "force_reply" in str(c.params.get("reply_markup")),
        since=since,
    )


async def test_duplicate_commits_with_the_citizens_notice(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    await file_and_card(h, CITIZEN)
    second = await file_again(h, 1)
    fault = FailingEnqueue(monkeypatch, CITIZEN)
    fault.armed = 1
    since = h.fake.mark()
    await official_reply_failing(h, second, "🔁", "2026-00001")
    await error_shown(h, since)
    [dup] = rows(h, "SELECT status, duplicate_of FROM appeals WHERE reference = '2026-00002'")
    assert tuple(dup) == ("registered", None)
    since = h.fake.mark()
    await official_reply(h, second, "🔁", "2026-00001")
    told = await h.reply(CITIZEN, since, expect="2026-00001")
    assert "2026-00002" in (told.text or "")


async def official_reply_failing(h: Harness, card: Call, button: str, text: str) -> None:
    """As `official_reply`, for a «Send» whose handling fails (no confirmation comes)."""
    preview = await reply_to(h, await open_prompt(h, card, button), text)
    h.fake.press(OFFICIAL, preview, h.fake.find_button(preview, "✅"), first_name="Official900")


async def test_forward_commits_with_the_new_card_and_the_notice(
    forwarding: Harness,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = forwarding
    card = await file_and_card(h, CITIZEN)
    fault = FailingEnqueue(monkeypatch, DEPARTMENT_CHAT)
    for attempt in ("fails", "works"):
        fault.armed = 1 if attempt == "fails" else 0
        since = h.fake.mark()
        h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
        picker = await h.fake.wait_for(
            lambda c: c.method == "sendMessage" and "Отдел занятости" in str(
                c.params.get("reply_markup")),
            since=since,
        )  # fmt: skip
        since = h.fake.mark()
        h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, "Отдел занятости"))
        if attempt == "fails":
            await error_shown(h, since)
            [appeal] = rows(h, "SELECT status, officials_chat_id FROM appeals")
            assert tuple(appeal) == ("registered", OFFICIALS)
            cards = "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND purpose = 'card:1'"
            assert rows(h, cards, DEPARTMENT_CHAT)[0][0] == 0
    moved = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT_CHAT, since=since
    )
    assert "2026-00001" in (moved.text or "")
    await h.reply(CITIZEN, since, expect="2026-00001")
    [appeal] = rows(h, "SELECT status, officials_chat_id FROM appeals")
    assert tuple(appeal) == ("forwarded", DEPARTMENT_CHAT)
