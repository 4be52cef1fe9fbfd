"""A place freed in a full session reaches its waiting list whatever the moment the process is
killed (`python -m tests.crashpoint`, the real process, over HTTP against the fake Bot API;
SQLite, and PostgreSQL with E2E_DATABASE=postgres).

The citizen's «Cancel» or «Another time» frees the place in one transaction and offers it to
the first in line in another. Killed between the two, the place stayed free and the waiting
list was never told until another place of that session freed (a second press finds the
booking cancelled or moved already, and offers nothing). Now every tick, the first one at
start-up, offers a free place of a session with citizens waiting. A move did not offer the
place it freed at all, crash or not."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.domain.catalog import load_catalog
from bot.domain.deadlines import WorkCalendar
from bot.domain.receptions import SlotPlanner, load_receptions
from bot.telegram.callbacks import BookingCb
from storage.codec import encode_instant
from tests import e2edb
from tests.conftest import OFFICIALS
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_capacity import STEP, confirm, press, review, say, with_button
from tests.test_e2e_outreach_trust import exited_or_called

pytestmark = pytest.mark.e2e

CITIZEN = 8401  # holds a place in the full session and gives it up
WAITER = 8402  # waits for a place in that session
TZ = ZoneInfo("Asia/Almaty")  # the bot's default TIMEZONE


def fill_the_session(bot: RealBot, booking_id: int) -> date:
    """Every other place of the booking's session taken (by erased citizens' bookings, which
    keep no citizen): the session is full. Returns its day."""
    [(code, day)] = e2edb.query(
        bot.database, "SELECT reception, session_day FROM bookings WHERE id = ?", booking_id
    )
    session_day = date.fromisoformat(str(day))
    catalog = load_catalog()
    receptions = load_receptions(catalog)
    reception = receptions.get(str(code))
    assert reception is not None
    planner = SlotPlanner(receptions, WorkCalendar.from_catalog(catalog), TZ)
    for slot in planner.slots(reception, session_day):
        start = slot.start if e2edb.POSTGRES else encode_instant(slot.start)
        [(taken,)] = e2edb.query(
            bot.database,
            "SELECT COUNT(*) FROM bookings WHERE reception = ? AND slot_start = ? "
            "AND status = 'booked'",
            str(code), start,
        )  # fmt: skip
        for _ in range(reception.capacity - int(taken)):
            e2edb.query(
                bot.database,
                "INSERT INTO bookings (reception, slot_start, session_day, language, created_at) "
                "SELECT reception, ?, session_day, language, created_at FROM bookings "
                "WHERE id = ?",
                start, booking_id,
            )  # fmt: skip
    return session_day


async def join_the_waiting_list(fake: FakeTelegram, user: int) -> None:
    """/start, Russian, consent, /book: the first reception's full day, «join the list»."""
    choose = await say(fake, user, "/start")
    since = fake.mark()
    fake.press(user, choose, fake.find_button(choose, "Русский"))
    consent = await with_button(fake, user, since, "✅")
    await press(fake, user, consent, "✅", method="editMessageText")
    receptions = await say(fake, user, "/book")
    days = await press(fake, user, receptions, fake.buttons(receptions)[0][0])
    full = next(d for _label, d in fake.buttons(days) if d and d.startswith("bk:wait:"))
    since = fake.mark()
    fake.press(user, days, full)
    await fake.wait_for(
        lambda c: c.method == "sendMessage" and fake.chat_of(c) == user
        and "листе ожидания" in (c.text or ""),
        since=since, timeout=STEP,
    )  # fmt: skip


async def move_screen(fake: FakeTelegram, done: Call, booking_id: int, day: date) -> tuple[
    Call, str
]:  # fmt: skip
    """«Another time» on the booking: another day's times, and the first time's button."""
    since = fake.mark()
    fake.press(CITIZEN, done, BookingCb(action="move", booking=booking_id).pack())
    days = await fake.wait_for(
        lambda c: c.method == "editMessageText" and bool(fake.buttons(c)),
        since=since, timeout=STEP,
    )  # fmt: skip
    other = next(
        d for _label, d in fake.buttons(days)
        if d and d.startswith("bk:mday:") and day.isoformat() not in d
    )  # fmt: skip
    since = fake.mark()
    fake.press(CITIZEN, days, other)
    slots = await fake.wait_for(
        lambda c: c.method == "editMessageText" and bool(fake.buttons(c)),
        since=since, timeout=STEP,
    )  # fmt: skip
    slot = next(d for _label, d in fake.buttons(slots) if d and d.startswith("bk:mslot:"))
    return slots, slot


@pytest.mark.parametrize("give_up", ["cancel", "move"])
async def test_a_place_freed_in_a_full_session_is_offered_whatever_the_moment_of_a_crash(
    fake: FakeTelegram, tmp_path: Path, give_up: str
) -> None:
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    await bot.start()
    try:
        card, time, _free = await review(fake, CITIZEN)
        done = await confirm(fake, CITIZEN, card)
        assert done.method == "editMessageText", done
        [(booking_id,)] = e2edb.query(bot.database, "SELECT id FROM bookings")
        booking_id = int(str(booking_id))
        day = fill_the_session(bot, booking_id)
        await join_the_waiting_list(fake, WAITER)
        assert e2edb.query(
            bot.database, "SELECT session_day, status FROM waitlist WHERE citizen_id = ?", WAITER
        ) == [(day.isoformat(), "waiting")]
        if give_up == "move":
            on, button = await move_screen(fake, done, booking_id, day)
        else:
            on, button = done, BookingCb(action="dropok", booking=booking_id).pack()
        assert await bot.stop() == 0

        # Killed the moment the offer's message is written: the place is given up (committed
        # before), the offer and its message are not (they commit together or not at all).
        await bot.start("tests.crashpoint", CRASH_BEFORE="offer:")
        since = fake.mark()
        fake.press(CITIZEN, on, button)

        def answered(c: Call) -> bool:
            return fake.chat_of(c) == CITIZEN and c.method in ("editMessageText", "sendMessage")

        crashed = await exited_or_called(bot, fake, answered, since)
        if not crashed:
            assert await bot.stop() == 0
        statuses = e2edb.query(bot.database, "SELECT status FROM bookings WHERE id = ?", booking_id)
        assert statuses == [("cancelled",)]  # given up, whatever the crash
        assert crashed, "the place given up was never offered (no offer to crash in)"

        await bot.start()
        offer = await fake.wait_for(
            lambda c: c.method == "sendMessage" and fake.chat_of(c) == WAITER
            and "🎉" in (c.text or ""),
            since=since, timeout=STEP,
        )  # fmt: skip
        assert time in (offer.text or "")
        assert await bot.stop() == 0
        assert e2edb.query(
            bot.database, "SELECT status FROM waitlist WHERE citizen_id = ?", WAITER
        ) == [("offered",)]
        # Offered once: the update handed over again after the crash offers nothing more.
        assert e2edb.query(
            bot.database, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'offer:%'"
        ) == [(1,)]
    finally:
        await bot.kill()
