"""A citizen who changes the language after booking (/lang) gets the booking's reminders and
notices in the language they have when these go out, not the one they booked in: the rows
queued at booking hold the text in every language and the sender picks (Outbox.in_language)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.outbox import IN_LANGUAGE_KIND
from tests.conftest import (
    ALMATY,
    OFFICIALS,
    FrozenClock,
    Harness,
    make_settings,
    start_bot,
    stop_bot,
)
from tests.fakeapi import FakeTelegram
from tests.test_e2e_appeal import onboard
from tests.test_e2e_booking import RU, book_first_slot, booking  # noqa: F401 - the fixture
from tests.test_e2e_meetings import announce_meeting, come, meetings_to
from tests.test_e2e_outreach import ANNA, WAIT, press, subscribe

pytestmark = pytest.mark.e2e


async def switch_language(h: Harness, user: int, to: str) -> None:
    languages = await h.say(user, "/lang")
    await h.click(user, languages, to, method="editMessageText")


async def test_reminders_and_a_cancelled_session_come_in_the_language_chosen_after_booking(
    booking: tuple[Harness, FrozenClock],  # noqa: F811 - the fixture imported above
) -> None:
    h, delivery = booking
    await onboard(h, RU, "ru")
    booked = await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    assert "25 ноября 2026" in (booked.text or "")
    await switch_language(h, RU, "Қазақша")

    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # the day before, 18:00 local
    h.app.outbox.wakeup.set()
    day_before = await h.reply(RU, since, expect="⏰")
    text = day_before.text or ""
    assert text.startswith("<b>⏰ Еске салу</b>") and "2026\u00a0ж. 25 қараша" in text, text
    assert "ноября" not in text
    assert any("✖️" in label for label, _ in h.fake.buttons(day_before))

    # Back to Russian: the next reminder and the session called off follow again.
    await switch_language(h, RU, "Русский")
    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 25, 8, 0, tzinfo=ALMATY)
    h.app.outbox.wakeup.set()
    soon = await h.reply(RU, since, expect="⏰")
    assert "25 ноября 2026" in (soon.text or ""), soon.text
    await switch_language(h, RU, "Қазақша")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/receptions 25.11.2026")
    session = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and "10:00" in (c.text or "")
        ),
        since=since,
    )
    since = h.fake.mark()
    h.fake.press(900, session, h.fake.find_button(session, "❌"))
    confirm = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and bool(h.fake.buttons(c)), since=since
    )
    since = h.fake.mark()
    h.fake.press(900, confirm, h.fake.buttons(confirm)[0][1] or "")
    told = await h.reply(RU, since, expect="❌")
    assert (told.text or "").startswith("<b>❌ Қабылдау тоқтатылды."), told.text


async def test_a_meeting_reminder_comes_in_the_language_chosen_after_saying_i_come(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    delivery = FrozenClock(clock.at)
    settings = make_settings(fake.base_url, tmp_path / "bot.db")
    app, task = await start_bot(fake, settings, clock, delivery)
    h = Harness(fake, app, task, clock, delivery)
    try:
        await onboard(h, ANNA, "ru")
        await subscribe(h, ANNA, "ru", "Абайская", "Семей")
        review = await announce_meeting(h.fake, "25.11.2026 15:00", "25 ноября 2026")
        since = h.fake.mark()
        await press(h.fake, review, "📤", "Объявление № 1")
        await h.fake.wait_for(lambda c: bool(meetings_to(h.fake, ANNA)), since=since, timeout=WAIT)
        (meeting,) = meetings_to(h.fake, ANNA)
        await come(h, ANNA, "ru", meeting, [])
        await switch_language(h, ANNA, "Қазақша")

        since = h.fake.mark()
        delivery.at = datetime(2026, 11, 24, 18, 0, tzinfo=ALMATY)
        h.app.outbox.wakeup.set()
        reminder = await h.reply(ANNA, since, expect="⏰")
        text = reminder.text or ""
        assert text.startswith("⏰ <b>Ертең — халықпен кездесу</b>"), text
        assert "2026\u00a0ж. 25 қараша" in text and "ноября" not in text
        assert h.fake.buttons(reminder)
    finally:
        await stop_bot(h.app, h.task)


async def test_a_reminder_in_hand_when_the_citizen_erases_their_data_is_not_sent(
    booking: tuple[Harness, FrozenClock],  # noqa: F811 - the fixture imported above
) -> None:
    """/forget deletes every row to the citizen's chat, but a reminder the sender already
    holds is drawn at that moment (its language read from the citizen's row). The row was
    then drawn in the booking's language for lack of a citizen and went to the person who
    had just erased their data. The fault injected: the sender holds the reminder at its
    drawing until /forget has committed."""
    h, delivery = booking
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    real = h.app.sender.renderers[IN_LANGUAGE_KIND]
    holding, erased = asyncio.Event(), asyncio.Event()

    async def held(data: Mapping[str, Any]) -> Mapping[str, Any]:
        holding.set()
        await erased.wait()
        return await real(data)

    h.app.sender.renderers[IN_LANGUAGE_KIND] = held
    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # the day before, 18:00 local
    h.app.outbox.wakeup.set()
    await asyncio.wait_for(holding.wait(), 10)
    question = await h.say(RU, "/forget")
    yes = h.fake.buttons(question)[0][1] or ""
    done = await h.press(RU, question, yes, method="editMessageText")
    assert await h.app.repo.get_citizen(RU) is None, done.text
    erased.set()
    await h.app.sender.drain()
    await h.quiet()
    assert not [t for t in h.texts_to(RU, since) if "⏰" in t]
