"""A prompt posted but never recorded (the process killed after Telegram took it, or the
write of what Telegram answered failed): before, the prompt was out in the chat and unknown
to the bot, so an administrator's reply to it in private became the text of whatever dialog
was open (/announce here), and in a group the reply was ignored without a word. The prompt
is now recorded before it is posted; a reply to one left unrecorded is taken by nothing and
tells the official to press the button again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import storage.postgres.prompts
import storage.sqlite.prompts
from tests.conftest import OFFICIALS, Harness
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_crash import CITIZEN, OFFICIAL, is_card, officials_bot, query, seed_appeal
from tests.test_e2e_crash_officials import in_chat
from tests.test_e2e_officials import file_and_card
from tests.test_e2e_officials_trust import ADMIN, admin, announce_text_step

pytestmark = pytest.mark.e2e
__all__ = ["admin"]  # the administrator's harness, a fixture
TOLD = "нажмите кнопку на карточке"
QUESTION = "Уточните, пожалуйста, номер дома."


def replying_to(fake: FakeTelegram, chat: int, update: dict[str, Any]) -> Any:
    message = update.get("message", update)

    def check(call: Call) -> bool:
        return (
            call.method == "sendMessage"
            and fake.chat_of(call) == chat
            and not call.failed
            and (call.params.get("reply_parameters") or {}).get("message_id")
            == message["message_id"]
        )

    return check


async def test_a_reply_to_a_prompt_posted_as_the_process_died_is_told_to_press_again(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Killed the moment Telegram took the prompt (❓), before its message id was kept."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    await bot.start("tests.crashpoint", CRASH_POSTED_PROMPT="any")
    card = await fake.wait_for(lambda c: is_card(fake, c) and not c.failed, timeout=15)
    since = fake.mark()
    fake.press(OFFICIAL, card, fake.find_button(card, "❓"), first_name="Official900")
    prompt = await fake.wait_for(lambda c: in_chat(fake, c, "force_reply"), since=since, timeout=15)
    assert await bot.exited() == CRASHED

    await bot.start()
    since = fake.mark()
    reply = fake.group_message(
        OFFICIALS, OFFICIAL, QUESTION, first_name="Official900", reply_to_message=prompt.result
    )
    told = await fake.wait_for(replying_to(fake, OFFICIALS, reply), since=since, timeout=15)
    assert await bot.stop() == 0
    assert TOLD in (told.text or ""), told.text
    assert "2026-00001" in (told.text or "")
    assert not [c for c in fake.calls[since:] if "pr:send" in str(c.params.get("reply_markup"))]
    assert not [c for c in fake.sent(CITIZEN, "sendMessage") if QUESTION in (c.text or "")]
    assert query(bot.database, "SELECT COUNT(*) FROM appeal_questions") == [(0,)]


async def test_a_reply_in_private_to_a_prompt_whose_record_failed_is_no_dialogs_text(
    admin: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An administrator's prompt (from /find) out in the chat, the write of what Telegram
    answered failing; /announce's text step open. The reply to the prompt was the
    announcement's text; now it is taken by nothing, and says to press the button again."""
    h = admin
    card = await file_and_card(h, CITIZEN)
    assert card
    await onboard(h, ADMIN, "ru")
    found = await h.say(ADMIN, "/find 2026-00001", expect="2026-00001")

    since = h.fake.mark()
    armed = True

    def posted_already() -> bool:
        return armed and any(
            c.method == "sendMessage"
            and not c.failed
            and "force_reply" in str(c.params.get("reply_markup"))
            for c in h.fake.calls[since:]
        )

    # Every write of the prompts' store once the prompt is out fails: before, the prompt was
    # recorded (`add`) after it was posted; now only its message id is (`posted`).
    for store in (
        storage.sqlite.prompts.SQLitePromptStore,
        storage.postgres.prompts.PostgresPromptStore,
    ):
        for name in ("add", "posted"):
            real = getattr(store, name, None)
            if real is None:
                continue

            async def failing(self: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
                if posted_already():
                    raise OSError("disk I/O error")
                return await _real(self, *args, **kw)

            monkeypatch.setattr(store, name, failing)

    h.fake.press(ADMIN, found, h.fake.find_button(found, "✍️"), first_name="Admin")
    outcomes = await h.fake.wait_for(lambda c: "card:outcome" in str(c.params), since=since)
    h.fake.press(ADMIN, outcomes, h.fake.buttons(outcomes)[0][1] or "", first_name="Admin")
    prompt = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == ADMIN and not c.failed
        and "force_reply" in str(c.params.get("reply_markup")),
        since=since,
    )  # fmt: skip
    await h.settled(ADMIN)
    armed = False
    assert await h.app.dp["prompts"].prompt_at(ADMIN, prompt.result["message_id"]) is None

    await announce_text_step(h)
    before = rows(h, "SELECT key, state, data FROM fsm WHERE user_id = ? ORDER BY key", ADMIN)
    since = h.fake.mark()
    reply = h.fake.user_message(ADMIN, "Фонари заменены.", reply_to_message=prompt.result)
    told = await h.fake.wait_for(replying_to(h.fake, ADMIN, reply), since=since)
    await h.settled(ADMIN)
    assert TOLD in (told.text or ""), told.text
    # Nothing else answered it: no announcement's preview, no answer's preview.
    assert [c for c in h.fake.calls[since:] if c.method == "sendMessage"] == [told]
    after = rows(h, "SELECT key, state, data FROM fsm WHERE user_id = ? ORDER BY key", ADMIN)
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    assert rows(h, "SELECT status FROM appeals WHERE id = 1")[0]["status"] == "registered"
