"""A booked place and the outbox rows that follow it live and die together, whatever the
moment the process is killed (`python -m tests.crashpoint`, the real process, over HTTP
against the fake Bot API; SQLite, and PostgreSQL with E2E_DATABASE=postgres):

- «Confirm» takes the place and queues its reminders;
- the citizen's «Cancel» gives the place back and withdraws its reminders;
- the officials calling a session off cancel its places, withdraw their reminders and tell
  each citizen.

Written one after the other, a crash between them left a booking without reminders for good
(a confirm pressed again finds it booked), a reminder of a place given back, or a session
called off that nobody was told of (the officials' second press finds nothing to cancel)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.telegram.callbacks import BookingCb, ReceptionCb
from tests import e2edb
from tests.conftest import OFFICIALS
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_capacity import STEP, confirm, review
from tests.test_e2e_outreach_trust import exited_or_called

pytestmark = pytest.mark.e2e

CITIZEN = 8301
OFFICIAL = 900
PENDING_REMINDERS = (
    "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'remind:%' "
    "AND sent_at IS NULL AND dropped_at IS NULL"
)


def booked(bot: RealBot) -> list[tuple[object, ...]]:
    found = e2edb.query(bot.database, "SELECT id, status, reception, session_day FROM bookings")
    return [tuple(r) for r in found]


def pending_reminders(bot: RealBot) -> int:
    [(count,)] = e2edb.query(bot.database, PENDING_REMINDERS)
    return int(count)


async def booked_place(fake: FakeTelegram, bot: RealBot) -> tuple[Call, int]:
    """The citizen books the first free time; the confirmed card and the booking's id."""
    card, _time, _free = await review(fake, CITIZEN)
    done = await confirm(fake, CITIZEN, card)
    assert done.method == "editMessageText", done
    [(booking_id, status, _reception, _day)] = booked(bot)
    assert status == "booked"
    assert pending_reminders(bot) >= 1
    return done, int(str(booking_id))


async def test_a_crash_between_confirm_and_the_reminders_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    await bot.start()
    try:
        card, _time, _free = await review(fake, CITIZEN)
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_BEFORE="remind:")
        fake.press(CITIZEN, card, fake.find_button(card, "✅"))
        assert await bot.exited() == CRASHED  # about to queue the reminders

        await bot.start()
        # Whether or not Telegram hands the press over again, the citizen can press again.
        done = await confirm(fake, CITIZEN, card)
        assert done.method == "editMessageText", done
        assert await bot.stop() == 0
        assert [row[1] for row in booked(bot)] == ["booked"]
        assert pending_reminders(bot) >= 1
    finally:
        await bot.kill()


async def test_a_crash_between_cancel_and_withdrawing_the_reminders_leaves_none(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    await bot.start()
    try:
        done, booking_id = await booked_place(fake, bot)
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_WITHDRAWING="booking:")
        since = fake.mark()
        cancel = BookingCb(action="dropok", booking=booking_id).pack()
        fake.press(CITIZEN, done, cancel)

        def cancelled(c: Call) -> bool:
            return c.method == "editMessageText" and "отменена" in (c.text or "")

        if not await exited_or_called(bot, fake, cancelled, since):
            assert await bot.stop() == 0
        await bot.start()
        # The citizen, told nothing, presses again: the booking is no longer active.
        since = fake.mark()
        fake.press(CITIZEN, done, cancel)
        await fake.wait_for(
            lambda c: c.method in ("answerCallbackQuery", "editMessageText")
            and fake.chat_of(c) in (CITIZEN, None),
            since=since, timeout=STEP,
        )  # fmt: skip
        assert await bot.stop() == 0
        assert [row[1] for row in booked(bot)] == ["cancelled"]
        assert pending_reminders(bot) == 0
    finally:
        await bot.kill()


async def test_a_session_called_off_tells_everyone_whatever_the_moment_of_a_crash(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    await bot.start()
    try:
        await booked_place(fake, bot)
        [(_id, _status, reception, day)] = booked(bot)
        session_day = day if isinstance(day, date) else date.fromisoformat(str(day))
        since = fake.mark()
        fake.group_message(OFFICIALS, OFFICIAL, "/receptions")
        listed = await fake.wait_for(
            lambda c: c.method == "sendMessage" and fake.chat_of(c) == OFFICIALS,
            since=since, timeout=STEP,
        )  # fmt: skip
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_WITHDRAWING="booking:")
        call_off = ReceptionCb(
            action="cancel", reception=str(reception), day=session_day.strftime("%Y%m%d")
        ).pack()
        since = fake.mark()
        fake.press(OFFICIAL, listed, call_off)

        def called_off(c: Call) -> bool:
            return c.method == "editMessageText" and fake.chat_of(c) == OFFICIALS

        if not await exited_or_called(bot, fake, called_off, since):
            assert await bot.stop() == 0
        assert [row[1] for row in booked(bot)] == ["cancelled"]

        await bot.start()
        # The official, told nothing, presses again: the session is called off already.
        since = fake.mark()
        fake.press(OFFICIAL, listed, call_off)
        await fake.wait_for(called_off, since=since, timeout=STEP)
        assert pending_reminders(bot) == 0
        assert e2edb.query(
            bot.database, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE 'session-cancelled:%'"
        ) == [(1,)]
        told = await fake.wait_for(
            lambda c: c.method == "sendMessage" and fake.chat_of(c) == CITIZEN
            and "❌" in (c.text or ""),
            timeout=STEP,
        )  # fmt: skip
        assert told.text
        assert await bot.stop() == 0
    finally:
        await bot.kill()


async def test_a_crash_in_a_move_leaves_the_reminders_of_one_time(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """«Another time» frees the old place only once the new one is taken; the reminders must
    follow: killed after the move, the old time's reminders went out and the new one had none
    (a second press finds the booking moved already)."""
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    await bot.start()
    try:
        done, booking_id = await booked_place(fake, bot)
        since = fake.mark()
        fake.press(CITIZEN, done, BookingCb(action="move", booking=booking_id).pack())
        days = await fake.wait_for(
            lambda c: c.method == "editMessageText" and bool(fake.buttons(c)),
            since=since, timeout=STEP,
        )  # fmt: skip
        day = next(d for _label, d in fake.buttons(days) if d and d.startswith("bk:mday:"))
        since = fake.mark()
        fake.press(CITIZEN, days, day)
        slots = await fake.wait_for(
            lambda c: c.method == "editMessageText" and bool(fake.buttons(c)),
            since=since, timeout=STEP,
        )  # fmt: skip
        slot = next(d for _label, d in fake.buttons(slots) if d and d.startswith("bk:mslot:"))
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_WITHDRAWING="booking:")
        since = fake.mark()
        fake.press(CITIZEN, slots, slot)

        def moved(c: Call) -> bool:
            return (
                c.method == "sendMessage" and fake.chat_of(c) == CITIZEN and "🔁" in (c.text or "")
            )

        if not await exited_or_called(bot, fake, moved, since):
            assert await bot.stop() == 0
        await bot.start()
        since = fake.mark()
        fake.press(CITIZEN, slots, slot)  # told nothing, the citizen presses again
        await fake.wait_for(
            lambda c: fake.chat_of(c) in (CITIZEN, None)
            and c.method in ("answerCallbackQuery", "sendMessage"),
            since=since, timeout=STEP,
        )  # fmt: skip
        assert await bot.stop() == 0
        statuses = {int(str(row[0])): row[1] for row in booked(bot)}
        assert statuses[booking_id] == "cancelled" and list(statuses.values()).count("booked") == 1
        [new_id] = [i for i, status in statuses.items() if status == "booked"]
        by_booking = e2edb.query(
            bot.database,
            "SELECT purpose, COUNT(*) FROM outbox WHERE dedupe_key LIKE 'remind:%' "
            "AND sent_at IS NULL AND dropped_at IS NULL GROUP BY purpose",
        )
        # Only the new time's reminders are waiting (the old time's withdrawn).
        assert [r[0] for r in by_booking] == [f"booking:{new_id}"]
    finally:
        await bot.kill()
