"""Issue #9, item 13: another process holds the database's write lock (a backup, an
operator's sqlite3 shell) while a citizen takes a step. A short lock goes unnoticed; a long
one gets a plain «nothing was saved» in the citizen's language, the dialog stays where it
was, and the same step works once the lock is gone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.conftest import FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.dblock import LockSeen, WriteLock
from tests.fakeapi import FakeTelegram
from tests.test_e2e_appeal import VALID_TEXT as TEXT
from tests.test_e2e_appeal import onboard, reach_review, rows
from tests.test_e2e_bad_input import (
    FILES_PROMPT,
    SORRY,
    fsm,
    texts_since,
    to_text_step,
)

# SQLite's own write lock, held by another connection: nothing of it applies to PostgreSQL.
pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_only]
USER = 1301
NOTHING_SAVED_RU = "Извините, сейчас не получилось сохранить, поэтому ничего не сохранено."
SEND_AGAIN_RU = "Пожалуйста, отправьте это ещё раз."
PRESS_AGAIN_RU = "Пожалуйста, нажмите кнопку ещё раз."
NOTHING_SAVED_KK = "Кешіріңіз, қазір сақтай алмадым, сондықтан ештеңе сақталған жоқ."
PRESS_AGAIN_KK = "Түймені қайта басыңыз."
KIND_PROMPT_KK = "<b>Жаңа өтініш.</b>"


@pytest.fixture
def bot_with(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> Callable[[float], AsyncIterator[Harness]]:
    """The bot with a short busy timeout and the given retry bound (seconds)."""

    @asynccontextmanager
    async def start(locked_retry: float) -> AsyncIterator[Harness]:
        settings = make_settings(
            fake.base_url,
            tmp_path / "bot.db",
            database_busy_timeout=0.1,
            database_locked_retry=locked_retry,
        )
        app, task = await start_bot(fake, settings, clock)
        h = Harness(fake, app, task, clock)
        try:
            yield h
        finally:
            await stop_bot(h.app, h.task)

    return start  # type: ignore[return-value]


@pytest.fixture
def lock_seen() -> Iterator[LockSeen]:
    with LockSeen.attached() as seen:
        yield seen


@pytest.fixture
def locks() -> Iterator[list[WriteLock]]:
    held: list[WriteLock] = []
    yield held
    for lock in held:
        lock.release()


async def test_a_short_lock_goes_unnoticed(
    bot_with: Callable[[float], AsyncIterator[Harness]],
    locks: list[WriteLock],
    lock_seen: LockSeen,
) -> None:
    async with bot_with(30.0) as h:  # type: ignore[attr-defined]
        await to_text_step(h, USER)
        locks.append(WriteLock(Path(h.app.settings.database_url.removeprefix("sqlite:///"))))
        since = h.fake.mark()
        h.fake.user_message(USER, TEXT)
        # The step's write met the lock past SQLite's busy timeout; then the lock goes.
        await lock_seen.wait()
        locks.pop().release()
        await h.reply(USER, since, expect=FILES_PROMPT)
        assert [t for t in texts_since(h, USER, since) if SORRY in t or NOTHING_SAVED_RU in t] == []
        state, data = fsm(h, USER)
        assert state == "AppealForm:attachments" and data["draft"]["text"] == TEXT


async def test_a_long_lock_saves_nothing_and_says_so(
    bot_with: Callable[[float], AsyncIterator[Harness]], locks: list[WriteLock]
) -> None:
    async with bot_with(0.5) as h:  # type: ignore[attr-defined]
        await to_text_step(h, USER)
        before = fsm(h, USER)
        locks.append(WriteLock(Path(h.app.settings.database_url.removeprefix("sqlite:///"))))
        told = await h.say(USER, TEXT, expect=NOTHING_SAVED_RU)
        assert told.text == f"{NOTHING_SAVED_RU} {SEND_AGAIN_RU}"
        assert fsm(h, USER) == before  # still at the text step, nothing of the text kept
        locks.pop().release()
        await h.say(USER, TEXT, expect=FILES_PROMPT)
        assert fsm(h, USER)[0] == "AppealForm:attachments"


async def test_a_confirm_under_a_long_lock_files_nothing_until_pressed_again(
    bot_with: Callable[[float], AsyncIterator[Harness]], locks: list[WriteLock]
) -> None:
    async with bot_with(0.5) as h:  # type: ignore[attr-defined]
        review = await reach_review(h, USER)
        locks.append(WriteLock(Path(h.app.settings.database_url.removeprefix("sqlite:///"))))
        told = await h.click(USER, review, "✅", expect=NOTHING_SAVED_RU)
        assert told.text == f"{NOTHING_SAVED_RU} {PRESS_AGAIN_RU}"
        assert rows(h, "SELECT id FROM appeals") == []
        assert fsm(h, USER)[0] == "AppealForm:review"
        locks.pop().release()
        await h.confirm(USER, review, expect="2026-00001")
        assert len(rows(h, "SELECT id FROM appeals")) == 1


async def test_the_citizen_hears_it_in_kazakh(
    bot_with: Callable[[float], AsyncIterator[Harness]], locks: list[WriteLock]
) -> None:
    async with bot_with(0.5) as h:  # type: ignore[attr-defined]
        await onboard(h, USER, "kk")
        kinds = await h.say(USER, "/new", lang="kk", expect=KIND_PROMPT_KK)
        locks.append(WriteLock(Path(h.app.settings.database_url.removeprefix("sqlite:///"))))
        told = await h.click(USER, kinds, "Шағым", lang="kk", expect=NOTHING_SAVED_KK)
        assert told.text == f"{NOTHING_SAVED_KK} {PRESS_AGAIN_KK}"
        state, data = fsm(h, USER)
        assert state == "AppealForm:kind" and "kind" not in data["draft"]
        locks.pop().release()
        await h.click(USER, kinds, "Шағым", lang="kk", expect="Санатты таңдаңыз")
        assert fsm(h, USER)[0] == "AppealForm:category"
