"""Booking an open reception over HTTP: the dialog in both languages, reminders at the right
local times, cancelling from a reminder."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.services.bookings import BookingService
from tests.conftest import (
    ALMATY,
    OFFICIALS,
    FrozenClock,
    Harness,
    make_settings,
    start_bot,
    stop_bot,
)
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, rows

pytestmark = pytest.mark.e2e
RU = 1101
KK = 1102


@pytest.fixture
async def booking(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[
    tuple[Harness, FrozenClock]
]:  # fmt: skip
    """The bot with a delivery clock the test moves, so reminders come due on demand."""
    delivery = FrozenClock(clock.at)
    settings = make_settings(fake.base_url, tmp_path / "bot.db")
    app, task = await start_bot(fake, settings, clock, delivery)
    h = Harness(fake, app, task, clock, delivery)
    yield h, delivery
    await stop_bot(h.app, h.task)


async def book_first_slot(
    h: Harness, user: int, lang: str, question: str, **names: str | None
) -> Call:
    """Book the first free time; `names` (first_name, last_name) are the citizen's Telegram
    name, which the booking keeps as its contact name."""
    review = await booking_review(h, user, lang, question, **names)
    return await h.confirm(user, review, "✅", lang=lang)


async def booking_review(
    h: Harness, user: int, lang: str, question: str, **names: str | None
) -> Call:
    """The first free slot of the first reception, up to the review card."""
    receptions = await h.say(user, "/book", lang=lang)
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    slots = await h.press(user, days, h.fake.buttons(days)[0][1] or "", lang=lang)
    question_prompt = await h.press(user, slots, h.fake.buttons(slots)[0][1] or "", lang=lang)
    assert "1000" in (question_prompt.text or "")
    access = await h.say(user, question, lang=lang)
    since = h.fake.mark()
    h.fake.press(user, access, h.fake.find_button(access, "♿"), language_code=lang)
    toggled = await h.reply(user, since, method="editMessageReplyMarkup")
    assert any(b.startswith("✅ ♿") for b, _ in h.fake.buttons(toggled))
    contact = await h.click(user, access, "➡️", lang=lang)
    assert any("📱" in b for b, _ in h.fake.buttons(contact))
    since = h.fake.mark()
    h.fake.user_message(user, "+7 701 111 22 33", language_code=lang, **names)  # type: ignore[arg-type]
    return await h.with_button(user, since, "✅")


async def test_booking_in_russian_with_reminders_and_cancel(
    booking: tuple[Harness, FrozenClock],
) -> None:
    h, delivery = booking
    await onboard(h, RU, "ru")
    booked = await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    assert "25 ноября 2026" in (booked.text or "") and "10:00" in (booked.text or "")
    [row] = rows(h, "SELECT status, access, session_day FROM bookings")
    assert row["status"] == "booked" and "wheelchair" in row["access"]
    assert row["session_day"] == "2026-11-25"

    # The day before at 18:00 in Almaty (13:00 UTC) …
    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 24, 12, 59, tzinfo=UTC)
    h.app.outbox.wakeup.set()
    await h.quiet(0.3)
    assert not [c for c in h.fake.calls[since:] if c.chat_id == RU and "⏰" in (c.text or "")]
    delivery.at = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
    h.app.outbox.wakeup.set()
    day_before = await h.reply(RU, since, expect="⏰")
    assert "25 ноября 2026" in (day_before.text or "")
    # … and two hours before, 08:00 local.
    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 25, 8, 0, tzinfo=ALMATY)
    h.app.outbox.wakeup.set()
    soon = await h.reply(RU, since, expect="⏰")
    # Cancelling asks first; «No» puts the reminder back as it was.
    question = await h.click(RU, soon, "✖️", method="editMessageText")
    assert "Отменить эту запись?" in (question.text or "") and "10:00" in (question.text or "")
    kept = await h.click(RU, question, "Нет", method="editMessageText")
    assert kept.text == soon.text and h.fake.buttons(kept) == h.fake.buttons(soon)
    assert rows(h, "SELECT status FROM bookings")[0]["status"] == "booked"
    question = await h.click(RU, kept, "✖️", method="editMessageText")
    done = await h.click(RU, question, "Да", method="editMessageText")
    assert "Ваша запись отменена" in (done.text or "") and h.fake.buttons(done) == []
    assert rows(h, "SELECT status FROM bookings")[0]["status"] == "cancelled"


async def test_cancel_withdraws_the_reminders(booking: tuple[Harness, FrozenClock]) -> None:
    h, delivery = booking
    await onboard(h, KK, "kk")
    booked = await book_first_slot(h, KK, "kk", "Жұмысқа орналасу туралы сұрақ бар")
    assert "2026\u00a0ж. 25 қараша" in (booked.text or "")
    mine = await h.say(KK, "/my", lang="kk", expect="🗓")
    question = await h.click(KK, mine, "✖️", method="editMessageText", lang="kk")
    assert "Жазылудан бас тартасыз ба?" in (question.text or "")
    await h.click(KK, question, "Иә", method="editMessageText", lang="kk")
    pending = rows(
        h, "SELECT COUNT(*) FROM outbox WHERE purpose LIKE 'booking:%' AND dropped_at IS NULL "
        "AND sent_at IS NULL",
    )  # fmt: skip
    assert pending[0][0] == 0
    delivery.at = datetime(2026, 11, 25, 9, 0, tzinfo=ALMATY)
    h.app.outbox.wakeup.set()
    await h.quiet(0.3)
    assert not [c for c in h.fake.sent(KK) if "⏰" in (c.text or "")]


async def test_officials_see_who_comes_and_call_a_session_off(
    booking: tuple[Harness, FrozenClock],
) -> None:
    h, _delivery = booking
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/receptions 25.11.2026")
    session = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "10:00" in (c.text or ""), since=since
    )
    assert "♿" in (session.text or "") and "кресло-коляска: 1" in (session.text or "")
    section = await h.app.dp["bookings"].digest_section(date(2026, 11, 25), "ru")
    assert section is not None and "1/18" in section and "кресло-коляска: 1" in section

    since = h.fake.mark()
    h.fake.press(900, session, h.fake.find_button(session, "❌"))
    confirm = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and bool(h.fake.buttons(c)), since=since
    )
    since = h.fake.mark()
    h.fake.press(900, confirm, h.fake.buttons(confirm)[0][1] or "")
    told = await h.reply(RU, since, expect="❌")
    assert "25 ноября 2026" in (told.text or "")
    assert rows(h, "SELECT status FROM bookings")[0]["status"] == "cancelled"
    pending = rows(h, "SELECT COUNT(*) FROM outbox WHERE purpose LIKE 'booking:%' "
                      "AND sent_at IS NULL AND dropped_at IS NULL")  # fmt: skip
    assert pending[0][0] == 0
    # The day is no longer offered.
    receptions = await h.say(RU, "/book")
    days = await h.press(RU, receptions, h.fake.buttons(receptions)[0][1] or "")
    assert not any("25 ноября" in b for b, _ in h.fake.buttons(days))


async def test_move_then_restart_keeps_one_set_of_reminders(
    booking: tuple[Harness, FrozenClock],
) -> None:
    h, delivery = booking
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о переоформлении жилищной субсидии")
    mine = await h.say(RU, "/my", expect="🗓")
    days = await h.click(RU, mine, "🔁", method="editMessageText")
    second_day = h.fake.buttons(days)[1][1] or ""  # the next Wednesday, 2 December
    slots = await h.press(RU, days, second_day, method="editMessageText")
    moved = await h.press(RU, slots, h.fake.buttons(slots)[0][1] or "", expect="🔁")
    assert "2 декабря 2026" in (moved.text or "")
    booked = rows(h, "SELECT status, session_day FROM bookings ORDER BY id")
    assert [tuple(r) for r in booked] == [("cancelled", "2026-11-25"), ("booked", "2026-12-02")]

    await h.restart()  # between booking and reminder
    since = h.fake.mark()
    delivery.at = datetime(2026, 11, 25, 9, 0, tzinfo=ALMATY)  # the old time: nothing
    h.app.outbox.wakeup.set()
    await h.quiet(0.3)
    delivery.at = datetime(2026, 12, 1, 18, 0, tzinfo=ALMATY)  # the day before the new one
    h.app.outbox.wakeup.set()
    reminder = await h.reply(RU, since, expect="⏰")
    assert "2 декабря 2026" in (reminder.text or "")
    await h.quiet(0.3)
    reminders = [
        c for c in h.fake.calls[since:]
        if c.method == "sendMessage" and c.chat_id == RU and "⏰" in (c.text or "")
    ]  # fmt: skip
    assert len(reminders) == 1


async def fill_session(h: Harness, day: date, *, rest: bool = False) -> list[int]:
    """Every place of the deputy akim's session on `day` taken by other citizens (with
    `rest`, every place left: some are taken already)."""
    service = h.app.dp["bookings"]
    reception = service.receptions.get("deputy_akim")
    ids = []
    for n, slot in enumerate(service.planner.slots(reception, day)):
        for seat in range(reception.capacity):
            citizen = 5000 + n * 10 + seat
            await h.app.repo.set_language(citizen, "ru")
            result = await service.book(citizen, "ru", {
                "draft_key": f"fill-{citizen}", "reception": "deputy_akim",
                "slot": slot.start.isoformat(), "topic": "заполнено",
                "contact_phone": "+77010000000",
            })  # fmt: skip
            if rest and result.reason == "full":
                continue
            assert result.booking is not None, result.reason
            ids.append(result.booking.id)
    return ids


async def test_waitlist_offers_a_freed_place(booking: tuple[Harness, FrozenClock]) -> None:
    h, _delivery = booking
    await onboard(h, RU, "ru")
    booked = await fill_session(h, date(2026, 11, 25))
    receptions = await h.say(RU, "/book")
    days = await h.press(RU, receptions, h.fake.buttons(receptions)[0][1] or "")
    full = h.fake.find_button(days, "25 ноября")
    assert full.startswith("bk:wait:")
    await h.press(RU, days, full, expect="листе ожидания")

    # The first booking of the session is given back: the place goes to the waiting citizen.
    since = h.fake.mark()
    first = await h.app.dp["bookings"].store.get(booked[0])
    await h.app.dp["bookings"].cancel(first.id, first.citizen_id)
    h.app.outbox.wakeup.set()
    offer = await h.reply(RU, since, expect="🎉")
    assert "10:00" in (offer.text or "")
    question = await h.click(RU, offer, "✅")
    assert "1000" in (question.text or "")
    access = await h.say(RU, "Вопрос об очереди на жильё для семьи")
    contact = await h.click(RU, access, "➡️")
    since = h.fake.mark()
    h.fake.user_message(RU, "+7 701 222 33 44")
    review = await h.with_button(RU, since, "✅")
    done = await h.confirm(RU, review, "✅")
    assert "25 ноября 2026" in (done.text or "") and "10:00" in (done.text or "")
    mine = rows(h, "SELECT status, slot_start FROM bookings WHERE citizen_id = ?", RU)
    assert [r["status"] for r in mine] == ["booked"]
    assert contact is not None


async def test_an_offer_not_taken_in_time_passes_to_the_next(
    booking: tuple[Harness, FrozenClock],
) -> None:
    h, _delivery = booking
    service = h.app.dp["bookings"]
    booked = await fill_session(h, date(2026, 11, 25))
    reception = service.receptions.get("deputy_akim")
    for citizen in (RU, KK):
        await h.app.repo.set_language(citizen, "ru" if citizen == RU else "kk")
        assert await service.join_waitlist(citizen, reception, date(2026, 11, 25))
    since = h.fake.mark()
    first = await service.store.get(booked[0])
    await service.cancel(first.id, first.citizen_id)
    h.app.outbox.wakeup.set()
    await h.reply(RU, since, expect="🎉")
    h.clock.at += reception_hold(service)  # two hours later nobody took it …
    await service.tick(h.clock())
    h.app.outbox.wakeup.set()
    offer = await h.reply(KK, since, expect="🎉")  # … so the next in line is asked, in Kazakh
    assert "Жазылу" in str(offer.params.get("reply_markup"))


async def test_a_moved_booking_offers_its_old_place_to_the_waiting_list(
    booking: tuple[Harness, FrozenClock],
) -> None:
    """A citizen moves their place out of a full session: the old time is free, and the
    citizen waiting for that session is offered it. Only a cancel offered the place it
    freed; a move left it free, the waiting list never told, for anyone to book."""
    h, _delivery = booking
    service = h.app.dp["bookings"]
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о переоформлении жилищной субсидии")
    await fill_session(h, date(2026, 11, 25), rest=True)
    await h.app.repo.set_language(KK, "kk")
    reception = service.receptions.get("deputy_akim")
    assert await service.join_waitlist(KK, reception, date(2026, 11, 25))

    mine = await h.say(RU, "/my", expect="🗓")
    days = await h.click(RU, mine, "🔁", method="editMessageText")
    second_day = h.fake.find_button(days, "2 декабря")
    slots = await h.press(RU, days, second_day, method="editMessageText")
    since = h.fake.mark()
    await h.press(RU, slots, h.fake.buttons(slots)[0][1] or "", expect="🔁")
    h.app.outbox.wakeup.set()
    offer = await h.reply(KK, since, expect="🎉")
    assert "10:00" in (offer.text or "") and "Жазылу" in str(offer.params.get("reply_markup"))
    held = rows(h, "SELECT citizen_id, status FROM waitlist")
    assert [tuple(r) for r in held] == [(KK, "offered")]


def reception_hold(service: BookingService) -> timedelta:
    return service.receptions.rules.waitlist_hold + timedelta(minutes=1)


async def test_forget_frees_the_citizens_places(booking: tuple[Harness, FrozenClock]) -> None:
    h, _delivery = booking
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    question = await h.say(RU, "/forget")
    await h.click(RU, question, "Да", method="editMessageText")
    [row] = rows(h, "SELECT status, citizen_id, contact_phone, topic FROM bookings")
    assert tuple(row) == ("cancelled", None, None, None)
    unsent = rows(h, "SELECT COUNT(*) FROM outbox WHERE chat_id = ? AND sent_at IS NULL "
                     "AND dropped_at IS NULL", RU)  # fmt: skip
    assert unsent[0][0] == 0


async def test_export_has_a_bookings_sheet(booking: tuple[Harness, FrozenClock]) -> None:
    h, _delivery = booking
    await onboard(h, RU, "ru")
    await book_first_slot(h, RU, "ru", "Вопрос о назначении пособия по инвалидности")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/export 7")
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since)
    book = openpyxl.load_workbook(io.BytesIO(h.fake.uploaded(document)))
    assert book.sheetnames == ["Обращения", "Записи на приём"]
    sheet = book["Записи на приём"]
    assert "с 16 ноября 2026" in sheet["A1"].value and "по 24 декабря 2026" in sheet["A1"].value
    [row] = [dict(zip([c.value for c in sheet[2]], [c.value for c in r], strict=True))
             for r in sheet.iter_rows(min_row=3)]  # fmt: skip
    assert row["Приём"] == "Приём граждан заместителем акима района"
    assert row["Нужно для посещения"] == "кресло-коляска"
    assert row["Статус"] == "Ожидается"
    assert row["Дата приёма"] == datetime(2026, 11, 25)
    assert row["Телефон"] == "+7 7•• ••• •• 33"  # masked outside an administrator's chat


async def test_officials_add_a_one_off_session(booking: tuple[Harness, FrozenClock]) -> None:
    h, _delivery = booking
    await onboard(h, RU, "ru")
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/receptions add akim_open_day 27.11.2026")
    added = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "27 ноября 2026" in (c.text or ""), since=since
    )
    assert "15:00" in (added.text or "")
    receptions = await h.say(RU, "/book")
    days = await h.press(RU, receptions, h.fake.buttons(receptions)[1][1] or "")
    assert "27 ноября" in h.fake.buttons(days)[0][0]
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, 900, "/receptions add nobody 27.11.2026")
    usage = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "akim_open_day" in (c.text or ""), since=since
    )
    assert "deputy_akim" in (usage.text or "")


@dataclass(frozen=True)
class Edges:
    """What the booking screens say, as in i18n/locales/*/LC_MESSAGES/bot.po."""

    day: str  # Wednesday 25 November 2026 on a day button
    places: dict[int, str]  # free places in words
    choose_day: str
    choose_time: str
    booked_at: str  # a day on which the citizen holds a place
    already: str
    back: str
    cancel: str
    your_booking: str
    nothing_changed: str
    moved: str
    cancel_question: str
    yes_cancel: str
    no_keep: str


EDGES = {
    "ru": Edges(
        day="25 ноября, ср", places={1: "1 место", 2: "2 места", 15: "15 мест", 17: "17 мест"},
        choose_day="Выберите день.", choose_time="25 ноября 2026\u00a0г.: выберите время.",
        booked_at="✅ вы записаны, 10:20", already="Вы уже записаны на этот приём",
        back="⬅️ Назад", cancel="✖️ Отмена", your_booking="🗓 Ваша запись",
        nothing_changed="Ничего не изменилось.", moved="🔁 Ваша запись перенесена.",
        cancel_question="Отменить эту запись?", yes_cancel="✅ Да, отменить",
        no_keep="⬅️ Нет, оставить",
    ),
    "kk": Edges(
        day="25 қараша, сәрсенбі",  # the weekday in full: «ср» reads as Russian
        places={1: "1 орын", 2: "2 орын", 15: "15 орын", 17: "17 орын"},
        choose_day="Күнді таңдаңыз.", choose_time="2026\u00a0ж. 25 қараша: уақытты таңдаңыз.",
        booked_at="✅ Сіз жазылғансыз, 10:20", already="Сіз бұл қабылдауға жазылып қойғансыз",
        back="⬅️ Артқа", cancel="✖️ Болдырмау", your_booking="🗓 Сіздің жазылуыңыз",
        nothing_changed="Ештеңе өзгерген жоқ.", moved="🔁 Жазылуыңыз ауыстырылды.",
        cancel_question="Жазылудан бас тартасыз ба?", yes_cancel="✅ Иә, бас тартамын",
        no_keep="⬅️ Жоқ, жазылу сақталсын",
    ),
}  # fmt: skip


def labels(h: Harness, call: Call) -> list[str]:
    return [label for label, _ in h.fake.buttons(call)]


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_booking_edges(booking: tuple[Harness, FrozenClock], lang: str) -> None:
    """#10 item 6: free places in words; a session the citizen holds a place in says so before
    they pick it again; moving offers every time but the current one, with Back and Cancel;
    cancelling asks first."""
    h, _delivery = booking
    e = EDGES[lang]
    user = RU if lang == "ru" else KK
    await onboard(h, user, lang)
    service = h.app.dp["bookings"]
    slots_25 = service.planner.slots(service.receptions.get("deputy_akim"), date(2026, 11, 25))
    await h.app.repo.set_language(5001, "ru")
    other = await service.book(5001, "ru", {
        "draft_key": "other", "reception": "deputy_akim", "slot": slots_25[0].start.isoformat(),
        "topic": "чужой вопрос", "contact_phone": "+77010000000",
    })  # fmt: skip
    assert other.booking is not None

    # Day and time buttons say the free places in words; no sentence about a dot.
    receptions = await h.say(user, "/book", lang=lang)
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    assert days.text == e.choose_day
    assert labels(h, days)[0] == f"{e.day} — {e.places[17]}"
    slots = await h.press(user, days, h.fake.buttons(days)[0][1] or "", lang=lang)
    assert slots.text == e.choose_time
    assert labels(h, slots)[:3] == [
        f"10:00 ({e.places[1]})",
        f"10:20 ({e.places[2]})",
        f"10:40 ({e.places[2]})",
    ]
    question = await h.click(user, slots, "10:20", lang=lang)
    access = await h.say(user, "Вопрос о назначении пособия", lang=lang)
    contact = await h.click(user, access, "➡️", lang=lang)
    since = h.fake.mark()
    h.fake.user_message(user, "+7 701 111 22 33", language_code=lang)
    review = await h.with_button(user, since, "✅")
    await h.confirm(user, review, "✅", lang=lang)
    assert question is not None and contact is not None

    # Booking again: the day with their place says so, and pressing it tells them.
    receptions = await h.say(user, "/book", lang=lang)
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    assert labels(h, days)[0] == f"{e.day} — {e.booked_at}"
    since = h.fake.mark()
    h.fake.press(user, days, h.fake.buttons(days)[0][1] or "", language_code=lang)
    told = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert str(told.params["text"]).startswith(e.already) and "10:20" in told.params["text"]
    assert told.params["show_alert"] is True
    assert rows(h, "SELECT state FROM fsm WHERE user_id = ?", user)[0][0] == "BookingForm:day"
    await h.say(user, "/cancel", lang=lang)

    # Moving: every time but the current one, the booking's message turned into the days and
    # the times, each with Back and Cancel.
    mine = await h.say(user, "/my", lang=lang, expect="🗓")
    days = await h.click(user, mine, "🔁", lang=lang, method="editMessageText")
    assert days.params["message_id"] == mine.result["message_id"]
    # 18 places that day, one taken at 10:00, both of 10:20 left out (one is theirs).
    assert labels(h, days)[0] == f"{e.day} — {e.places[15]}"
    assert labels(h, days)[-2:] == [e.back, e.cancel]
    slots = await h.click(user, days, e.day, lang=lang, method="editMessageText")
    times = labels(h, slots)
    assert not [t for t in times if t.startswith("10:20")]
    assert times[:2] == [f"10:00 ({e.places[1]})", f"10:40 ({e.places[2]})"]
    assert times[-2:] == [e.back, e.cancel]
    days = await h.click(user, slots, e.back, lang=lang, method="editMessageText")
    assert labels(h, days)[0] == f"{e.day} — {e.places[15]}"
    since = h.fake.mark()
    card = await h.click(user, days, e.cancel, lang=lang, method="editMessageText")
    assert (card.text or "").startswith(f"<b>{e.your_booking}</b>") and "10:20" in (card.text or "")
    assert any("🔁" in label for label in labels(h, card))
    toast = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert toast.params.get("text") == e.nothing_changed
    days = await h.click(user, card, "🔁", lang=lang, method="editMessageText")
    slots = await h.click(user, days, e.day, lang=lang, method="editMessageText")
    moved = await h.click(user, slots, "10:40", lang=lang, expect=e.moved)
    assert "10:40" in (moved.text or "")
    mine_now = rows(h, "SELECT status, slot_start FROM bookings WHERE citizen_id = ? ORDER BY id",
                    user)  # fmt: skip
    assert [r["status"] for r in mine_now] == ["cancelled", "booked"]

    # Cancelling asks first; «No» gives the booking back as it was.
    mine = await h.say(user, "/my", lang=lang, expect="🗓")
    question = await h.click(user, mine, "✖️", lang=lang, method="editMessageText")
    assert (question.text or "").startswith(f"<b>{e.cancel_question}</b>")
    assert labels(h, question) == [e.yes_cancel, e.no_keep]
    kept = await h.click(user, question, e.no_keep, lang=lang, method="editMessageText")
    assert kept.text == mine.text and labels(h, kept) == labels(h, mine)
    question = await h.click(user, kept, "✖️", lang=lang, method="editMessageText")
    done = await h.click(user, question, e.yes_cancel, lang=lang, method="editMessageText")
    assert h.fake.buttons(done) == []
    statuses = rows(h, "SELECT status FROM bookings WHERE citizen_id = ? ORDER BY id", user)
    assert [r["status"] for r in statuses] == ["cancelled", "cancelled"]


async def test_a_forged_or_earlier_button_gets_one_stale_alert(
    booking: tuple[Harness, FrozenClock],
) -> None:
    """At the day step: a button of another step, and a day button whose value is forged,
    each get the one stale alert (before, a forged value at the right step was answered
    twice, and the second answer, the alert, never showed); the dialog stays at its day."""
    from tests.test_e2e_bad_input import STALE_BUTTON, alert_on, fsm, texts_since

    h, _delivery = booking
    await onboard(h, RU, "ru")
    receptions = await h.say(RU, "/book")
    days = await h.press(RU, receptions, h.fake.buttons(receptions)[0][1] or "")
    since = h.fake.mark()
    for data in (
        "bk:day:not-a-date:0", "bk:wait:2026-13-40:0", "bk:held:x:0", "bk:rec:no-such:0",
        "bk:slot:1790000000:0", "bk:acc:wheelchair:0", "bk:back:reception:0",
        "bk:cancel:slot:0", "bk:appeal:1:0", "bk:nosuch::0", "bk:day:not-a-date",
    ):  # fmt: skip
        assert await alert_on(h, RU, days, data) == STALE_BUTTON, data
    assert texts_since(h, RU, since) == []
    assert fsm(h, RU)[0] == "BookingForm:day"
    # The day's own buttons still work.
    await h.press(RU, days, h.fake.buttons(days)[0][1] or "")
    assert fsm(h, RU)[0] == "BookingForm:slot"


async def test_a_held_place_of_a_session_called_off_meanwhile_is_not_booked(
    booking: tuple[Harness, FrozenClock],
) -> None:
    """A citizen takes a place offered from the waiting list and, while they fill in the
    booking, the officials call the session off: «Confirm» must not book a place at a session
    that is not held (the offer's hold let it past the check of what is still offered)."""
    h, _delivery = booking
    await onboard(h, RU, "ru")
    service = h.app.dp["bookings"]
    booked = await fill_session(h, date(2026, 11, 25))
    receptions = await h.say(RU, "/book")
    days = await h.press(RU, receptions, h.fake.buttons(receptions)[0][1] or "")
    await h.press(RU, days, h.fake.find_button(days, "25 ноября"), expect="листе ожидания")
    since = h.fake.mark()
    first = await service.store.get(booked[0])
    await service.cancel(first.id, first.citizen_id)
    h.app.outbox.wakeup.set()
    offer = await h.reply(RU, since, expect="🎉")
    question = await h.click(RU, offer, "✅")
    assert "1000" in (question.text or "")
    access = await h.say(RU, "Вопрос об очереди на жильё для семьи")
    await h.click(RU, access, "➡️")
    since = h.fake.mark()
    h.fake.user_message(RU, "+7 701 222 33 44")
    review = await h.with_button(RU, since, "✅")

    reception = service.receptions.get("deputy_akim")
    assert await service.cancel_session(reception, date(2026, 11, 25)) == len(booked) - 1
    since = h.fake.mark()
    h.fake.press(RU, review, h.fake.find_button(review, "✅"))
    answer = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    await h.quiet(0.3)
    assert not rows(h, "SELECT id FROM bookings WHERE citizen_id = ? AND status = 'booked'", RU)
    assert "заняли" in str(answer.params.get("text"))


@pytest.mark.parametrize(("user", "lang", "words"), [
    (RU, "ru", "записываетесь на приём (/book)"),
    (KK, "kk", "Қабылдауға жазылсаңыз (/book)"),
])  # fmt: skip
async def test_privacy_says_what_a_booking_keeps(
    booking: tuple[Harness, FrozenClock], user: int, lang: str, words: str
) -> None:
    """A booking keeps a name, a phone, a question and the needs to attend (a wheelchair, an
    interpreter): /privacy says so, and what /forget leaves of it."""
    h, _delivery = booking
    await onboard(h, user, lang)
    privacy = await h.say(user, "/privacy", lang=lang, expect=words)
    assert "/forget" in (privacy.text or "")
    assert len(privacy.text or "") <= 4096


async def test_forget_passes_a_held_offer_to_the_next_in_line(
    booking: tuple[Harness, FrozenClock],
) -> None:
    """A place held for a citizen from the waiting list goes to the next in line when that
    citizen uses /forget: the erasure took their waiting-list row, and with it the offer that
    would have expired and passed on, so the next citizen kept waiting for a place now free."""
    h, _delivery = booking
    service = h.app.dp["bookings"]
    booked = await fill_session(h, date(2026, 11, 25))
    reception = service.receptions.get("deputy_akim")
    await onboard(h, RU, "ru")
    await h.app.repo.set_language(KK, "kk")
    for citizen in (RU, KK):
        assert await service.join_waitlist(citizen, reception, date(2026, 11, 25))
    since = h.fake.mark()
    first = await service.store.get(booked[0])
    await service.cancel(first.id, first.citizen_id)
    h.app.outbox.wakeup.set()
    await h.reply(RU, since, expect="🎉")

    question = await h.say(RU, "/forget")
    since = h.fake.mark()
    await h.click(RU, question, "Да", method="editMessageText")
    h.app.outbox.wakeup.set()
    offer = await h.reply(KK, since, expect="🎉")
    assert "Жазылу" in str(offer.params.get("reply_markup"))
