"""The real process (`python -m bot`) killed between writes of the officials' side that must
commit together (review rev2): an official's question to the citizen and its message, and
its prompt done; a citizen's «not solved» comment and the note that tells the officials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import OFFICIALS
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_crash import CITIZEN, OFFICIAL, is_card, officials_bot, query, seed_appeal

pytestmark = pytest.mark.e2e
QUESTION = "Уточните, пожалуйста, номер дома."
QUESTIONS = "SELECT COUNT(*) FROM appeal_questions"
ASKED = "SELECT COUNT(*) FROM status_history WHERE note LIKE 'question % asked'"
QUESTION_ROWS = "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'question:%'"
PROMPT = "SELECT state FROM official_prompts"


async def until(check: Callable[[], bool], timeout: float = 15) -> None:  # noqa: ASYNC109
    """The process commits what Telegram's answer tells it (a prompt's message id) a moment
    after the answer: wait for the row, as an official is slower than that anyway."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "never came"
        await asyncio.sleep(0.05)


def in_chat(fake: FakeTelegram, call: Call, what: str) -> bool:
    return (
        call.method == "sendMessage"
        and fake.chat_of(call) == OFFICIALS
        and not call.failed
        and what in str(call.params.get("reply_markup"))
    )


async def question_preview(fake: FakeTelegram, bot: RealBot) -> Call:
    """From the card: «❓ Ask the citizen», the question as the reply, its preview."""
    card = await fake.wait_for(lambda c: is_card(fake, c) and not c.failed, timeout=15)
    since = fake.mark()
    fake.press(OFFICIAL, card, fake.find_button(card, "❓"), first_name="Official900")
    prompt = await fake.wait_for(lambda c: in_chat(fake, c, "force_reply"), since=since, timeout=15)
    await until(lambda: query(bot.database, PROMPT) == [("open",)])
    since = fake.mark()
    fake.group_message(
        prompt.params["chat_id"], OFFICIAL, QUESTION, first_name="Official900",
        reply_to_message=prompt.result,
    )  # fmt: skip
    preview = await fake.wait_for(lambda c: in_chat(fake, c, "pr:send"), since=since, timeout=15)
    shown = "SELECT preview_message_id FROM official_prompts"
    await until(lambda: query(bot.database, shown) == [(preview.result["message_id"],)])
    return preview


def press_send(fake: FakeTelegram, preview: Call) -> int:
    since = fake.mark()
    fake.press(OFFICIAL, preview, fake.find_button(preview, "✅"), first_name="Official900")
    return since


def questions_to_citizen(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.sent(CITIZEN, "sendMessage") if QUESTION in (c.text or "")]


async def test_a_crash_between_a_question_and_its_message_leaves_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Killed as the question's message is written: before, the question was committed on
    its own (open, in the history, never sent) and the «Send» pressed again asked a second
    one. Now nothing of it stays, and the second «Send» asks once."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    await bot.start("tests.crashpoint", CRASH_BEFORE="question:")
    preview = await question_preview(fake, bot)
    press_send(fake, preview)
    assert await bot.exited() == CRASHED
    assert query(bot.database, QUESTIONS) == [(0,)]
    assert query(bot.database, PROMPT) == [("preview",)]  # its «Send» still works

    await bot.start()
    press_send(fake, preview)
    await fake.wait_for(lambda c: QUESTION in (c.text or "") and fake.chat_of(c) == CITIZEN
                        and not c.failed, timeout=15)  # fmt: skip
    assert await bot.stop() == 0
    assert len(questions_to_citizen(fake)) == 1
    assert query(bot.database, QUESTIONS) == [(1,)]
    assert query(bot.database, ASKED) == [(1,)]
    assert query(bot.database, PROMPT) == [("done",)]


async def test_a_second_send_after_the_question_went_out_asks_nothing_again(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Killed after the question and its message committed, before its prompt was marked
    done: before, the prompt still waited for «Send», and pressing it again asked the
    citizen a second time. Now the prompt is done with the question: the second «Send» is
    told so, and the citizen reads the question once."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    await bot.start("tests.crashpoint", CRASH_FINISHING="done")
    preview = await question_preview(fake, bot)
    press_send(fake, preview)
    assert await bot.exited() == CRASHED
    assert query(bot.database, QUESTIONS) == [(1,)]

    await bot.start()
    since = press_send(fake, preview)
    told = await fake.wait_for(
        lambda c: c.method == "answerCallbackQuery",
        since=since, timeout=15,
    )  # fmt: skip
    await fake.wait_for(lambda c: QUESTION in (c.text or "") and fake.chat_of(c) == CITIZEN
                        and not c.failed, timeout=15)  # fmt: skip
    assert await bot.stop() == 0
    assert "уже отправлен" in str(told.params.get("text")), told.params
    assert len(questions_to_citizen(fake)) == 1
    assert query(bot.database, QUESTIONS) == [(1,)]
    assert query(bot.database, QUESTION_ROWS) == [(1,)]


ANSWER = "Фонари на улице заменены, проверьте вечером."
COMMENT = "Фонарь у подъезда всё ещё не горит."


async def answer_preview(fake: FakeTelegram, bot: RealBot, answer: str) -> tuple[Call, Call]:
    """The card, and an official's `answer` to it waiting for «Send» under its preview."""
    card = await fake.wait_for(lambda c: is_card(fake, c) and not c.failed, timeout=15)
    since = fake.mark()
    fake.press(OFFICIAL, card, fake.find_button(card, "✍️"), first_name="Official900")
    outcomes = await fake.wait_for(lambda c: in_chat(fake, c, "card:outcome"), since=since)
    since = fake.mark()
    fake.press(OFFICIAL, outcomes, fake.buttons(outcomes)[0][1] or "", first_name="Official900")
    prompt = await fake.wait_for(lambda c: in_chat(fake, c, "force_reply"), since=since)
    await until(lambda: query(bot.database, PROMPT) == [("open",)])
    since = fake.mark()
    fake.group_message(
        prompt.params["chat_id"], OFFICIAL, answer, first_name="Official900",
        reply_to_message=prompt.result,
    )  # fmt: skip
    preview = await fake.wait_for(lambda c: in_chat(fake, c, "pr:send"), since=since)
    shown = "SELECT preview_message_id FROM official_prompts"
    await until(lambda: query(bot.database, shown) == [(preview.result["message_id"],)])
    return card, preview


async def answered_and_reopened(fake: FakeTelegram, bot: RealBot) -> None:
    """The official answers from the card; the citizen says «not solved» under the answer and
    is asked what is still not solved."""
    _card, preview = await answer_preview(fake, bot, ANSWER)
    press_send(fake, preview)
    answer = await fake.wait_for(
        lambda c: fake.chat_of(c) == CITIZEN and ANSWER in (c.text or "") and not c.failed,
        timeout=15,
    )
    since = fake.mark()
    fake.press(CITIZEN, answer, fake.find_button(answer, "Нет"))
    await fake.wait_for(
        lambda c: c.method == "sendMessage" and fake.chat_of(c) == CITIZEN and not c.failed
        and "skip" in str(c.params.get("reply_markup")),
        since=since, timeout=15,
    )  # fmt: skip


def comments_in_chat(fake: FakeTelegram) -> list[Call]:
    return [c for c in fake.sent(OFFICIALS, "sendMessage") if COMMENT in (c.text or "")]


async def test_a_crash_between_a_not_solved_comment_and_its_note_leaves_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Killed as the note telling the officials of the citizen's «not solved» comment is
    written: before, the comment was saved on its own (/find showed it, the chat was never
    told). Now neither stays; the citizen, who got no «thank you», writes it again, and the
    officials read it once."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    await bot.start("tests.crashpoint", CRASH_BEFORE="comment:")
    await answered_and_reopened(fake, bot)
    fake.user_message(CITIZEN, COMMENT)
    assert await bot.exited() == CRASHED
    assert query(bot.database, "SELECT solved, feedback FROM appeals") == [("no", None)]

    await bot.start()
    since = fake.mark()
    fake.user_message(CITIZEN, COMMENT)
    await fake.wait_for(lambda c: COMMENT in (c.text or "") and fake.chat_of(c) == OFFICIALS
                        and not c.failed, timeout=15)  # fmt: skip
    thanks = await fake.wait_sent(CITIZEN, method="sendMessage", since=since, timeout=15)
    assert await bot.stop() == 0
    assert "Спасибо" in (thanks.text or ""), thanks.text
    assert len(comments_in_chat(fake)) == 1
    assert query(bot.database, "SELECT solved, feedback FROM appeals") == [("no", COMMENT)]
    assert query(bot.database, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'comment:%'") == [
        (1,)
    ]
