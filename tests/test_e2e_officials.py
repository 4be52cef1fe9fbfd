"""The listening loop over HTTP: a citizen files, the card reaches the officials' group, an
official takes and answers it, the citizen reads the answer in their language and rates it."""

from __future__ import annotations

import pytest

from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import reach_review, rows

pytestmark = pytest.mark.e2e
CITIZEN = 801
OFFICIAL = 900
OTHER_OFFICIAL = 901
STRANGER = 999


async def card_of(h: Harness, reference: str) -> Call:
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage"
        and h.fake.chat_of(c) == OFFICIALS
        and reference in (c.text or "")
        and not c.failed
    )


async def group_alert(h: Harness, user: int, card: Call, label: str) -> str:
    since = h.fake.mark()
    h.fake.press(user, card, h.fake.find_button(card, label), first_name=f"Official{user}")
    call = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    return str(call.params.get("text") or "")


async def test_card_take_answer_and_rating(harness: Harness) -> None:
    h = harness
    review = await reach_review(h, CITIZEN)
    await h.click(CITIZEN, review, "✅", expect="2026-00001")
    card = await card_of(h, "2026-00001")
    assert "+7 7•• ••• •• 77" in (card.text or "")  # +7 701 555 66 77, masked
    assert "+77015556677" not in (card.text or "")

    h.fake.set_chat_member(OFFICIALS, STRANGER, status="left")
    refusal = await group_alert(h, STRANGER, card, "▶️")
    assert "только" in refusal.lower() or "Only" in refusal
    assert rows(h, "SELECT status FROM appeals")[0]["status"] == "registered"

    since = h.fake.mark()
    taken = await group_alert(h, OFFICIAL, card, "▶️")
    assert taken
    edited = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    assert f"Official{OFFICIAL}" in (edited.text or "")
    await h.reply(CITIZEN, since, expect="2026-00001")  # "under consideration"

    again = await group_alert(h, OTHER_OFFICIAL, card, "▶️")
    assert f"Official{OFFICIAL}" in again

    contact = await group_alert(h, OFFICIAL, card, "👤")
    assert "+77015556677" in contact
    assert len(rows(h, "SELECT * FROM contact_views")) == 1

    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "✍️"), first_name=f"Official{OFFICIAL}")
    outcomes = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS, since=since
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, outcomes, h.fake.buttons(outcomes)[0][1] or "",
                 first_name=f"Official{OFFICIAL}")
    prompt = await h.fake.wait_for(
        lambda c: c.method == "sendMessage"
        and h.fake.chat_of(c) == OFFICIALS
        and "force_reply" in str(c.params.get("reply_markup")),
        since=since,
    )
    since = h.fake.mark()
    h.fake.group_message(
        OFFICIALS, OFFICIAL, "Фонари на улице Ленина заменены 25 ноября.",
        first_name=f"Official{OFFICIAL}", reply_to_message=prompt.result,
    )  # fmt: skip
    answer = await h.reply(CITIZEN, since, expect="Фонари на улице Ленина заменены")
    assert "2026-00001" in (answer.text or "")
    solved = h.fake.find_button(answer, "Да")

    since = h.fake.mark()
    h.fake.press(CITIZEN, answer, solved)
    rating = await h.with_button(CITIZEN, since, "5 ⭐")
    await h.click(CITIZEN, rating, "5 ⭐", method="editMessageText")

    [appeal] = rows(h, "SELECT status, answer_outcome, solved, rating FROM appeals")
    assert tuple(appeal) == ("closed", "satisfied", "yes", 5)
    history = [r["new_status"] for r in rows(h, "SELECT new_status FROM status_history")]
    assert history == ["registered", "in_progress", "answered", "closed"]
