"""Announcements and meetings (issue #13) under a third review, over HTTP against the fake Bot
API: a typed step of an officials' dialog is checked again for who may act, and a button of an
older /announce screen never acts on the draft in hand."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_meetings import announce_meeting, reply_in_group
from tests.test_e2e_outreach import (
    ANNA,
    OFFICIAL,
    group_reply,
    press,
    say_in_group,
    subscribe,
)

pytestmark = pytest.mark.e2e

REFUSAL = "для должностных лиц"


async def removed(h: Harness, user: int = OFFICIAL) -> None:
    """The official is removed from the officials' chat: Telegram answers getChatMember with
    «kicked» from now on and tells the bot in a chat_member update, handled before we go on."""
    h.fake.set_chat_member(OFFICIALS, user, status="kicked")
    h.fake.push_update(
        {
            "chat_member": {
                "chat": {"id": OFFICIALS, "type": "supergroup", "title": "Officials"},
                "from": {"id": 1, "is_bot": False, "first_name": "Head"},
                "date": 1796000000,
                "old_chat_member": {
                    "status": "member",
                    "user": {"id": user, "is_bot": False, "first_name": "Асқар"},
                },
                "new_chat_member": {
                    "status": "kicked",
                    "until_date": 0,
                    "user": {"id": user, "is_bot": False, "first_name": "Асқар"},
                },
            }
        }
    )
    async with asyncio.timeout(10):
        while h.fake.pending_updates():  # noqa: ASYNC110 - the fake's queue, no event
            await asyncio.sleep(0.01)
    await h.settled(OFFICIALS)
    await h.quiet(0.2)


def said(h: Harness, since: int) -> list[str]:
    """What the bot posted or edited in the officials' chat since `since`, the morning digest
    aside (it goes out at start-up and may arrive at any moment of a test)."""
    return [
        c.text or ""
        for c in h.fake.calls[since:]
        if c.method in ("sendMessage", "editMessageText")
        and h.fake.chat_of(c) == OFFICIALS
        and "Сводка" not in (c.text or "")
    ]


async def test_a_removed_official_cannot_finish_a_move_by_typing(harness: Harness) -> None:
    """«Move» was pressed by a member; removed from the officials' chat before the new time
    is typed, the reply is refused as a command would be, and nothing is moved."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    review = await announce_meeting(h.fake)
    await press(h.fake, review, "📤", "Объявление № 1")
    report = await say_in_group(h.fake, "/meetings", "Встреча № 1")
    prompt = await press(h.fake, report, "Перенести встречу № 1", "Перенос встречи № 1",
                         method="sendMessage")  # fmt: skip
    await removed(h)
    since = h.fake.mark()
    refusal = await reply_in_group(h.fake, prompt, "27.11.2099 11:00", REFUSAL)
    await h.quiet(0.3)
    texts = said(h, since)
    assert texts == [refusal.text]  # no prompt for the place
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_moves")[0]["n"] == 0


async def test_a_removed_official_cannot_enter_how_many_came(harness: Harness) -> None:
    """«How many came» was pressed by a member; removed before the number is typed, the reply
    is refused and no count is recorded."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    review = await announce_meeting(h.fake)  # 25.11.2099 15:00
    await press(h.fake, review, "📤", "Объявление № 1")
    h.clock.at = datetime(2099, 11, 26, 10, 0, tzinfo=ALMATY)
    past = await say_in_group(h.fake, "/meetings past", "Встречи с населением за последние")
    prompt = await press(h.fake, past, "Сколько пришло № 1", "сколько человек пришло",
                         method="sendMessage")  # fmt: skip
    await removed(h)
    since = h.fake.mark()
    refusal = await reply_in_group(h.fake, prompt, "37", REFUSAL)
    await h.quiet(0.3)
    assert said(h, since) == [refusal.text]
    assert rows(h, "SELECT meeting_attended FROM announcements")[0]["meeting_attended"] is None


async def test_a_removed_official_cannot_type_an_announcements_text(harness: Harness) -> None:
    """/announce was started by a member; removed before the text is typed, the reply is
    refused and no preview, prompt or review card follows."""
    h = harness
    kinds = await say_in_group(h.fake, "/announce", "Новое объявление")
    districts = await press(h.fake, kinds, "📄", "В какие районы")
    chosen = await press(h.fake, districts, "г. Семей", "Выбрано")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, chosen, h.fake.find_button(chosen, "Далее"), first_name="Асқар")
    prompt = await group_reply(h.fake, since, "казахском")
    await removed(h)
    since = h.fake.mark()
    refusal = await reply_in_group(h.fake, prompt, "Бірінші хабарландыру мәтіні", REFUSAL)
    await h.quiet(0.3)
    texts = said(h, since)
    assert texts == [refusal.text]


async def test_an_older_announce_screens_buttons_leave_the_draft_in_hand(harness: Harness) -> None:
    """An official starts /announce, then starts it again. The kind and district buttons of
    the first screen were shown for the first draft: pressed now, they must not choose a kind
    or a district for the second one (nor edit the old screen as if they had); they are
    stale. The second screen goes on with only what was chosen on it."""
    h = harness
    first = await say_in_group(h.fake, "/announce", "Новое объявление")
    await say_in_group(h.fake, "/announce", "Новое объявление")
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, first, h.fake.find_button(first, "📄"))
    assert "больше не действует" in alert
    await h.quiet(0.3)
    assert said(h, since) == []  # the old screen did not turn into the districts

    first_kinds = await say_in_group(h.fake, "/announce", "Новое объявление")
    first_districts = await press(h.fake, first_kinds, "📄", "В какие районы")
    kinds = await say_in_group(h.fake, "/announce", "Новое объявление")
    districts = await press(h.fake, kinds, "📄", "В какие районы")
    since = h.fake.mark()
    for label in ("г. Семей", "Все районы"):
        alert = await h.alert(OFFICIAL, first_districts, h.fake.find_button(first_districts, label))
        assert "больше не действует" in alert, label
    await h.quiet(0.3)
    assert said(h, since) == []
    # The draft in hand has no district yet: the first one chosen on its screen is the only.
    chosen = await press(h.fake, districts, "г. Курчатов", "Выбрано")
    assert "Выбрано: г. Курчатов." in (chosen.text or "")
    assert not any(label.startswith("✅ г. Семей") for label, _ in h.fake.buttons(chosen))
