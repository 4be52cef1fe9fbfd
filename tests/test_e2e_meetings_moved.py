"""A meeting with residents moved, and how many came (issue #13), over HTTP: the official
moves it from /meetings (the new time and place as replies, a confirmation, pressed twice);
those who said they come are told once each, in their language, and their reminder comes the
day before the new time, not the old one, across a restart; after the meeting the count is
entered and corrected from `/meetings past`; /stats and /export show the meeting's figures.
Then the same with the officials in Kazakh. And the real process killed between the move and
its notices loses neither."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest

from bot.services.outreach import Draft
from storage.outreach import MeetingDetails, NewAnnouncement
from storage.stores import open_stores
from tests import e2edb
from tests.conftest import (
    ALMATY,
    OFFICIALS,
    FrozenClock,
    Harness,
    make_settings,
    start_bot,
    stop_bot,
)
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_meetings import announce_meeting, come, meetings_to, reply_in_group
from tests.test_e2e_outreach import (
    AIGUL,
    ANNA,
    DANA,
    OFFICIAL,
    SEMEY,
    WAIT,
    group_reply,
    press,
    say_in_group,
    subscribe,
)
from tests.test_reports import column_of, sheet_cells

pytestmark = pytest.mark.e2e

MOVED = {"ru": "Встреча с населением перенесена", "kk": "Халықпен кездесу ауыстырылды"}
NEW_PLACE = "Акимат, зал <2> & фойе"


@pytest.fixture
async def moving(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[
    tuple[Harness, FrozenClock]
]:  # fmt: skip
    """The bot with a delivery clock the test moves, so reminders come due on demand."""
    delivery = FrozenClock(clock.at)
    app, task = await start_bot(fake, make_settings(fake.base_url, tmp_path / "bot.db"), clock,
                                delivery)  # fmt: skip
    h = Harness(fake, app, task, clock, delivery)
    yield h, delivery
    await stop_bot(h.app, h.task)


def sent_to(fake: FakeTelegram, chat: int, since: int, needle: str) -> list[Call]:
    return [
        c for c in fake.calls[since:]
        if c.method == "sendMessage" and not c.failed and fake.chat_of(c) == chat
        and needle in (c.text or "")
    ]  # fmt: skip


async def deliver_at(h: Harness, delivery: FrozenClock, at: datetime) -> None:
    delivery.at = at
    h.app.outbox.wakeup.set()
    await h.quiet(0.5)


async def test_move_tells_those_who_come_and_their_reminder_follows_then_the_count(
    moving: tuple[Harness, FrozenClock],
) -> None:
    h, delivery = moving
    for user, lang in ((ANNA, "ru"), (AIGUL, "kk"), (DANA, "ru")):
        await onboard(h, user, lang)
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")
    await subscribe(h, DANA, "ru", "Абайская", "Семей")  # subscribed, but not coming
    review = await announce_meeting(h.fake, "25.11.2026 15:00", "25 ноября 2026")
    since = h.fake.mark()
    await press(h.fake, review, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: all(meetings_to(h.fake, u) for u in (ANNA, AIGUL, DANA)),
                          since=since, timeout=WAIT)  # fmt: skip
    (anna,) = meetings_to(h.fake, ANNA)
    (aigul,) = meetings_to(h.fake, AIGUL)
    await come(h, ANNA, "ru", anna, ["♿"])
    await come(h, AIGUL, "kk", aigul, [])

    # /meetings: «Move». A time gone by is asked again; then a new place as a reply.
    report = await say_in_group(h.fake, "/meetings", "Предстоящие встречи", "/meetings past")
    prompt = await press(h.fake, report, "Перенести встречу № 1", "Перенос встречи № 1",
                         method="sendMessage")  # fmt: skip
    assert "25 ноября 2026" in (prompt.text or "")
    # A message to colleagues meanwhile is no answer.
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "Коллеги, обед?", first_name="Асқар")
    await h.quiet(0.5)
    assert not [c for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS]
    await reply_in_group(h.fake, prompt, "22.11.2026 15:00", "уже прошло")
    place = await reply_in_group(h.fake, prompt, "27.11.2026 11:00", "новым местом")
    confirm = await reply_in_group(h.fake, place, NEW_PLACE, "Перенести встречу № 1?")
    text = confirm.text or ""
    assert "Было: 25 ноября 2026\xa0г., 15:00" in text and "(2)" in text
    assert f"Теперь: 27 ноября 2026\xa0г., 11:00, {escape(NEW_PLACE)}" in text

    # «Move», pressed twice: moved and told once.
    since = h.fake.mark()
    button = h.fake.find_button(confirm, "Перенести встречу")
    for _ in range(2):
        h.fake.press(OFFICIAL, confirm, button, first_name="Асқар")
    done = await group_reply(h.fake, since, "Встреча № 1 перенесена", method="editMessageText")
    assert "Сообщаем записавшимся: 2" in (done.text or "")
    await h.fake.wait_for(lambda c: bool(sent_to(h.fake, AIGUL, since, MOVED["kk"])),
                          since=since, timeout=WAIT)  # fmt: skip
    await h.fake.wait_for(lambda c: bool(sent_to(h.fake, ANNA, since, MOVED["ru"])),
                          since=since, timeout=WAIT)  # fmt: skip
    (told,) = sent_to(h.fake, ANNA, since, MOVED["ru"])
    assert "Было: 25 ноября 2026\xa0г., 15:00, Дом культуры" in (told.text or "")
    assert escape(NEW_PLACE) in (told.text or "") and "Ваша запись сохраняется" in (told.text or "")
    assert any("Всё-таки не приду" in label for label, _ in h.fake.buttons(told))
    (told_kk,) = sent_to(h.fake, AIGUL, since, MOVED["kk"])
    assert "2026\xa0ж. 27 қараша, 11:00" in (told_kk.text or "")
    assert "Тіркелуіңіз сақталады" in (told_kk.text or "")
    assert sent_to(h.fake, DANA, since, "перенесена") == []
    [meeting] = rows(h, "SELECT meeting_at, meeting_place FROM announcements")
    assert meeting["meeting_place"] == NEW_PLACE
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_moves")[0]["n"] == 1

    # A restart: nothing is sent again; the reminder comes the day before the new time only.
    await h.restart()
    since = h.fake.mark()
    await deliver_at(h, delivery, datetime(2026, 11, 24, 18, 0, tzinfo=ALMATY))  # the old one
    assert not [c for c in h.fake.calls[since:] if "⏰" in (c.text or "")]
    await deliver_at(h, delivery, datetime(2026, 11, 26, 18, 0, tzinfo=ALMATY))  # the new one
    await h.fake.wait_for(
        lambda c: all(sent_to(h.fake, u, since, "⏰") for u in (ANNA, AIGUL)),
        since=since, timeout=WAIT,
    )  # fmt: skip
    await h.quiet(0.5)
    (reminder,) = sent_to(h.fake, ANNA, since, "⏰")
    assert "27 ноября 2026" in (reminder.text or "") and escape(NEW_PLACE) in (reminder.text or "")
    (reminder_kk,) = sent_to(h.fake, AIGUL, since, "⏰")
    assert "27 қараша" in (reminder_kk.text or "")
    assert sent_to(h.fake, ANNA, since, MOVED["ru"]) == []  # the notice is not sent twice

    # After the meeting: how many came, entered, refused when it is no number, corrected.
    h.clock.at = datetime(2026, 11, 28, 10, 0, tzinfo=ALMATY).astimezone(UTC)
    past = await say_in_group(h.fake, "/meetings past", "Встречи с населением за последние")
    assert "Пришло: ещё не указано" in (past.text or "") and "Записались: 2" in (past.text or "")
    count = await press(h.fake, past, "Сколько пришло № 1", "сколько человек пришло",
                        method="sendMessage")  # fmt: skip
    await reply_in_group(h.fake, count, "много", "целым числом от 0 до 10000")
    await reply_in_group(h.fake, count, "10001", "больше 10000")
    await reply_in_group(h.fake, count, "37", "Встреча № 1: пришло 37")
    count = await press(h.fake, past, "Сколько пришло № 1", "Сейчас указано: 37",
                        method="sendMessage")  # fmt: skip
    await reply_in_group(h.fake, count, "41", "Встреча № 1: пришло 41", "Асқар")
    [entered] = rows(h, "SELECT meeting_attended, meeting_attended_by, meeting_attended_by_name, "
                        "meeting_attended_at FROM announcements")  # fmt: skip
    assert (entered["meeting_attended"], entered["meeting_attended_by"]) == (41, OFFICIAL)
    assert entered["meeting_attended_by_name"] == "Асқар" and entered["meeting_attended_at"]
    past = await say_in_group(h.fake, "/meetings past", "Пришло: 41 (указал(а) Асқар")
    # An upcoming meeting is not counted, nor a past one moved.
    none = await say_in_group(h.fake, "/meetings", "Предстоящих встреч с населением нет")
    assert not h.fake.buttons(none)

    # /stats and /export carry the meeting's figures.
    stats = await say_in_group(h.fake, "/stats 30", "Встречи с населением")
    text = stats.text or ""
    assert "Прошло: 1 · отменено: 0" in text and "Записались: 2" in text
    assert "Пришло: 41 (указано для 1 из 1 встреч)" in text and "кресло-коляска: 1" in text
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/export 30", first_name="Асқар")
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since,
                                     timeout=WAIT)  # fmt: skip
    cells = sheet_cells(h.fake.uploaded(document), 3)  # appeals, bookings, meetings
    assert cells["A1"].value.startswith("Встречи с населением с ")
    row = {h_: cells[f"{column_of(cells, h_)}3"].value
           for h_ in ("№ встречи", "Где", "Статус", "Записались", "Сколько пришло",
                      "Сколько раз перенесена", "Кто указал")}  # fmt: skip
    assert row == {"№ встречи": "1", "Где": NEW_PLACE, "Статус": "Прошла", "Записались": "2",
                   "Сколько пришло": "41", "Сколько раз перенесена": "1",
                   "Кто указал": "Асқар"}  # fmt: skip


async def test_officials_in_kazakh_move_keeping_the_place_and_enter_the_count(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", officials_language="kk")
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    try:
        await onboard(h, ANNA, "ru")
        await subscribe(h, ANNA, "ru", "Абайская", "Семей")
        sent = await h.app.dp["announcements"].send(
            Draft("kk-meeting", "meeting", (SEMEY,), "Кездесуге шақырамыз.",
                  "Приглашаем на встречу.",
                  MeetingDetails("Әкім", "Мәдениет үйі",
                                 datetime(2026, 11, 25, 15, 0, tzinfo=ALMATY), ("Жол",))),
            OFFICIALS, None, OFFICIAL, "Асқар",
        )  # fmt: skip
        assert sent.created
        await h.fake.wait_for(lambda c: bool(meetings_to(h.fake, ANNA)), timeout=WAIT)
        (anna,) = meetings_to(h.fake, ANNA)
        await come(h, ANNA, "ru", anna, [])

        report = await say_in_group(h.fake, "/meetings", "Алдағы", "/meetings past")
        prompt = await press(h.fake, report, "№ 1 кездесуді ауыстыру", "№ 1 кездесуді ауыстыру",
                             method="sendMessage")  # fmt: skip
        place = await reply_in_group(h.fake, prompt, "26.11.2026 16:00", "бұрынғысын")
        since = h.fake.mark()
        h.fake.press(OFFICIAL, place, h.fake.find_button(place, "Орны сол күйі"),
                     first_name="Асқар")  # fmt: skip
        confirm = await group_reply(h.fake, since, "ауыстыру керек пе", method="editMessageText")
        assert "Мәдениет үйі" in (confirm.text or "") and "(1)" in (confirm.text or "")
        since = h.fake.mark()
        await press(h.fake, confirm, "Кездесуді ауыстыру", "№ 1 кездесу ауыстырылды")
        told = await h.fake.wait_for(
            lambda c: bool(sent_to(h.fake, ANNA, since, MOVED["ru"])), since=since, timeout=WAIT
        )
        assert "26 ноября 2026\xa0г., 16:00, Мәдениет үйі" in (told.text or "")
        # Moving it again is refused once its time has come; the count is taken instead.
        h.clock.at = datetime(2026, 11, 27, 9, 0, tzinfo=ALMATY).astimezone(UTC)
        past = await say_in_group(h.fake, "/meetings past", "Соңғы 30 күндегі")
        assert "Келгендер: әлі көрсетілмеген" in (past.text or "")
        count = await press(h.fake, past, "№ 1: қанша адам келді", "қанша адам келді?",
                            method="sendMessage")  # fmt: skip
        await reply_in_group(h.fake, count, "жиырма", "бүтін санмен")
        await reply_in_group(h.fake, count, "1 200", "1200 адам келді")
        alert = await h.alert(OFFICIAL, report, h.fake.find_button(report, "ауыстыру"))
        assert "ауыстыруға болмайды" in alert
        stats = await say_in_group(h.fake, "/stats 30", "Халықпен кездесулер")
        assert "Өтті: 1 · болдырылмады: 0" in (stats.text or "")
        assert "Келгендер: 1200" in (stats.text or "")
    finally:
        await stop_bot(h.app, h.task)


# --- the real process killed between the move and its notices --------------------------------


async def seed_meeting(database: Path, at: datetime) -> None:
    """A meeting at `at` that two citizens (ru, kk) said they come to, each with a reminder
    queued for the day before, as `MeetingService.come` leaves them."""
    database.parent.mkdir(parents=True, exist_ok=True)
    stores = await open_stores(e2edb.database_url(database))
    now = datetime.now(UTC)
    for citizen, lang in ((ANNA, "ru"), (AIGUL, "kk")):
        await stores.repository.set_language(citizen, lang)

    async def nobody(*_: object) -> int:
        return 0

    new = NewAnnouncement(
        "seed-meeting", "meeting", (SEMEY,), "Кездесу.", "Встреча.", OFFICIALS, None, OFFICIAL,
        "Асқар", now, MeetingDetails("Аким", "Дом культуры", at, ("Дороги",)),
    )  # fmt: skip
    meeting, _ = await stores.announcements.create(new, nobody)
    day_before = (at.astimezone(ALMATY) - timedelta(days=1)).replace(hour=18, minute=0)
    for citizen in (ANNA, AIGUL):
        await stores.meetings.register(meeting.id, citizen, [], now)
        purpose = f"meeting-reminder:{meeting.id}:{citizen}"
        await stores.outbox.add(citizen, "sendMessage", {"text": "⏰ old"}, now=now,
                                dedupe_key=f"{purpose}:seed", purpose=purpose,
                                not_before=day_before)  # fmt: skip
    await stores.database.close()


async def test_a_crash_between_the_move_and_its_notices_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, workdir=tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    at = (datetime.now(ALMATY) + timedelta(days=5)).replace(hour=15, minute=0, second=0,
                                                            microsecond=0)  # fmt: skip
    new_at = at + timedelta(days=2)
    await seed_meeting(bot.database, at)
    await bot.start("tests.crashpoint", CRASH_BEFORE="meeting-moved:")
    report = await say_in_group(fake, "/meetings", "Встреча № 1")
    prompt = await press(fake, report, "Перенести встречу № 1", "Перенос встречи № 1",
                         method="sendMessage")  # fmt: skip
    place = await reply_in_group(fake, prompt, new_at.strftime("%d.%m.%Y %H:%M"), "новым местом")
    confirm = await press(fake, place, "Место прежнее", "Перенести встречу № 1?")
    fake.press(OFFICIAL, confirm, fake.find_button(confirm, "Перенести встречу"),
               first_name="Асқар")  # fmt: skip
    assert await bot.exited() == CRASHED  # in the move's transaction, before the first notice
    assert e2edb.query(bot.database, "SELECT COUNT(*) FROM meeting_moves") == [(0,)]
    pending = ("SELECT chat_id, not_before FROM outbox WHERE purpose LIKE 'meeting-reminder:%' "
               "AND sent_at IS NULL AND dropped_at IS NULL ORDER BY chat_id")  # fmt: skip
    assert len(e2edb.query(bot.database, pending)) == 2  # the old reminders, untouched

    await bot.start()
    # Whether or not Telegram hands the press over again, the official can press again.
    since = fake.mark()
    fake.press(OFFICIAL, confirm, fake.find_button(confirm, "Перенести встречу"),
               first_name="Асқар")  # fmt: skip
    await fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since, timeout=WAIT)
    for chat in (ANNA, AIGUL):
        await fake.wait_sent(chat, method="sendMessage", timeout=WAIT)
    await asyncio.sleep(1.0)
    assert await bot.stop() == 0
    for chat, lang in ((ANNA, "ru"), (AIGUL, "kk")):
        notices = [c for c in fake.sent(chat, "sendMessage") if MOVED[lang] in (c.text or "")]
        assert len(notices) == 1, chat
    assert e2edb.query(bot.database, "SELECT COUNT(*) FROM meeting_moves") == [(1,)]
    # One reminder each, for the day before the new time; the old ones withdrawn.
    waiting = e2edb.query(bot.database, pending)
    assert [row[0] for row in waiting] == [ANNA, AIGUL]
    new_day_before = (new_at - timedelta(days=1)).replace(hour=18)
    for _chat, not_before in waiting:
        assert datetime.fromisoformat(str(not_before)) == new_day_before


async def test_a_crash_right_after_calling_a_meeting_off_leaves_no_reminder_of_it(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Were the reminders withdrawn after the cancel committed, a process gone in between
    would leave them to go out the day before a meeting that will not be."""
    bot = RealBot(fake, workdir=tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    at = (datetime.now(ALMATY) + timedelta(days=5)).replace(hour=15, minute=0, second=0,
                                                            microsecond=0)  # fmt: skip
    await seed_meeting(bot.database, at)
    await bot.start("tests.crashpoint", CRASH_WITHDRAWING="meeting-reminder:")
    report = await say_in_group(fake, "/meetings", "Встреча № 1")
    question = await press(fake, report, "Отменить встречу № 1", "Отменить встречу № 1?",
                           method="sendMessage")  # fmt: skip
    await press(fake, question, "Да, отменить", "Встреча № 1 отменена")
    for chat in (ANNA, AIGUL):
        await fake.wait_sent(chat, method="sendMessage", timeout=WAIT)
    assert await bot.stop() == 0  # nothing withdrew on its own: no crash
    await bot.start()
    assert await bot.stop() == 0
    pending = ("SELECT COUNT(*) FROM outbox WHERE purpose LIKE 'meeting-reminder:%' "
               "AND sent_at IS NULL AND dropped_at IS NULL")  # fmt: skip
    assert e2edb.query(bot.database, pending) == [(0,)]
    called_off = "SELECT COUNT(*) FROM announcements WHERE meeting_cancelled_at IS NOT NULL"
    assert e2edb.query(bot.database, called_off) == [(1,)]
