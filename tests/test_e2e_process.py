"""The bot as an operator runs it: `python -m bot` in its own process, stopped with SIGTERM
in the middle of a dialog and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import e2edb
from tests.conftest import OFFICIALS, TOKEN
from tests.e2edb import query
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import VALID_TEXT

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
USER = 601


class BotProcess:
    def __init__(
        self, fake: FakeTelegram, workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.fake = fake
        self.workdir = workdir
        self.env = env or {}
        self.log = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": self.fake.base_url,
            "DATABASE_URL": e2edb.database_url(
                self.workdir / "data" / "bot.db", relative="sqlite:///data/bot.db"
            ),
            "OFFICIALS_CHAT_ID": str(OFFICIALS),
            **self.env,
        }
        since = self.fake.mark()
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.workdir, env=env, stdout=log, stderr=log
            )
        await self.fake.wait_for(lambda c: c.method == "getUpdates", since=since, timeout=30)

    async def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), 20)

    async def kill(self) -> None:
        """As a power cut or the OOM killer would: nothing gets to finish."""
        assert self.proc is not None
        self.proc.kill()
        await asyncio.wait_for(self.proc.wait(), 20)


async def say(fake: FakeTelegram, text: str | None, **extra: Any) -> Call:
    since = fake.mark()
    fake.user_message(USER, text, **extra)
    return await fake.wait_sent(USER, method="sendMessage", since=since, timeout=10)


async def press(fake: FakeTelegram, on: Call, label: str) -> Call:
    since = fake.mark()
    fake.press(USER, on, fake.find_button(on, label))
    return await fake.wait_for(
        lambda c: c.method == "sendMessage" and fake.chat_of(c) == USER, since=since, timeout=10
    )


async def to_the_city(fake: FakeTelegram, timeout: float = 10) -> None:  # noqa: ASYNC109 - per wait
    """/start in Russian, consent, /new, a proposal on landscaping, Шымкент typed: the
    district step (Туран) comes next."""
    choose = await say(fake, "/start")
    since = fake.mark()
    fake.press(USER, choose, fake.find_button(choose, "Русский"))
    consent = await fake.wait_for(
        lambda c: c.method == "sendMessage" and any("✅" in b for b, _ in fake.buttons(c)),
        since=since,
        timeout=timeout,
    )
    since = fake.mark()
    fake.press(USER, consent, fake.find_button(consent, "✅"))
    await fake.wait_for(lambda c: c.method == "editMessageText", since=since, timeout=timeout)
    kinds = await say(fake, "/new")
    categories = await press(fake, kinds, "Предложение")
    await press(fake, categories, "Благоустройство")
    await say(fake, "Шымкент")  # the city itself …


async def test_restart_mid_dialog_continues_where_the_citizen_was(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = BotProcess(fake, tmp_path)
    await bot.start()
    await to_the_city(fake)
    since = fake.mark()
    fake.user_message(USER, "Туран")  # … and its district
    await fake.wait_for(lambda c: "3500" in (c.text or ""), since=since, timeout=10)

    assert await bot.stop() == 0, bot.log.read_text()

    await bot.start()
    files_prompt = await say(fake, VALID_TEXT)  # the text step, where the citizen left off
    location_prompt = await press(fake, files_prompt, "Пропустить")
    assert any("📍" in b for b, _ in fake.buttons(location_prompt))
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
    assert await bot.stop() == 0

    appeals = query(
        tmp_path / "data" / "bot.db", "SELECT kind, category, region, district, text FROM appeals"
    )
    assert appeals == [("proposal", "landscaping", "790000000", "T77215757", VALID_TEXT)]
    log = bot.log.read_text()
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


async def test_commands_are_registered_in_both_languages(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = BotProcess(fake, tmp_path)
    await bot.start()
    assert await bot.stop() == 0
    scope = {"type": "all_private_chats"}
    kk = {c["command"]: c["description"] for c in fake.commands(scope, "kk")}
    ru = {c["command"]: c["description"] for c in fake.commands(scope, "ru")}
    default = {c["command"]: c["description"] for c in fake.commands(scope, "")}
    assert set(kk) == set(ru) == {
        "start", "new", "book", "my", "subscribe", "lang", "cancel", "help", "privacy", "forget",
    }  # fmt: skip
    assert "өтініш" in kk["new"].lower()
    assert "обращени" in ru["new"].lower()
    assert default == kk  # DEFAULT_LANGUAGE is kk


async def test_sigterm_lets_the_update_in_hand_finish(fake: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(fake, tmp_path)
    await bot.start()
    choose = await say(fake, "/start")
    since = fake.mark()
    # Telegram is slow to accept the reply: SIGTERM arrives while the handler waits for it.
    fake.slow_next("editMessageText", 1.5)
    fake.press(USER, choose, fake.find_button(choose, "Қазақша"))
    await asyncio.sleep(0.5)
    assert await bot.stop() == 0
    edit = await fake.wait_for(lambda c: c.method == "editMessageText", since=since, timeout=1)
    assert "Қазақша" in (edit.text or "")
    [(language,)] = query(
        tmp_path / "data" / "bot.db", "SELECT language FROM citizens WHERE id = ?", USER
    )
    assert language == "kk"


async def test_start_up_waits_for_telegram_and_stops_on_a_rejected_token(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    fake.fail_next("deleteWebhook", 502, "Bad Gateway")
    bot = BotProcess(fake, tmp_path)
    await bot.start()  # polls after one retry
    assert await bot.stop() == 0
    assert "trying again" in bot.log.read_text()

    fake.fail_next("deleteWebhook", 401, "Unauthorized")
    rejected = BotProcess(fake, tmp_path / "second")
    rejected.workdir.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_"))},
        "PYTHONPATH": str(ROOT), "BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": fake.base_url,
        "OFFICIALS_CHAT_ID": str(OFFICIALS),
    }  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=rejected.workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "Telegram rejected BOT_TOKEN" in err.decode()
    assert TOKEN not in err.decode()
