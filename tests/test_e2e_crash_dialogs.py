"""A dialog step killed between its state and its question (issue #12 review): the real
process in webhook mode, where Telegram delivers an update again until it is answered 200,
killed at an exact point of a step (tests/crashpoint.py). The step's state is committed with
the update's handled-mark at the end of the update (storage.fsm), so the redelivered update is
read in the step it was sent for: the citizen gets that step's question (perhaps twice) and the
dialog goes on. Before, the state was written first, and the redelivered text was taken as
the answer to the next step."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crashpoint import CRASHED
from tests.e2edb import query
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import VALID_TEXT
from tests.test_e2e_bad_input import FILES_PROMPT, LOCATION_PROMPT, TEXT_PROMPT
from tests.test_e2e_process import USER, press, say, to_the_city
from tests.test_e2e_webhook import free_port, webhook_env

pytestmark = pytest.mark.e2e
NOT_A_FILE = "Пожалуйста, отправьте фото или документ"


async def to_text_step(fake: FakeTelegram) -> None:
    await to_the_city(fake, timeout=15)
    assert TEXT_PROMPT in ((await say(fake, "Туран")).text or "")


def to_citizen(fake: FakeTelegram, since: int) -> list[Call]:
    return [
        c
        for c in fake.calls[since:]
        if c.method == "sendMessage" and fake.chat_of(c) == USER and not c.failed
    ]


@pytest.mark.parametrize(
    "crash",
    [
        pytest.param({"CRASH_SENDING": FILES_PROMPT}, id="before-the-question"),
        pytest.param({"CRASH_MARKING_AFTER": FILES_PROMPT}, id="after-the-question"),
    ],
)
async def test_a_step_killed_before_its_update_is_marked_is_asked_again_not_misread(
    fake: FakeTelegram, tmp_path: Path, crash: dict[str, str]
) -> None:
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()), **crash)
    await bot.start("tests.crashpoint")
    await to_text_step(fake)
    text_update = fake.user_message(USER, VALID_TEXT)["update_id"]
    assert await bot.exited() == CRASHED
    after_crash = query(bot.database, "SELECT state FROM fsm")

    restarted = fake.mark()
    for name in crash:
        del bot.settings[name]
    await bot.start()  # Telegram delivers the text again, to the restarted bot
    files = await fake.wait_for(
        lambda c: c.method == "sendMessage" and FILES_PROMPT in (c.text or "") and not c.failed,
        since=restarted,
        timeout=30,
    )
    # Read as the text it is, not as a file the files step was waiting for.
    assert not [c for c in to_citizen(fake, restarted) if NOT_A_FILE in (c.text or "")]
    location = await press(fake, files, "Пропустить")
    assert LOCATION_PROMPT in (location.text or "")
    assert await bot.stop() == 0
    assert 200 in fake.webhook_statuses(text_update)
    # The crash left the step the text was sent for; the dialog went on from it.
    assert after_crash == [("AppealForm:text",)]
    [(state, data)] = query(bot.database, "SELECT state, data FROM fsm")
    assert state == "AppealForm:location"
    assert VALID_TEXT in data
