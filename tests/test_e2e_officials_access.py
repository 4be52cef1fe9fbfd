"""Who may act, where (issue #9, items 7, 8, 12 and 14): administrators act in private only,
a chat acts only on its own appeals, a removed official loses access at once, a message
nobody can be named for is answered instead of crashing, and a reopened appeal's card shows
it back at work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import rows
from tests.test_e2e_officials import OFFICIAL, card_of, group_alert, open_prompt, reply_to
from tests.test_e2e_prompts import ANNA, filed

pytestmark = pytest.mark.e2e
ADMIN = 4242
STRANGERS = -1009999  # a group the bot was added to that is not an officials' chat
DEPARTMENT = -1002000
ANONYMOUS_ADMIN_BOT = 1087968824  # Telegram's @GroupAnonymousBot


@pytest.fixture
async def h(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    """An administrator in ADMIN_IDS, and a department with its own chat."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT}\n',
        encoding="utf-8",
    )
    settings = make_settings(
        fake.base_url, tmp_path / "bot.db", catalog_path=catalog, admin_ids=str(ADMIN)
    )
    app, task = await start_bot(fake, settings, clock)
    harness = Harness(fake, app, task, clock)
    yield harness
    await stop_bot(harness.app, harness.task)


def answers_in(h: Harness, chat: int, since: int) -> list[Call]:
    """What the bot posted in `chat`, the morning digest aside (it goes out at start-up and
    may arrive at any moment of a test)."""
    return [
        c
        for c in h.fake.calls[since:]
        if h.fake.chat_of(c) == chat
        and c.method in ("sendMessage", "sendDocument")
        and not c.failed
        and "Сводка" not in (c.text or "")
    ]


async def command(h: Harness, chat: int, user: int, text: str, **extra: Any) -> Call:
    since = h.fake.mark()
    if chat > 0:
        h.fake.user_message(user, text, **extra)
    else:
        h.fake.group_message(chat, user, text, first_name=f"User{user}", **extra)
    return await h.fake.wait_for(lambda c: c in answers_in(h, chat, since), since=since)


async def test_an_administrator_acts_in_private_and_never_in_a_strangers_group(h: Harness) -> None:
    appeal = await filed(h, ANNA)
    await card_of(h, appeal.reference)
    for text in (f"/find {appeal.reference}", "/export", "/stats", "/digest"):
        since = h.fake.mark()
        refusal = await command(h, STRANGERS, ADMIN, text)
        assert "для должностных лиц" in (refusal.text or ""), text
        assert answers_in(h, STRANGERS, since) == [refusal]  # no card, no workbook
    # In private the same administrator gets the card with working buttons, and the file.
    found = await command(h, ADMIN, ADMIN, f"/find {appeal.reference}")
    assert "Асель Нурланова" not in (found.text or "")  # contacts stay behind a button
    taken = await group_alert(h, ADMIN, found, "▶️")
    assert taken
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "in_progress"
    exported = await command(h, ADMIN, ADMIN, "/export")
    assert exported.method == "sendDocument"


async def test_a_chat_acts_and_sees_contacts_only_on_its_own_appeals(h: Harness) -> None:
    appeal = await filed(h, ANNA)
    card = await card_of(h, appeal.reference)
    # The department's members cannot pull the main chat's appeal into their chat…
    since = h.fake.mark()
    found = await command(h, DEPARTMENT, 950, f"/find {appeal.reference}")
    assert "не найдено" in (found.text or "")  # as if there were no such appeal
    assert answers_in(h, DEPARTMENT, since) == [found]
    # …nor export it.
    exported = await command(h, DEPARTMENT, 950, "/export")
    assert exported.method == "sendDocument"
    assert "0" in (exported.text or "")  # «0 обращений»

    # After a forward the old chat's card has no buttons, and an old button does nothing.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(lambda c: "card:fwd" in str(c.params), since=since)
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, "Отдел занятости"))
    old_card = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert h.fake.buttons(old_card) == []
    refused = await group_alert(h, OFFICIAL, card, "👤")
    assert "чата, в котором оно сейчас находится" in refused
    assert rows(h, "SELECT count(*) FROM contact_views")[0][0] == 0


async def test_a_removed_official_loses_access_at_once(h: Harness) -> None:
    appeal = await filed(h, ANNA)
    card = await card_of(h, appeal.reference)
    assert await group_alert(h, OFFICIAL, card, "👤")  # a member: sees the contact
    # Removed from the chat: Telegram sends a chat_member update.
    h.fake.set_chat_member(OFFICIALS, OFFICIAL, status="kicked")
    h.fake.push_update(
        {
            "chat_member": {
                "chat": {"id": OFFICIALS, "type": "supergroup", "title": "Officials"},
                "from": {"id": 1, "is_bot": False, "first_name": "Head"},
                "date": 1796000000,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": OFFICIAL, "is_bot": False, "first_name": "Official900"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": OFFICIAL, "is_bot": False, "first_name": "Official900"},
                },
            }
        }
    )
    refused = await group_alert(h, OFFICIAL, card, "👤")
    assert "Только должностные лица" in refused
    assert rows(h, "SELECT count(*) FROM contact_views")[0][0] == 1
    polls = [c for c in h.fake.calls if c.method == "getUpdates"]
    assert "chat_member" in (polls[-1].params.get("allowed_updates") or [])


def anonymous(chat: int, text: str, **extra: Any) -> dict[str, Any]:
    """A message an anonymous admin sends on behalf of the group."""
    return {
        "message": {
            "message_id": 9000 + len(text),
            "date": 1796000000,
            "chat": {"id": chat, "type": "supergroup", "title": "Officials"},
            "from": {
                "id": ANONYMOUS_ADMIN_BOT,
                "is_bot": True,
                "first_name": "Group",
                "username": "GroupAnonymousBot",
            },
            "sender_chat": {"id": chat, "type": "supergroup", "title": "Officials"},
            "text": text,
            **extra,
        }
    }


async def test_an_anonymous_admin_is_told_to_post_as_themselves(h: Harness) -> None:
    appeal = await filed(h, ANNA)
    prompt = await open_prompt(h, await card_of(h, appeal.reference), "✍️")
    since = h.fake.mark()
    h.fake.push_update(
        anonymous(OFFICIALS, "Ответ от имени группы", reply_to_message=prompt.result)
    )
    told = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "анонимно" in (c.text or ""), since=since
    )
    assert "Анонимность" in (told.text or "")
    since = h.fake.mark()
    h.fake.push_update(
        anonymous(
            OFFICIALS,
            f"/find {appeal.reference}",
            entities=[{"type": "bot_command", "offset": 0, "length": 5}],
        )
    )
    await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "анонимно" in (c.text or ""), since=since
    )
    # A message without any sender (as Telegram sends for some service posts) is no crash.
    since = h.fake.mark()
    raw = anonymous(
        OFFICIALS, "/stats", entities=[{"type": "bot_command", "offset": 0, "length": 6}]
    )
    del raw["message"]["from"]
    h.fake.push_update(raw)
    await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "анонимно" in (c.text or ""), since=since
    )
    assert not any("пошло не так" in (c.text or "") for c in h.fake.calls[since:])
    assert h.texts_to(ANNA) == []


async def test_not_solved_puts_the_card_back_to_work(h: Harness) -> None:
    appeal = await filed(h, ANNA)
    card = await card_of(h, appeal.reference)
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), "Фонарь заменён.")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    answer = await h.reply(ANNA, since, expect="Фонарь заменён.")
    answered_card = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and c.params.get("message_id") == card.result[
            "message_id"] and "✍️" not in str(c.params.get("reply_markup")),
        since=since,
    )  # fmt: skip
    assert "Дан ответ" in (answered_card.text or "")
    since = h.fake.mark()
    h.fake.press(ANNA, answer, h.fake.find_button(answer, "Нет"))
    reopened = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and c.params.get("message_id") == card.result[
            "message_id"],
        since=since,
    )  # fmt: skip
    assert "На рассмотрении" in (reopened.text or "")
    assert any("✍️" in label for label, _ in h.fake.buttons(reopened))
