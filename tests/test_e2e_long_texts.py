"""Texts long in Telegram's measure (UTF-16 units: an emoji is two) never break a view: the full
card, /find, the citizen's own appeal and /receptions come in parts, the keyboard on the last.
The fake refuses a message over 4,096 units with "message is too long", as Telegram does."""

from __future__ import annotations

import re
from datetime import date

import pytest

from storage.models import Outcome, Status
from tests.conftest import OFFICIALS, FrozenClock, Harness
from tests.fakeapi import Call, visible_text
from tests.test_e2e_appeal import NAME, name_phone_address, onboard
from tests.test_e2e_booking import booking  # noqa: F401 - the fixture of the booking tests

pytestmark = pytest.mark.e2e
CITIZEN = 1301
OFFICIAL = 900
# 3,485 characters, the most a citizen may type being 3,500, and 6,791 UTF-16 units: words of
# emoji, as people write them, ending in a word the test looks for.
LONG_TEXT = ("🚧" * 19 + " ") * 174 + "КОНЕЦ"
LONG_ANSWER = "📝" * 3495 + "ФИНИШ"  # 3,500 characters, 6,995 units
LONG_NAME = ("🌸" * 64, "🌼" * 64)  # Telegram allows 64 characters for each
# The longest full name and address for a written answer the dialog accepts (60 characters,
# 120 UTF-16 units): with a phone, all of it fits an alert.
LONGEST_NAME = "Һ" + "а" * 20 + " Ә" + "б" * 20 + " Ө" + "в" * 15
LONGEST_ADDRESS = "🏠" * 60


def shown(call: Call) -> str:
    return visible_text(call.text, call.params.get("parse_mode"))


def squeezed(text: str) -> str:
    """Without whitespace: where a text was cut into parts, a space may move or go."""
    return re.sub(r"\s+", "", text)


async def file_appeal(
    h: Harness, user: int, text: str, name: str = NAME, address: str = "Пропустить"
) -> tuple[Call, Call]:
    """A Russian citizen files `text` with that name and address for a written answer;
    returns the review card they saw and the card the officials got."""
    await onboard(h, user, "ru")
    kinds = await h.say(user, "/new")
    categories = await h.click(user, kinds, "Заявление")
    await h.click(user, categories, "Другое")
    await h.say(user, "Шымкент", expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(user, "Каратау")
    await h.reply(user, since, expect="3500")
    files = await h.say(user, text)
    location = await h.press(user, files, h.fake.buttons(files)[0][1] or "")
    await h.say(user, h.fake.buttons(location)[1][0], expect="фамилия, имя")
    review = await name_phone_address(h, user, "+77015556677", name, address)
    registered = await h.confirm(user, review, "✅", expect="2026-")
    reference = re.search(r"2026-\d{5}", registered.text or "")
    assert reference is not None
    card = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and not c.failed and h.fake.chat_of(c) == OFFICIALS
        and (c.text or "").startswith("🆕") and reference.group(0) in (c.text or "")
    )  # fmt: skip
    return review, card


async def parts_until(h: Harness, chat: int, since: int, last: str) -> list[Call]:
    """The messages sent to `chat` after `since`, up to the one whose text holds `last`;
    none of them refused."""
    end = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == chat
        and last in shown(c),
        since=since,
    )  # fmt: skip
    calls = [
        c for c in h.fake.calls[since : h.fake.calls.index(end) + 1]
        if c.method == "sendMessage" and h.fake.chat_of(c) == chat
    ]  # fmt: skip
    assert [c.error for c in calls if c.failed] == []
    return calls


async def test_show_all_find_and_my_appeal_come_in_parts(harness: Harness) -> None:
    h = harness
    review, card = await file_appeal(h, CITIZEN, LONG_TEXT, LONGEST_NAME, LONGEST_ADDRESS)
    # The review shows the text's start and every field, in one message with its buttons.
    assert LONG_TEXT[:100] in shown(review)
    assert LONGEST_NAME in shown(review) and LONGEST_ADDRESS in shown(review)
    assert "КОНЕЦ" not in shown(card)

    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "📄"), first_name="Official900")
    parts = await parts_until(h, OFFICIALS, since, "КОНЕЦ")
    assert len(parts) >= 2
    assert squeezed(LONG_TEXT) in squeezed("".join(shown(c) for c in parts))

    # /find: the whole card, its history, and the card's buttons under the last part.
    since = h.fake.mark()
    # An official with the longest name Telegram allows.
    h.fake.group_message(
        OFFICIALS, OFFICIAL, "/find 2026-00001", first_name=LONG_NAME[0], last_name=LONG_NAME[1]
    )
    parts = await parts_until(h, OFFICIALS, since, "гражданин · Зарегистрировано")
    assert len(parts) >= 2
    assert squeezed(LONG_TEXT) in squeezed("".join(shown(c) for c in parts))
    assert [bool(h.fake.buttons(c)) for c in parts] == [False] * (len(parts) - 1) + [True]
    since = h.fake.mark()
    h.fake.press(OFFICIAL, parts[-1], h.fake.find_button(parts[-1], "▶️"), first_name="Official900")
    # The buttons work from the last part: the appeal is taken, the message becomes the card.
    await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and not c.failed
        and c.params.get("message_id") == parts[-1].result["message_id"]
        and LONG_NAME[1] in shown(c),
        since=since,
    )  # fmt: skip

    # Alerts hold 200 characters: the longest name and address the dialog takes fit whole …
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "👤"))
    contact = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert contact.error is None
    assert contact.params["text"] == f"{LONGEST_NAME}\n+77015556677\n{LONGEST_ADDRESS}"
    # … and a longer name stored before the dialog checked names is cut; the phone and the
    # address never are.
    await h.app.repo.update_fields(1, contact_name=" ".join(LONG_NAME))
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "👤"))
    contact = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert contact.error is None
    assert str(contact.params["text"]).endswith(f"…\n+77015556677\n{LONGEST_ADDRESS}")
    since = h.fake.mark()
    h.fake.press(OFFICIAL + 1, card, h.fake.find_button(card, "▶️"))
    already = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert already.error is None and "🌸…" in str(already.params["text"])

    # The citizen's own view: the whole text and the whole answer (3,500 emoji, 7,000 units).
    officials = h.app.dp["officials"]
    await officials.repo.transition(
        1, frozenset({Status.IN_PROGRESS}), Status.ANSWERED, "official:900", h.clock(),
        answer_text=LONG_ANSWER, answer_outcome=Outcome.EXPLAINED.value,
        answered_at=h.clock(), answered_by_name="Official900",
    )  # fmt: skip
    mine = await h.say(CITIZEN, "/my", expect="2026-00001")
    assert "📝" in shown(mine) and "ФИНИШ" not in shown(mine)  # the list: the answer's start
    since = h.fake.mark()
    h.fake.press(CITIZEN, mine, h.fake.find_button(mine, "2026-00001"))
    parts = await parts_until(h, CITIZEN, since, "ФИНИШ")
    assert len(parts) >= 3
    everything = squeezed("".join(shown(c) for c in parts))
    assert squeezed(LONG_TEXT) in everything and LONG_ANSWER in everything


async def test_receptions_listing_comes_in_parts(
    booking: tuple[Harness, FrozenClock],  # noqa: F811 - the fixture imported above
) -> None:
    """A full session where everyone wrote the most they may: the listing for officials comes
    in parts, «call off» under the last."""
    h, _delivery = booking
    service = h.app.dp["bookings"]
    day = date(2026, 11, 25)
    reception = service.receptions.get("deputy_akim")
    citizens = []
    for n, slot in enumerate(service.planner.slots(reception, day)):
        for seat in range(reception.capacity):
            citizen = 7000 + n * 10 + seat
            await h.app.repo.set_language(citizen, "ru")
            result = await service.book(citizen, "ru", {
                "draft_key": f"long-{citizen}", "reception": "deputy_akim",
                "slot": slot.start.isoformat(), "topic": "❓" * 1000,
                "access": ["wheelchair", "sign_language", "companion"],
                "access_other": "🦮" * 299 + f"#{citizen}", "contact_name": "🌸 🌼",
                "contact_phone": "+77010000000",
            })  # fmt: skip
            assert result.booking is not None, result.reason
            citizens.append(citizen)
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/receptions 25.11.2026")
    parts = await parts_until(h, OFFICIALS, since, "кресло-коляска: 18")
    assert len(citizens) == 18 and len(parts) >= 3
    everything = "".join(shown(c) for c in parts)
    assert all(f"#{citizen}" in everything for citizen in citizens)
    # The session is ahead: «call it off» is offered, under the last part.
    assert [bool(h.fake.buttons(c)) for c in parts] == [False] * (len(parts) - 1) + [True]
    assert any("❌" in label for label, _ in h.fake.buttons(parts[-1]))
