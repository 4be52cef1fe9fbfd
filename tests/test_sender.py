"""The outbox sender against the fake Bot API: order, limits and every kind of Telegram failure."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto

import bot.delivery.sender as sender_module
from bot.delivery.outbox import Outbox, answer_key, unreached
from bot.delivery.sender import OutboxSender, SlidingWindow, backoff_delay
from bot.telegram.session import IgnoreNotModified
from storage.outbox import NewMessage, Outgoing
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.outbox import SQLiteOutboxStore
from tests.fakeapi import Call, FakeTelegram

BLOCKED = "Forbidden: bot was blocked by the user"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Env:
    fake: FakeTelegram
    path: Path
    db: SQLiteDatabase
    store: SQLiteOutboxStore
    outbox: Outbox
    bot: Bot
    senders: list[OutboxSender] = field(default_factory=list)

    def sender(self, **options: Any) -> OutboxSender:
        # Short private interval: these tests are about delivery, not about the limits.
        options.setdefault("private_interval", 0.05)
        sender = OutboxSender(self.bot, self.store, self.outbox, utc_now, **options)
        self.senders.append(sender)
        return sender

    async def reopen(self) -> None:
        """A fresh connection to the same file, as a restarted process would have."""
        await self.db.close()
        self.db = await SQLiteDatabase.open(self.path)
        self.store = SQLiteOutboxStore(self.db)
        self.outbox = Outbox(self.store, utc_now)

    async def add_citizen(self, user_id: int) -> None:
        await self.db.execute(
            "INSERT INTO citizens (id, created_at) VALUES (?, ?)", (user_id, utc_now().isoformat())
        )

    async def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in await self.db.fetchall("SELECT * FROM outbox ORDER BY id")]

    def delivered(self, chat_id: int | None = None) -> list[str]:
        """Texts Telegram accepted, in the order it accepted them."""
        return [c.text or "" for c in self.ok_calls(chat_id)]

    def ok_calls(self, chat_id: int | None = None, method: str = "sendMessage") -> list[Call]:
        return self.fake.sent(chat_id, method)

    def attempts(self, chat_id: int, method: str = "sendMessage") -> list[Call]:
        return self.fake.sent(chat_id, method, include_failed=True)


@pytest.fixture
async def env(fake: FakeTelegram, tmp_path: Path) -> AsyncIterator[Env]:
    path = tmp_path / "x.db"
    db = await SQLiteDatabase.open(path)
    store = SQLiteOutboxStore(db)
    bot = fake.make_bot()
    environment = Env(fake, path, db, store, Outbox(store, utc_now), bot)
    yield environment
    for sender in environment.senders:
        await sender.stop()
    await bot.session.close()
    await environment.db.close()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Rate", callback_data="rate:1")]]
    )


# --------------------------------------------------------------------------- pure parts


def test_sliding_window_allows_count_per_period() -> None:
    group = SlidingWindow(2, 60.0)
    assert group.ready_at(0.0) == 0.0
    group.take(0.0)
    group.take(1.0)
    assert group.ready_at(2.0) == 60.0
    group.take(60.0)
    assert group.ready_at(60.5) == 61.0
    glob = SlidingWindow.per_second(30.0)
    assert (glob.count, glob.period) == (30, 1.0)
    slow = SlidingWindow.per_second(0.5)
    assert (slow.count, slow.period) == (1, 2.0)


def test_pacing_keeps_its_rhythm_when_each_send_starts_a_little_late() -> None:
    glob = SlidingWindow.per_second(30.0)
    now = 0.0
    for _ in range(300):
        now = glob.ready_at(now) + 0.004  # every wake-up 4 ms late
        glob.take(now)
    # 300 sends at 30/s take 10 s, not 300 x (33 ms + 4 ms) = 11.2 s ...
    assert now < 10.1
    # ... and never more than 30 in any second.
    window = SlidingWindow(30, 1.0)
    for t in glob.times:
        assert window.ready_at(t) <= t + 1e-9
        window.take(t)


def test_pacing_banks_no_idle_time() -> None:
    glob = SlidingWindow.per_second(30.0)
    glob.take(0.0)
    glob.take(5.0)  # after a quiet spell
    assert glob.ready_at(5.0) == pytest.approx(5.0 + 1 / 30)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 1.0, 300.0) for n in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300,
    ]  # fmt: skip
    assert backoff_delay(10_000, 1.0, 300.0) == 300.0


# --------------------------------------------------------------------------- delivery


async def test_sends_in_order_and_records_message_ids(env: Env) -> None:
    sender = env.sender()
    sender.start()
    for text in ("one", "two", "three"):
        await env.outbox.send_text(101, text)
    await env.outbox.send_text(-500, "<b>Card</b>", purpose="card:1", reply_markup=keyboard())
    await sender.drain(5)
    assert env.delivered(101) == ["one", "two", "three"]
    stored = await env.rows()
    assert all(r["sent_at"] and r["message_id"] for r in stored)
    card = env.ok_calls(-500)[0]
    assert await env.store.message_id_for("card:1") == (-500, card.result["message_id"])
    assert env.fake.buttons(card) == [("Rate", "rate:1")]

    # The id is what a later edit needs; the edit itself goes through the outbox too.
    chat_id, message_id = await env.store.message_id_for("card:1") or (0, 0)
    await env.outbox.send(
        chat_id, "editMessageReplyMarkup", {"message_id": message_id}, purpose="card:1"
    )
    await sender.drain(5)
    edited = env.fake.message(chat_id, message_id) or {}
    assert edited["text"] == "<b>Card</b>"
    assert "reply_markup" not in edited
    assert await env.store.message_id_for("card:1") == (-500, message_id)


async def test_long_text_arrives_as_three_messages_keyboard_last(env: Env) -> None:
    text = "\n".join(f"{i:04d} " + "жол " * 20 for i in range(120))[:10_000]
    assert len(text) == 10_000
    sender = env.sender()
    sender.start()
    ids = await env.outbox.send_text(101, text, reply_markup=keyboard())
    await sender.drain(5)
    calls = env.ok_calls(101)
    assert len(ids) == len(calls) == 3
    assert all(len(c.text or "") < 4096 for c in calls)
    assert "\n".join(c.text or "" for c in calls) == text
    assert [bool(env.fake.buttons(c)) for c in calls] == [False, False, True]


async def test_dedupe_key_sends_once(env: Env) -> None:
    sender = env.sender()
    sender.start()
    await env.outbox.send_text(101, "Appeal 2026-00001 registered", dedupe_key="reg:1")
    await sender.drain(5)
    # The same update handled again after a crash enqueues the same logical message again.
    await env.outbox.send_text(101, "Appeal 2026-00001 registered", dedupe_key="reg:1")
    await sender.drain(5)
    assert env.delivered(101) == ["Appeal 2026-00001 registered"]


async def test_server_errors_retry_with_backoff_keeping_chat_order(env: Env) -> None:
    env.fake.fail_chat(101, "sendMessage", 502, "Bad Gateway", times=2)
    sender = env.sender(base_backoff=0.2)
    await env.outbox.send_text(101, "first")
    await env.outbox.send_text(101, "second")
    await env.outbox.send_text(202, "other chat")
    sender.start()
    await sender.drain(5, all_pending=True)

    tries = env.attempts(101)
    assert [(c.text, c.failed) for c in tries] == [
        ("first", True),
        ("first", True),
        ("first", False),
        ("second", False),
    ]
    # 0.2 s then 0.4 s between the attempts; a small allowance for timestamp jitter.
    assert tries[1].ts - tries[0].ts >= 0.19
    assert tries[2].ts - tries[1].ts >= 0.39
    # The other chat did not wait for chat 101's retries.
    assert env.ok_calls(202)[0].ts < tries[1].ts
    first = (await env.rows())[0]
    assert (first["attempts"], first["last_error"]) == (2, "TelegramServerError: Bad Gateway")


async def test_retry_after_waits_and_sends_once(env: Env) -> None:
    env.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    sender = env.sender()
    sender.start()
    await env.outbox.send_text(101, "after the flood")
    await sender.drain(5, all_pending=True)
    tries = env.attempts(101)
    assert [c.failed for c in tries] == [True, False]
    assert tries[1].ts - tries[0].ts >= 1.0
    assert env.delivered() == ["after the flood"]
    row = (await env.rows())[0]
    assert row["attempts"] == 0  # a flood wait is not a failure


async def test_blocked_citizen_is_marked_unreachable_others_unaffected(env: Env) -> None:
    for user in (101, 102, 103):
        await env.add_citizen(user)
    env.fake.fail_chat(102, "sendMessage", 403, BLOCKED)
    sender = env.sender()
    for n in range(3):
        for user in (101, 102, 103):
            await env.outbox.send_text(user, f"{user}-{n}")
    sender.start()
    await sender.drain(5, all_pending=True)

    assert env.delivered(101) == ["101-0", "101-1", "101-2"]
    assert env.delivered(103) == ["103-0", "103-1", "103-2"]
    assert env.delivered(102) == []
    assert len(env.attempts(102)) == 1  # one 403 is enough to stop trying
    unreachable = await env.db.fetchall("SELECT id, unreachable FROM citizens ORDER BY id")
    assert [tuple(r) for r in unreachable] == [(101, 0), (102, 1), (103, 0)]
    dropped = [r for r in await env.rows() if r["chat_id"] == 102]
    assert len(dropped) == 3
    assert all(r["dropped_at"] and BLOCKED in r["last_error"] for r in dropped)

    # A later message is still tried once: the citizen may have unblocked the bot meanwhile.
    await env.outbox.send_text(102, "102-later")
    await sender.drain(5, all_pending=True)
    assert [c.text for c in env.attempts(102)] == ["102-0", "102-later"]
    assert env.delivered(102) == []


async def test_an_answer_queued_while_a_drop_is_read_is_told_with_it(env: Env) -> None:
    """The officials' notes are read before the drop and written in its transaction; an
    answer queued in between would be dropped untold, so the drop is read again."""
    await env.add_citizen(102)
    env.fake.fail_chat(102, "sendMessage", 403, BLOCKED)
    sender = env.sender()
    asked: list[list[str]] = []

    async def undelivered(chat_id: int, keys: list[str]) -> dict[str, Outgoing]:
        asked.append(keys)
        if len(asked) == 1:  # the official's answer lands right after the rows were read
            await env.outbox.send_text(102, "answer", dedupe_key=answer_key(1, "t"))
        return {
            key: env.outbox.text(-100, f"lost {key}", dedupe_key=f"note:{key}")
            for key in keys
            if unreached(key)
        }

    sender.undelivered = undelivered
    await env.outbox.send_text(102, "first", dedupe_key="first")
    sender.start()
    await sender.drain(5, all_pending=True)
    assert asked == [["first"], ["first", answer_key(1, "t")]]
    assert env.delivered(-100) == [f"lost {answer_key(1, 't')}"]
    assert [r["dropped_at"] is not None for r in await env.rows() if r["chat_id"] == 102] == [
        True,
        True,
    ]


async def test_group_migration_follows_the_new_chat(env: Env) -> None:
    env.fake.fail_next(
        "sendMessage",
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": -100777},
    )
    sender = env.sender()
    await env.outbox.send_text(-100, "card 1")
    await env.outbox.send_text(-100, "card 2")
    sender.start()
    await sender.drain(5)
    assert env.delivered(-100777) == ["card 1", "card 2"]
    assert await env.store.resolve_chat(-100) == -100777

    await env.outbox.send_text(-100, "card 3")
    await sender.drain(5)
    assert env.delivered(-100777) == ["card 1", "card 2", "card 3"]
    assert env.delivered(-100) == []
    assert {r["chat_id"] for r in await env.rows()} == {-100777}


async def test_restart_sends_what_was_left_exactly_once(env: Env) -> None:
    texts = [f"reminder {n}" for n in range(4)]
    for text in texts:
        await env.outbox.send_text(101, text)
    await env.outbox.send_text(202, "digest")
    await asyncio.sleep(0.05)
    assert env.delivered() == []  # nothing sends while no sender runs

    first = env.sender(private_interval=0.3)
    first.start()
    await env.fake.wait_for(lambda c: c.text == "reminder 1" and not c.failed)
    await first.stop()
    sent_before = len(env.delivered())
    assert 2 <= sent_before < 5

    await env.reopen()  # a new process on the same database
    second = env.sender()
    second.start()
    await second.drain(5, all_pending=True)
    assert env.delivered(101) == texts
    assert Counter(env.delivered()) == Counter([*texts, "digest"])


async def test_a_slow_broadcast_leaves_sends_in_flight_to_the_others(env: Env) -> None:
    # Telegram takes its time over every message: the broadcast's rows stay in flight.
    env.fake.slow_next("sendMessage", 30.0, times=20)
    sender = env.sender(max_in_flight=6)
    assert sender.bulk_in_flight == 6 - sender_module.IN_FLIGHT_KEPT
    announcements = [Outgoing(200 + n, [NewMessage("sendMessage", {"text": f"📢 {n}"})],
                              utc_now()) for n in range(10)]  # fmt: skip
    await env.outbox.queue(announcements, bulk=True)
    sender.start()

    def arrived() -> list[str]:
        return [c.text or "" for c in env.fake.arrivals if c.method == "sendMessage"]

    async def until_arrived(count: int) -> None:
        deadline = time.monotonic() + 20
        while len(arrived()) < count:
            assert time.monotonic() < deadline, arrived()
            await asyncio.sleep(0.01)

    await until_arrived(sender.bulk_in_flight)
    await env.outbox.send_text(-100, "🆕 card")
    await env.outbox.send_text(101, "answer")
    await until_arrived(sender.bulk_in_flight + 2)
    # The card and the answer were started beside the announcements still on their way, and
    # no announcement was started meanwhile.
    assert sorted(arrived()[sender.bulk_in_flight :]) == ["answer", "🆕 card"]
    assert all(t.startswith("📢") for t in arrived()[: sender.bulk_in_flight])
    await sender.stop(timeout=0.5)


async def test_stop_lets_the_row_in_flight_finish(env: Env) -> None:
    env.fake.slow_next("sendMessage", 0.4)
    sender = env.sender()
    sender.start()
    await env.outbox.send_text(101, "slow one")
    await asyncio.sleep(0.1)
    await sender.stop()
    assert not sender.running
    assert env.delivered() == ["slow one"]
    row = (await env.rows())[0]
    assert row["sent_at"] is not None and row["message_id"] is not None


async def test_a_failed_mark_is_retried_not_the_send(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "MARK_PAUSE", 0.01, raising=False)
    real_mark: Callable[..., Any] = env.store.mark_sent
    failures = iter([True])

    async def flaky_mark(
        row_id: int,
        message_id: int | None,
        now: datetime,
        message_ids: Sequence[int] = (),
        poll_id: str | None = None,
    ) -> None:
        if next(failures, False):
            raise sqlite3.OperationalError("database is locked")
        await real_mark(row_id, message_id, now, message_ids, poll_id=poll_id)

    monkeypatch.setattr(env.store, "mark_sent", flaky_mark)
    sender = env.sender(base_backoff=0.05)
    sender.start()
    row_id = (await env.outbox.send_text(101, "Telegram has it"))[0]
    await sender.drain(5, all_pending=True)
    assert env.delivered(101) == ["Telegram has it"]  # once: sending again would repeat it
    row = await env.store.get(row_id)
    assert row is not None and row["sent_at"] is not None and row["attempts"] == 0


async def test_stop_lets_a_delivered_row_be_marked(env: Env) -> None:
    env.fake.slow_next("sendMessage", 0.2)
    sender = env.sender()
    sender.start()
    row_id = (await env.outbox.send_text(101, "answered during shutdown"))[0]
    await env.fake.wait_arrival(lambda c: c.method == "sendMessage")
    async with env.db.lock:  # the database is busy when Telegram's answer arrives …
        await env.fake.wait_for(lambda c: c.method == "sendMessage" and not c.failed)
        # … and the shutdown runs out of patience meanwhile, cancelling what is in flight.
        stopping = asyncio.create_task(sender.stop(timeout=0.05))
        await asyncio.wait({stopping}, timeout=0.5)
    await stopping
    row = await env.store.get(row_id)
    assert row is not None and row["sent_at"] is not None

    await env.reopen()  # the next process sends only what Telegram does not have
    second = env.sender()
    second.start()
    await second.drain(5, all_pending=True)
    assert env.delivered(101) == ["answered during shutdown"]


async def test_combined_faults_lose_nothing_and_duplicate_nothing(env: Env) -> None:
    citizens = (101, 102, 103, 104)
    for user in citizens:
        await env.add_citizen(user)
    env.fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", {"retry_after": 1})
    env.fake.fail_next("sendMessage", 502, "Bad Gateway")
    env.fake.fail_chat(103, "sendMessage", 403, BLOCKED)
    sender = env.sender(base_backoff=0.2)
    sender.start()
    for n in range(3):
        for user in citizens:
            await env.outbox.send_text(user, f"{user}:{n}")
    await sender.drain(10, all_pending=True)

    assert sum(c.failed and c.error["error_code"] == 429 for c in env.fake.calls)  # type: ignore[index]
    assert sum(c.failed and c.error["error_code"] == 502 for c in env.fake.calls)  # type: ignore[index]
    successes = Counter(env.delivered())
    assert all(count == 1 for count in successes.values()), successes
    for user in (101, 102, 104):
        assert env.delivered(user) == [f"{user}:{n}" for n in range(3)]
    assert env.delivered(103) == []
    stored = await env.rows()
    assert len(stored) == 12
    assert all((r["sent_at"] is None) != (r["dropped_at"] is None) for r in stored)
    assert {r["chat_id"] for r in stored if r["dropped_at"]} == {103}
    row = await env.db.fetchone("SELECT unreachable FROM citizens WHERE id = 103")
    assert row is not None and row[0] == 1
    assert await env.store.pending_count() == 0


# --------------------------------------------------------------------------- limits


async def test_private_chat_gets_one_message_per_interval(env: Env) -> None:
    sender = env.sender(private_interval=0.2)
    for n in range(5):
        await env.outbox.send_text(101, f"m{n}")
    started = time.monotonic()
    sender.start()
    await sender.drain(5)
    assert time.monotonic() - started >= 0.8
    calls = env.ok_calls(101)
    assert [c.text for c in calls] == [f"m{n}" for n in range(5)]
    assert all(b.ts - a.ts >= 0.18 for a, b in itertools.pairwise(calls))


async def test_global_limit_across_chats(env: Env) -> None:
    sender = env.sender(global_per_second=4)
    for user in range(1, 7):
        await env.outbox.send_text(user, f"to {user}")
    started = time.monotonic()
    sender.start()
    await sender.drain(5)
    assert time.monotonic() - started >= 1.0
    stamps = sorted(c.ts for c in env.ok_calls())
    assert len(stamps) == 6
    assert stamps[4] - stamps[0] >= 0.95  # the fifth waits for the first one's second to pass


# --------------------------------------------------------------------------- other answers


async def test_not_modified_edit_counts_as_sent(env: Env) -> None:
    sender = env.sender()
    sender.start()
    await env.outbox.send_text(101, "Status: new", purpose="status")
    await sender.drain(5)
    chat_id, message_id = await env.store.message_id_for("status") or (0, 0)
    row_id = await env.outbox.send(
        chat_id, "editMessageText", {"message_id": message_id, "text": "Status: new"}
    )
    await sender.drain(5)
    assert env.attempts(101, "editMessageText")[0].failed  # Telegram said "not modified"
    row = await env.store.get(row_id)
    assert row is not None and row["sent_at"] and row["message_id"] == message_id


async def test_a_deletion_of_a_message_already_gone_is_done_and_an_album_keeps_every_id(
    env: Env,
) -> None:
    """Someone in the chat deleted it first: the row did what it was for. A media group is
    several messages: the row keeps all their ids, so each can be deleted later."""
    sender = env.sender()
    sender.start()
    media = [{"type": "photo", "media": f"p{i}"} for i in range(3)]
    album = await env.outbox.send(-500, "sendMediaGroup", {"media": media})
    await sender.drain(5)
    row = await env.store.get(album)
    assert row is not None
    first, *rest = json.loads(row["message_ids"])
    assert first == row["message_id"] and len(rest) == 2
    gone = await env.outbox.send(-500, "deleteMessage", {"message_id": 999})
    await sender.drain(5)
    assert env.attempts(-500, "deleteMessage")[0].failed  # Telegram: "message to delete not found"
    row = await env.store.get(gone)
    assert row is not None and row["sent_at"] and row["dropped_at"] is None


async def test_bad_requests_drop_only_that_row(env: Env) -> None:
    env.fake.fail_next("sendMessage", 400, "Bad Request: chat not found")
    env.fake.fail_next("sendMessage", 400, "Bad Request: message text is too weird")
    sender = env.sender()
    await env.outbox.send_text(101, "lost 1")
    await env.outbox.send_text(101, "lost 2")
    await env.outbox.send_text(101, "kept")
    sender.start()
    await sender.drain(5)
    assert env.delivered(101) == ["kept"]
    stored = await env.rows()
    assert [bool(r["dropped_at"]) for r in stored] == [True, True, False]
    assert "chat not found" in stored[0]["last_error"]


async def test_unparsable_html_is_sent_as_plain_text(env: Env) -> None:
    env.fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities: unclosed tag")
    sender = env.sender()
    sender.start()
    await env.outbox.send_text(101, "<b>Answer</b> &amp; <i>details")
    await sender.drain(5)
    call = env.ok_calls(101)[0]
    assert call.text == "Answer & details"
    assert "parse_mode" not in call.params


async def test_network_timeout_is_retried(env: Env) -> None:
    env.bot.session.timeout = 0.3
    env.fake.slow_next("sendMessage", 1.0)
    sender = env.sender(base_backoff=0.1)
    sender.start()
    row_id = (await env.outbox.send_text(101, "through the storm"))[0]
    await sender.drain(5, all_pending=True)
    row = await env.store.get(row_id)
    assert row is not None and row["sent_at"] is not None
    assert row["attempts"] == 1 and "timeout" in row["last_error"]
    assert "through the storm" in env.delivered()


async def test_media_group_and_other_methods(env: Env) -> None:
    sender = env.sender()
    sender.start()
    group = await env.outbox.send(
        -500,
        "sendMediaGroup",
        {"media": [InputMediaPhoto(media="ph-1", caption="Photos"), InputMediaPhoto(media="ph-2")]},
        purpose="photos",
    )
    await env.outbox.send(-500, "sendLocation", {"latitude": 43.24, "longitude": 76.95})
    await env.outbox.send(-500, "sendDocument", {"document": "doc-1", "caption": "Answer"})
    await sender.drain(5)
    messages = env.ok_calls(-500, "sendMediaGroup")[0].result
    assert await env.store.message_id_for("photos") == (-500, messages[0]["message_id"])
    assert [c.method for c in env.ok_calls(-500, None)] == [  # type: ignore[arg-type]
        "sendMediaGroup",
        "sendLocation",
        "sendDocument",
    ]
    stored = await env.store.get(group)
    assert stored is not None and stored["message_id"] == messages[0]["message_id"]


async def test_broken_rows_and_failing_reads_do_not_stop_the_loop(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender_module, "ERROR_PAUSE", 0.05)
    broken = await env.store.add(101, "sendNothing", {}, now=utc_now())
    real_due: Callable[..., Any] = env.store.due
    failures = iter([True])
    failed = asyncio.Event()

    async def flaky_due(now: datetime, limit: int) -> Any:
        if next(failures, False):
            failed.set()
            raise RuntimeError("database is locked")
        return await real_due(now, limit)

    monkeypatch.setattr(env.store, "due", flaky_due)
    sender = env.sender()
    sender.start()
    # The sender's loop meets the failing read (not `drain` below, which reads `due` too).
    await asyncio.wait_for(failed.wait(), 5)
    await env.outbox.send_text(101, "still works")
    await sender.drain(5)
    assert env.delivered(101) == ["still works"]
    row = await env.store.get(broken)
    assert row is not None and row["dropped_at"] and "invalid row" in row["last_error"]


async def test_works_with_the_production_bot_setup(env: Env) -> None:
    # As bot.app builds it: HTML by default and "not modified" answered as success.
    bot = env.fake.make_bot(default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(IgnoreNotModified())
    sender = OutboxSender(bot, env.store, env.outbox, utc_now, private_interval=0.05)
    env.senders.append(sender)
    sender.start()
    try:
        await env.outbox.send(101, "sendDocument", {"document": "d-1", "caption": "<b>A</b>"})
        await env.outbox.send_text(101, "1 < 2", parse_mode=None, purpose="plain")
        await sender.drain(5)
        document, plain = env.ok_calls(101, None)  # type: ignore[arg-type]
        assert document.params["parse_mode"] == "HTML"
        assert "parse_mode" not in plain.params
        chat_id, message_id = await env.store.message_id_for("plain") or (0, 0)
        edit = {"message_id": message_id, "text": "1 < 2", "parse_mode": None}
        row_id = await env.outbox.send(chat_id, "editMessageText", edit)
        await sender.drain(5)
        row = await env.store.get(row_id)
        assert row is not None and row["sent_at"] and row["message_id"] == message_id
    finally:
        await sender.stop()
        await bot.session.close()
