"""The real process (`python -m bot`) killed between the writes of a citizen's withdrawal
that must commit together: the appeal `withdrawn`, the officials' prompts on it ended (a
waiting preview losing its «Send»), the card showing it and the note under the card that
tells the chat (`AppealLifecycle.withdraw`, `Repository.transition(…, then=…)`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_crash import CITIZEN, OFFICIAL, officials_bot, query, seed_appeal
from tests.test_e2e_crash_officials import answer_preview

pytestmark = pytest.mark.e2e
ANSWER = "Яму засыплем до конца недели."
TOLD = "гражданин отозвал обращение"
PROMPT = "SELECT state FROM official_prompts"
NOTES = "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'withdrawn:%'"
WITHDRAWALS = "SELECT COUNT(*) FROM status_history WHERE new_status = 'withdrawn'"


async def to_citizen(fake: FakeTelegram, since: int) -> Call:
    return await fake.wait_sent(CITIZEN, method="sendMessage", since=since, timeout=15)


async def asked_to_withdraw(fake: FakeTelegram, reference: str) -> Call:
    """/my → the appeal → «↩️ Withdraw»: the question with «Yes» under it."""
    since = fake.mark()
    fake.user_message(CITIZEN, "/my")
    listed = await to_citizen(fake, since)
    since = fake.mark()
    fake.press(CITIZEN, listed, fake.find_button(listed, reference))
    mine = await to_citizen(fake, since)
    since = fake.mark()
    fake.press(CITIZEN, mine, fake.find_button(mine, "↩️"))
    return await to_citizen(fake, since)


def notes_in_chat(fake: FakeTelegram, card: Call) -> list[Call]:
    return [
        c
        for c in fake.sent(fake.chat_of(card), "sendMessage")
        if TOLD in (c.text or "") and not c.failed
    ]


@pytest.mark.parametrize("crash", ["note", "prompts"])
async def test_a_crash_inside_a_withdrawal_leaves_none_of_it_and_the_chat_is_told_once(
    fake: FakeTelegram, tmp_path: Path, crash: str
) -> None:
    """Killed between the withdrawal's writes: before, `withdrawn` had committed on its own
    (and, killed as the note was written, the prompts' end and the card's edit too), so the
    chat was never told, and killed as the prompts ended, the official's answer still
    waited for «Send» on a withdrawn appeal; the citizen's «Yes» pressed again only said it
    was withdrawn already. Now nothing of it stays: the «Yes» pressed again (Telegram may
    hand over the first one again as well) withdraws it, the card shows it, the preview loses
    its «Send» and the chat reads the note once."""
    bot = officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    [(reference,)] = query(bot.database, "SELECT reference FROM appeals")
    assert isinstance(reference, str)
    if crash == "note":  # killed as the note under the card is written
        await bot.start("tests.crashpoint", CRASH_BEFORE="withdrawn:")
    else:  # killed as the prompts on the appeal end
        await bot.start("tests.crashpoint", CRASH_VOIDING="1")
    card, preview = await answer_preview(fake, bot, ANSWER)
    sure = await asked_to_withdraw(fake, reference)
    fake.press(CITIZEN, sure, fake.find_button(sure, "Да"))
    assert await bot.exited() == CRASHED
    assert query(bot.database, "SELECT status FROM appeals") == [("registered",)]
    assert query(bot.database, PROMPT) == [("preview",)]
    assert query(bot.database, NOTES) == [(0,)]

    await bot.start()
    since = fake.mark()
    fake.press(CITIZEN, sure, fake.find_button(sure, "Да"))
    await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since, timeout=15)
    told = await fake.wait_for(
        lambda c: c.method == "sendMessage" and TOLD in (c.text or "") and not c.failed,
        timeout=15,
    )
    card_id, preview_id = card.result["message_id"], preview.result["message_id"]
    edited = await fake.wait_for(
        lambda c: c.method == "editMessageText" and c.params.get("message_id") == card_id
        and "Отозвано" in (c.text or "") and not c.failed,
        timeout=15,
    )  # fmt: skip
    await fake.wait_for(
        lambda c: c.method == "editMessageReplyMarkup" and not c.failed
        and c.params.get("message_id") == preview_id,
        timeout=15,
    )  # fmt: skip
    # «Send» on the old preview anyway: the answer goes nowhere.
    since = fake.mark()
    fake.press(OFFICIAL, preview, fake.find_button(preview, "✅"), first_name="Official900")
    alert = await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert await bot.stop() == 0

    assert fake.chat_of(told) == fake.chat_of(card)
    assert (told.params.get("reply_parameters") or {}).get("message_id") == card_id
    assert "✍️" not in str(edited.params.get("reply_markup"))
    assert "Отозвано" in str(alert.params.get("text")), alert.params
    assert len(notes_in_chat(fake, card)) == 1
    assert query(bot.database, "SELECT status FROM appeals") == [("withdrawn",)]
    assert query(bot.database, PROMPT) == [("void",)]
    assert query(bot.database, NOTES) == [(1,)]
    assert query(bot.database, WITHDRAWALS) == [(1,)]
    assert not [c for c in fake.sent(CITIZEN, "sendMessage") if ANSWER in (c.text or "")]
