"""Issue #12, item 3 (one instance): webhook mode. The fake Bot API posts updates to the
bot's webhook as Telegram does (a chat's next update only once the previous one was
answered; one not taken is posted again), and the bot acknowledges an update only after
handling it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import App, create_app
from storage.postgres.database import PostgresDatabase
from storage.sqlite.database import SQLiteDatabase
from tests.conftest import OFFICIALS, FrozenClock, make_settings
from tests.e2edb import query
from tests.fakeapi import WEBHOOK_CONFLICT, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import VALID_TEXT
from tests.test_e2e_process import USER, press, say, to_the_city

pytestmark = pytest.mark.e2e
SECRET = "s3cret-for_the-tests"
PATH = "/telegram/updates"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def webhook_env(port: int) -> dict[str, str]:
    return {
        "WEBHOOK_URL": f"http://127.0.0.1:{port}{PATH}",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "OFFICIALS_CHAT_ID": str(OFFICIALS),
    }


async def http_get(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status


def rows(database: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    return query(database, sql, *params)


# --------------------------------------------------------------------- the real process


async def test_a_citizen_files_an_appeal_over_the_webhook(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    bot = RealBot(fake, tmp_path, **webhook_env(port))
    await bot.start()
    assert fake.webhook is not None
    assert fake.webhook["url"] == f"http://127.0.0.1:{port}{PATH}"
    assert fake.webhook["secret_token"] == SECRET
    allowed = set(fake.webhook["allowed_updates"])
    assert {"message", "callback_query", "my_chat_member"} <= allowed
    assert not allowed & {"inline_query", "poll", "chat_join_request", "message_reaction"}
    assert await http_get(f"http://127.0.0.1:{port}/healthz") == 200

    await to_the_city(fake)
    await say(fake, "Туран")  # … and its district
    files_prompt = await say(fake, VALID_TEXT)
    location_prompt = await press(fake, files_prompt, "Пропустить")
    skip = fake.buttons(location_prompt)[1][0]
    await say(fake, skip)  # the name
    await say(fake, "Серікова Айгүл")  # the phone
    await say(fake, "+7 702 000 11 22")  # an address for a written answer, or not
    since = fake.mark()
    fake.user_message(USER, skip)
    review = await fake.wait_for(
        lambda c: c.method == "sendMessage" and any("✅" in b for b, _ in fake.buttons(c)),
        since=since,
        timeout=10,
    )
    since = fake.mark()
    fake.press(USER, review, fake.find_button(review, "✅"))
    registered = await fake.wait_for(
        lambda c: c.method == "editMessageText" and "<b>" in (c.text or ""), since=since, timeout=10
    )
    assert "-0000" in (registered.text or "")
    # The card reaches the officials from the outbox, as in polling mode.
    await fake.wait_sent(OFFICIALS, since=since, timeout=10)
    stopped_at = fake.mark()
    assert await bot.stop() == 0, bot.log.read_text()

    # Every update went by webhook, each taken at the first POST; none was polled.
    assert fake.webhook_attempts
    assert all(a.status == 200 for a in fake.webhook_attempts)
    assert "getUpdates" not in fake.methods(include_polling=True)
    assert rows(bot.database, "SELECT kind, category, text FROM appeals") == [
        ("proposal", "landscaping", VALID_TEXT)
    ]
    # Stopping leaves the webhook set: another instance may be serving it.
    assert "deleteWebhook" not in [c.method for c in fake.calls[stopped_at:]]
    assert fake.webhook is not None

    # Back to polling: the bot deletes the webhook first, or Telegram refuses getUpdates.
    del bot.settings["WEBHOOK_URL"]
    await bot.start()
    assert fake.webhook is None
    assert not [c for c in fake.calls[stopped_at:] if c.error and c.error.get("error_code") == 409]
    my = await say(fake, "/my")
    assert "-0000" in (my.text or "")
    assert await bot.stop() == 0


async def test_without_the_right_secret_an_update_is_refused_and_not_handled(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()))
    await bot.start()
    forged = {
        "update_id": 5001,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private", "first_name": "X"},
            "from": {"id": USER, "is_bot": False, "first_name": "X"},
            "text": "/start",
        },
    }
    since = fake.mark()
    assert await fake.post_webhook(forged, secret="not-the-secret") == 401
    assert await fake.post_webhook(forged, secret=None) == 401
    await asyncio.sleep(0.5)
    assert not [c for c in fake.calls[since:] if fake.chat_of(c) == USER]
    assert rows(bot.database, "SELECT 1 FROM processed_updates WHERE update_id = 5001") == []
    # The same request with the secret is handled: it was the header that was refused.
    assert await fake.post_webhook(forged, secret=SECRET) == 200
    assert [c for c in fake.calls[since:] if fake.chat_of(c) == USER]
    assert await bot.stop() == 0
    assert rows(bot.database, "SELECT 1 FROM processed_updates WHERE update_id = 5001") == [(1,)]
    assert "without the right secret refused" in bot.log.read_text()
    assert SECRET not in bot.log.read_text()


async def test_sigterm_lets_the_update_in_hand_finish_before_it_is_acknowledged(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()))
    await bot.start()
    choose = await say(fake, "/start")
    since = fake.mark()
    # Telegram is slow to accept the reply: SIGTERM arrives while the handler waits for it.
    fake.slow_next("editMessageText", 1.5)
    pressed = fake.press(USER, choose, fake.find_button(choose, "Қазақша"))
    await asyncio.sleep(0.5)
    assert await bot.stop() == 0, bot.log.read_text()
    edit = await fake.wait_for(lambda c: c.method == "editMessageText", since=since, timeout=1)
    assert "Қазақша" in (edit.text or "")
    # Answered once the reply was sent: Telegram would not deliver it again.
    assert await fake.wait_answered(pressed["update_id"], timeout=1) == [200]
    [answer] = fake.webhook_attempts[-1:]
    assert answer.ts >= edit.ts + 1.0  # after Telegram took the reply (1.5 s), not before
    [(language,)] = rows(bot.database, "SELECT language FROM citizens WHERE id = ?", USER)
    assert language == "kk"


async def test_a_webhook_url_without_a_secret_is_refused_at_start_up(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = webhook_env(free_port())
    del env["WEBHOOK_SECRET"]
    bot = RealBot(fake, tmp_path, **env)
    await bot.start(wait=False)
    assert await bot.exited() == 2
    log = bot.log.read_text()
    assert "Configuration error: WEBHOOK_SECRET is required when WEBHOOK_URL is set" in log
    assert "setWebhook" not in fake.methods()


async def test_a_webhook_url_telegram_refuses_stops_start_up_with_one_line(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: HTTPS url must be provided")
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()))
    await bot.start(wait=False)
    assert await bot.exited() == 2
    log = bot.log.read_text()
    assert "Configuration error: WEBHOOK_URL refused by Telegram: Bad Request: bad webhook" in log
    assert "Traceback" not in log


async def test_sigterm_while_telegram_does_not_answer_set_webhook_stops_cleanly(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    for _ in range(20):
        fake.fail_next("setWebhook", 502, "Bad Gateway")
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()))
    since = fake.mark()
    await bot.start(wait=False)
    await fake.wait_for(lambda c: c.method == "setWebhook" and c.failed, since=since, timeout=30)
    assert await bot.stop() == 0, bot.log.read_text()
    assert "trying again" in bot.log.read_text()


# --------------------------------------------------------------------- in process


@asynccontextmanager
async def webhook_bot(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock, answer_within: float = 50
) -> AsyncIterator[tuple[App, str]]:
    port = free_port()
    settings = make_settings(
        fake.base_url,
        tmp_path / "bot.db",
        webhook_url=f"http://127.0.0.1:{port}{PATH}",
        webhook_secret=SECRET,
        webhook_listen=f"127.0.0.1:{port}",
    )
    app = await create_app(settings, clock=clock)
    stop = asyncio.Event()
    since = fake.mark()
    task = asyncio.create_task(app.run_webhook(stop, answer_within=answer_within))
    await fake.wait_for(lambda c: c.method == "setWebhook", since=since, timeout=10)
    try:
        yield app, f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_an_update_that_fails_is_answered_200_and_not_delivered_again(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error handler tells the citizen; a 500 would have Telegram deliver the update
    again (it is not marked handled), and the citizen would hear "something went wrong"
    once per redelivery while their next messages wait."""
    async with webhook_bot(fake, tmp_path, clock) as (app, _base):
        choose = await say(fake, "/start")

        async def broken(self: object, user_id: int, language: str) -> None:
            raise RuntimeError("a bug in the language step")

        monkeypatch.setattr(type(app.repo), "set_language", broken)
        since = fake.mark()
        pressed = fake.press(USER, choose, fake.find_button(choose, "Русский"))
        sorry = await fake.wait_sent(USER, method="sendMessage", since=since, timeout=10)
        assert "что-то пошло не так" in (sorry.text or "")
        assert await fake.wait_answered(pressed["update_id"]) == [200]
        await asyncio.sleep(fake.webhook_retry * 3)
        assert fake.webhook_statuses(pressed["update_id"]) == [200]
        # The chat goes on: its next update is delivered and handled.
        monkeypatch.undo()
        again = await say(fake, "/start")
        assert fake.buttons(again)
    told = [c for c in fake.calls[since:] if "пошло не так" in (c.text or "")]
    assert len(told) == 1


async def test_an_update_handled_too_long_is_answered_503_and_its_redelivery_skipped(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    async with webhook_bot(fake, tmp_path, clock, answer_within=0.3):
        since = fake.mark()
        fake.slow_next("sendMessage", 1.2)  # Telegram slow to take the reply
        update = fake.user_message(USER, "/start")
        await fake.wait_for(
            lambda c: c.method == "sendMessage" and fake.chat_of(c) == USER,
            since=since,
            timeout=10,
        )
        statuses = await fake.wait_answered(update["update_id"])
        assert statuses[0] == 503 and statuses[-1] == 200, statuses
        await asyncio.sleep(0.3)
        # Handled once, however many times it was posted.
        replies = fake.sent(USER, method="sendMessage")
        assert len(replies) == 1, fake.dump()


async def test_healthz_is_503_when_the_database_does_not_answer(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    async with webhook_bot(fake, tmp_path, clock) as (app, base):
        assert await http_get(f"{base}/healthz") == 200
        db = app.db
        if isinstance(db, SQLiteDatabase):
            # Another statement holds the database (e.g. a long report) for longer than the
            # probe may wait.
            async with db.lock:
                assert await http_get(f"{base}/healthz") == 503
            assert await http_get(f"{base}/healthz") == 200
            # The connection is gone.
            await db.conn.close()
        else:
            assert isinstance(db, PostgresDatabase)
            # Another transaction holds the table the probe reads for longer than it waits.
            async with db.transaction() as conn:
                await conn.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
                assert await http_get(f"{base}/healthz") == 503
            assert await http_get(f"{base}/healthz") == 200
            # The server is gone (as far as this instance can tell).
            await db.pool.close()
        assert await http_get(f"{base}/healthz") == 503


async def test_getupdates_is_refused_while_a_webhook_is_set(fake: FakeTelegram) -> None:
    """The fake behaves as Telegram does here, which the polling bot's deleteWebhook at
    start relies on."""
    bot = fake.make_bot()
    try:
        await bot.set_webhook("http://127.0.0.1:9/", secret_token=SECRET)
        with pytest.raises(Exception, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()
        assert await bot.get_updates() == []
    finally:
        await bot.session.close()
    assert WEBHOOK_CONFLICT.startswith("Conflict")
