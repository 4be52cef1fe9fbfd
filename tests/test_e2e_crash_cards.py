"""The real process (`python -m bot`) killed the moment an official's action on an appeal
has committed (`Repository.transition` returned it): the take (▶️), the answer, the
extension, the forward and «Duplicate of…». The card's edit showing the new status commits
with the action (`OfficialsService._change`), so after the restart the card shows it with
no press at all; before, the handler queued the edit after the commit, and the card kept
the old status and the old buttons until somebody pressed it again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from tests.conftest import OFFICIALS
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_crash import OFFICIAL, is_card, officials_bot, query, seed_appeal
from tests.test_e2e_crash_officials import answer_preview, in_chat, press_send, until

pytestmark = pytest.mark.e2e
DEPARTMENT_CHAT = -1002000
PROMPT = "SELECT state FROM official_prompts ORDER BY id DESC LIMIT 1"
TZ = ZoneInfo("Asia/Almaty")


def forwarding_bot(fake: FakeTelegram, workdir: Path) -> RealBot:
    """The bundled catalog plus one department with an officials' chat of its own."""
    catalog = workdir / "catalog.toml"
    workdir.mkdir(parents=True, exist_ok=True)
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT_CHAT}\n',
        encoding="utf-8",
    )
    bot = officials_bot(fake, workdir)
    bot.settings["CATALOG_PATH"] = str(catalog)
    return bot


async def cards(fake: FakeTelegram, count: int) -> list[Call]:
    """The cards the start-up posted, in the order the appeals were filed."""
    await fake.wait_for(
        lambda _: len([c for c in fake.calls if is_card(fake, c) and not c.failed]) >= count,
        timeout=15,
    )
    posted = [c for c in fake.calls if is_card(fake, c) and not c.failed]
    return sorted(posted, key=lambda c: c.result["message_id"])


async def preview(fake: FakeTelegram, bot: RealBot, card: Call, button: str, text: str) -> Call:
    """«button» on the card, `text` as the reply to its prompt: the preview with «Send»."""
    since = fake.mark()
    fake.press(OFFICIAL, card, fake.find_button(card, button), first_name="Official900")
    prompt = await fake.wait_for(lambda c: in_chat(fake, c, "force_reply"), since=since, timeout=15)
    await until(lambda: query(bot.database, PROMPT) == [("open",)])
    since = fake.mark()
    fake.group_message(
        prompt.params["chat_id"], OFFICIAL, text, first_name="Official900",
        reply_to_message=prompt.result,
    )  # fmt: skip
    shown = await fake.wait_for(lambda c: in_chat(fake, c, "pr:send"), since=since, timeout=15)
    await until(lambda: query(bot.database, PROMPT) == [("preview",)])
    return shown


def labels(call: Call) -> str:
    return str(call.params.get("reply_markup"))


@pytest.mark.parametrize("action", ["take", "answer", "extend", "forward", "duplicate"])
async def test_a_crash_after_an_officials_action_leaves_the_card_showing_it(
    fake: FakeTelegram, tmp_path: Path, action: str
) -> None:
    """Killed as soon as the action committed: after the restart, and no press, the card is
    edited to the new status and the buttons it allows (before: never, the card offered ▶️ /
    ✍️ / ↪️ on an appeal taken, answered, forwarded away or marked a duplicate)."""
    bot = forwarding_bot(fake, tmp_path) if action == "forward" else officials_bot(fake, tmp_path)
    await seed_appeal(bot.database)
    if action == "duplicate":
        await seed_appeal(bot.database, draft_key="seed2")
    status = {"take": "in_progress", "answer": "answered", "extend": "registered",
              "forward": "forwarded", "duplicate": "duplicate"}[action]  # fmt: skip
    await bot.start("tests.crashpoint", CRASH_TRANSITIONED=status)
    new_due = (datetime.now(TZ) + timedelta(days=30)).date()
    if action == "take":
        [card] = await cards(fake, 1)
        fake.press(OFFICIAL, card, fake.find_button(card, "▶️"), first_name="Official900")
    elif action == "answer":
        card, shown = await answer_preview(fake, bot, "Яму засыпали, проверьте, пожалуйста.")
        press_send(fake, shown)
    elif action == "extend":
        [card] = await cards(fake, 1)
        reason = f"{new_due:%d.%m.%Y}\nнужна экспертиза дорожного покрытия"
        press_send(fake, await preview(fake, bot, card, "⏳", reason))
    elif action == "forward":
        [card] = await cards(fake, 1)
        since = fake.mark()
        fake.press(OFFICIAL, card, fake.find_button(card, "↪️"), first_name="Official900")
        picker = await fake.wait_for(
            lambda c: in_chat(fake, c, "Отдел занятости"), since=since, timeout=15
        )
        fake.press(OFFICIAL, picker, fake.find_button(picker, "Отдел занятости"))
    else:
        _first, card = await cards(fake, 2)
        [(original,)] = query(bot.database, "SELECT reference FROM appeals ORDER BY id LIMIT 1")
        assert isinstance(original, str)
        press_send(fake, await preview(fake, bot, card, "🔁", original))
    assert await bot.exited() == CRASHED
    changed = "SELECT status FROM appeals ORDER BY id DESC LIMIT 1"
    assert query(bot.database, changed) == [(status,)]  # the action committed

    since = fake.mark()
    await bot.start()
    card_id = card.result["message_id"]
    edited = await fake.wait_for(
        lambda c: c.method == "editMessageText" and not c.failed
        and c.params.get("message_id") == card_id and fake.chat_of(c) == OFFICIALS,
        since=since, timeout=15,
    )  # fmt: skip
    if action == "forward":  # the department's chat gets a card of its own
        await fake.wait_for(
            lambda c: c.method == "sendMessage" and fake.chat_of(c) == DEPARTMENT_CHAT
            and not c.failed,
            timeout=15,
        )  # fmt: skip
    assert await bot.stop() == 0
    # No press after the restart: the edit came from what the action committed.
    presses = [c for c in fake.calls[since:] if c.method == "answerCallbackQuery"]
    assert presses == [], presses
    if action == "take":
        assert "▶️" not in labels(edited) and "✍️" in labels(edited), labels(edited)
    elif action == "answer":
        assert "✍️" not in labels(edited), labels(edited)
    elif action == "extend":
        assert edited.text != card.text
        assert "⏳" in labels(edited)  # still open, still extendable
    else:  # forwarded away, or a duplicate: nothing to act on here
        assert "✍️" not in labels(edited) and "▶️" not in labels(edited), labels(edited)
