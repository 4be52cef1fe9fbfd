"""/export and /stats never stall citizens: they are built in another process while the bot
goes on answering, with a progress message for the officials; one export per chat at a time;
a failure in the worker is told, not crashed on."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from pathlib import Path

import pytest

from bot.services.report_jobs import build_export
from bot.telegram import progress
from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call
from tests.report_hooks import failing, gated

pytestmark = pytest.mark.e2e

OFFICIAL, COLLEAGUE, CITIZEN = 900, 901, 612


def says(h: Harness, text: str, since: int) -> Awaitable[Call]:
    """The bot's first message in the officials' chat containing `text`."""
    return h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS and text in (c.text or "")
        ),
        since=since,
    )


def in_chat(h: Harness, chat: int, method: str, since: int) -> list[Call]:
    return [c for c in h.fake.calls[since:] if c.method == method and h.fake.chat_of(c) == chat]


async def test_a_citizen_is_answered_while_an_export_is_built(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    monkeypatch.setattr(progress, "PROGRESS_AFTER", 0.2)
    gate = tmp_path / "gate"
    h.app.dp["reports"].export_job = partial(gated, gate, build_export)
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/export 7")
    # The export is held in its process until the gate opens: the officials see that it is
    # being prepared, and Telegram shows «sending a file…».
    notice = await says(h, "Готовлю выгрузку…", since)
    action = await h.fake.wait_for(lambda c: c.method == "sendChatAction", since=since)
    assert action.params["action"] == "upload_document"
    assert (tmp_path / "started").exists()
    # Meanwhile a citizen's /start is answered, and a colleague's /export is not a second job.
    answered = await h.say(CITIZEN, "/start", expect="Тілді таңдаңыз")
    assert answered is not None
    mark = h.fake.mark()
    h.fake.group_message(OFFICIALS, COLLEAGUE, "/export")
    busy = await says(h, "уже готовится", mark)
    assert busy.text == (
        "Выгрузка для этого чата уже готовится: файл придёт сюда, как только будет готов."
    )
    assert in_chat(h, OFFICIALS, "sendDocument", since) == []
    gate.touch()
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since)
    assert document.params["document"]["filename"].endswith("-7d.xlsx")
    # The notice gives way to the file it announced.
    deleted = await h.fake.wait_for(lambda c: c.method == "deleteMessage", since=since)
    assert deleted.params["message_id"] == notice.result["message_id"]
    assert len(in_chat(h, OFFICIALS, "sendDocument", since)) == 1
    # Done, the chat may ask again.
    mark = h.fake.mark()
    h.fake.group_message(OFFICIALS, COLLEAGUE, "/export 7")
    await h.fake.wait_for(lambda c: c.method == "sendDocument", since=mark)


async def test_a_failed_export_is_told_and_the_bot_goes_on(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    h.app.dp["reports"].export_job = failing
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/export 7")
    await says(
        h, "Не удалось подготовить выгрузку. Попробуйте позже; ошибка записана в журнал бота.",
        since,
    )  # fmt: skip
    assert "the disk is on fire" in caplog.text  # the worker's traceback, in the bot's log
    assert in_chat(h, OFFICIALS, "sendDocument", since) == []
    # The figures still come, and a citizen is still answered.
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/stats 7")
    await says(h, "Обращений за последние 7 дней", since)
    await h.say(CITIZEN, "/start", expect="Тілді таңдаңыз")
