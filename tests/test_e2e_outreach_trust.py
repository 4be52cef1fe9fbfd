"""Announcements and meetings (issue #13) as a careless official, a hostile citizen and a
flaky process exercise them, over HTTP against the fake Bot API: what a button sends is what
its card showed, who may act where is checked at the button, and a meeting's registration
and its reminder live and die together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.outbox import Outbox
from bot.domain.catalog import BUNDLED_CATALOG
from bot.telegram.callbacks import AnnCb, MeetCb, MeetEditCb
from storage.outreach import Announcement, MeetingDetails, NewAnnouncement, Subscriber
from storage.stores import open_stores
from tests import e2edb
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.crashpoint import CRASHED
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_outreach import (
    ANNA,
    OFFICIAL,
    WAIT,
    announce,
    announcements_to,
    group_reply,
    press,
    say_in_group,
    subscribe,
)
from tests.test_e2e_webhook import free_port, webhook_env

pytestmark = pytest.mark.e2e


async def test_send_on_an_older_review_card_sends_nothing_else(harness: Harness) -> None:
    """An official gets a first announcement ready, starts /announce again and gets a second
    one ready; «Send» on the first card must not send the second text under the first card
    (the draft in hand is the second one): that card is stale. Its own card sends it."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    first = await announce(h.fake, kk="Бірінші хабарландыру мәтіні", ru="Первое объявление, текст")
    second = await announce(h.fake, kk="Екінші хабарландыру мәтіні", ru="Второе объявление, текст")
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, first, h.fake.find_button(first, "📤"))
    assert "больше не действует" in alert
    await h.quiet(1.0)
    assert rows(h, "SELECT COUNT(*) AS n FROM announcements")[0]["n"] == 0
    assert announcements_to(h.fake, ANNA, since) == []
    # The card the draft in hand was shown on sends it, once.
    await press(h.fake, second, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: bool(announcements_to(h.fake, ANNA, since)), timeout=WAIT)
    (got,) = announcements_to(h.fake, ANNA, since)
    assert "Второе объявление" in (got.text or "")
    await group_reply(h.fake, since, "Отправлено: 1 из 1", method="editMessageText")


# --- a meeting's registration and its reminder -------------------------------------------------

SEMEY = "101000000"
# Beyond any real date the test runs on: the reminder the day before stays queued.
FAR = datetime(2099, 11, 25, 10, 0, tzinfo=UTC)
PENDING_REMINDERS = (
    "SELECT COUNT(*) FROM outbox WHERE purpose LIKE 'meeting-reminder:%' "
    "AND sent_at IS NULL AND dropped_at IS NULL"
)


async def nobody(conn: Any, announcement: Announcement, who: Sequence[Subscriber]) -> int:
    return 0


async def seed_meeting(database: Path, *citizens: int) -> None:
    """A meeting ahead (№ 1) announced from the officials' chat, and citizens who chose
    Russian and consented; through the stores, before the process starts."""
    database.parent.mkdir(parents=True, exist_ok=True)
    stores = await open_stores(e2edb.database_url(database))
    try:
        now = datetime.now(UTC)
        for citizen in citizens:
            await stores.repository.set_language(citizen, "ru")
            await stores.repository.set_consent(citizen, now)
        details = MeetingDetails("Аким города", "Дом культуры", FAR, ("Дороги", "Свет"))
        new = NewAnnouncement(
            "seeded", "meeting", (SEMEY,), "Кездесуге шақырамыз.", "Приглашаем на встречу.",
            OFFICIALS, None, OFFICIAL, "Асқар", now, details,
        )  # fmt: skip
        await stores.announcements.create(new, nobody)
    finally:
        await stores.database.close()


async def screen_of(fake: FakeTelegram, citizen: int) -> Call:
    """A message of the bot in the citizen's chat, to press a (forged) button under."""
    since = fake.mark()
    fake.user_message(citizen, "/subscribe", language_code="ru")
    return await fake.wait_for(
        lambda c: c.method == "sendMessage" and fake.chat_of(c) == citizen and not c.failed,
        since=since, timeout=WAIT,
    )  # fmt: skip


async def test_a_crash_between_i_will_come_and_its_reminder_loses_neither(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """«Confirm» counts the citizen in and queues the reminder for the day before. Killed
    between the two, the next press must not find them counted already and leave them without
    a reminder for good: both commit together, or neither."""
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    await seed_meeting(bot.database, ANNA)
    await bot.start()
    try:
        screen = await screen_of(fake, ANNA)
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_BEFORE="meeting-reminder:")
        fake.press(ANNA, screen, MeetCb(action="go", meeting=1, value="0").pack())
        assert await bot.exited() == CRASHED  # about to write the reminder

        await bot.start()
        # Whether or not Telegram hands the press over again, the citizen can press again.
        since = fake.mark()
        fake.press(ANNA, screen, MeetCb(action="go", meeting=1, value="0").pack())
        done = await fake.wait_for(
            lambda c: c.method == "editMessageText" and fake.chat_of(c) == ANNA
            and "Вы записаны" in (c.text or ""),
            since=since, timeout=WAIT,
        )  # fmt: skip
        assert await bot.stop() == 0
        assert "Дом культуры" in (done.text or "")
        assert e2edb.query(bot.database, "SELECT COUNT(*) FROM meeting_attendees") == [(1,)]
        assert e2edb.query(bot.database, PENDING_REMINDERS) == [(1,)]
    finally:
        await bot.kill()


async def exited_or_called(bot: RealBot, fake: FakeTelegram, predicate: Any, since: int) -> bool:
    """True if the process died first, False if `predicate` matched a call first."""
    assert bot.proc is not None
    exited = asyncio.ensure_future(bot.proc.wait())
    called = asyncio.ensure_future(fake.wait_for(predicate, since=since, timeout=WAIT))
    try:
        await asyncio.wait({exited, called}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (exited, called):
            task.cancel()
    if exited.done() and not exited.cancelled():
        assert exited.result() == CRASHED
        return True
    called.result()
    return False


async def test_a_meeting_called_off_leaves_no_reminder_whatever_the_moment_of_a_crash(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Calling a meeting off and withdrawing the reminders of those who come are one change:
    killed after the first, the meeting stays called off (a second press is told so) and the
    reminder must not go out the day before a meeting that is not held."""
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS))
    await seed_meeting(bot.database, ANNA)
    await bot.start()
    try:
        screen = await screen_of(fake, ANNA)
        since = fake.mark()
        fake.press(ANNA, screen, MeetCb(action="go", meeting=1, value="0").pack())
        await fake.wait_for(
            lambda c: c.method == "editMessageText" and "Вы записаны" in (c.text or ""),
            since=since, timeout=WAIT,
        )  # fmt: skip
        assert e2edb.query(bot.database, PENDING_REMINDERS) == [(1,)]
        listed = await say_in_group(fake, "/meetings", "Встреча № 1", "Придут: 1")
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_WITHDRAWING="meeting-reminder:")
        since = fake.mark()
        cancel = AnnCb(action="mcancelok", value="1").pack()
        fake.press(OFFICIAL, listed, cancel, first_name="Асқар")

        def cancelled(c: Call) -> bool:
            return c.method == "editMessageText" and "Встреча № 1 отменена" in (c.text or "")

        if not await exited_or_called(bot, fake, cancelled, since):
            assert await bot.stop() == 0
        assert e2edb.query(
            bot.database,
            "SELECT COUNT(*) FROM announcements WHERE meeting_cancelled_at IS NOT NULL",
        ) == [(1,)]

        await bot.start()
        # The official, told nothing, presses again: it is called off already.
        since = fake.mark()
        fake.press(OFFICIAL, listed, cancel, first_name="Асқар")
        answer = await fake.wait_for(lambda c: c.method == "answerCallbackQuery",
                                     since=since, timeout=WAIT)  # fmt: skip
        assert "отменена" in str(answer.params.get("text"))
        await fake.wait_for(
            lambda c: fake.chat_of(c) == ANNA and "Встреча с населением отменена" in (c.text or ""),
            timeout=WAIT,
        )  # fmt: skip
        assert await bot.stop() == 0
        assert e2edb.query(bot.database, PENDING_REMINDERS) == [(0,)]
    finally:
        await bot.kill()


# --- who may call a meeting off ----------------------------------------------------------------

DEPARTMENT = -1002000
CLERK = 950  # a member of the department's chat


@pytest.fixture
async def department(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The officials' chat announced meeting № 1; a department has an officials' chat too."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT}\n',
        encoding="utf-8",
    )
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    await seed_meeting(tmp_path / "bot.db", ANNA)
    app, task = await start_bot(fake, settings, clock)
    harness = Harness(fake, app, task, clock)
    yield harness
    await stop_bot(harness.app, harness.task)


async def test_only_the_chat_that_announced_a_meeting_calls_it_off(department: Harness) -> None:
    """«Cancel meeting» is checked where it is pressed, as «Stop» is: another officials'
    chat (a department) neither gets the button under /meetings (its list has only the
    meetings it announced) nor calls the meeting off with a forged one; the chat that
    announced it does."""
    h = department
    since = h.fake.mark()
    h.fake.group_message(DEPARTMENT, CLERK, "/meetings", first_name="Клерк")
    listed = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT,
        since=since, timeout=WAIT,
    )  # fmt: skip
    assert "Встреча № 1" not in (listed.text or "")
    assert not [label for label, _ in h.fake.buttons(listed) if "Отменить" in label]
    assert not [label for label, _ in h.fake.buttons(listed) if "Перенести" in label]
    forged = [AnnCb(action=action, value="1").pack() for action in ("mcancel", "mcancelok")]
    # Moving it, or entering how many came, is the announcing chat's too.
    forged += [MeetEditCb(action=action, meeting=1).pack() for action in ("move", "count")]
    for data in forged:
        since = h.fake.mark()
        h.fake.press(CLERK, listed, data, first_name="Клерк")
        answer = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
        assert "больше не действует" in str(answer.params.get("text")), data
    await h.quiet(1.0)
    assert rows(h, "SELECT meeting_cancelled_at FROM announcements")[0][0] is None
    assert not [c for c in h.fake.calls if "отменена" in (c.text or "")]

    # In the chat that announced it, the button is there and works.
    mine = await say_in_group(h.fake, "/meetings", "Встреча № 1")
    question = await press(h.fake, mine, "Отменить встречу № 1", "Отменить встречу № 1?",
                           method="sendMessage")  # fmt: skip
    await press(h.fake, question, "Да, отменить", "Встреча № 1 отменена")
    assert rows(h, "SELECT meeting_cancelled_at FROM announcements")[0][0] is not None


# --- /forget while an announcement is being queued (PostgreSQL) ------------------------------


@pytest.fixture
async def on_postgres(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The in-process bot on PostgreSQL whatever E2E_DATABASE says: on SQLite the write lock
    orders an announcement and a /forget one after the other."""
    settings = make_settings(fake.base_url, tmp_path / "bot.db")
    settings = settings.model_copy(
        update={"database_url": e2edb.database_url(tmp_path / "bot.db", postgres=True)}
    )
    app, task = await start_bot(fake, settings, clock)
    harness = Harness(fake, app, task, clock)
    yield harness
    await stop_bot(harness.app, harness.task)


async def test_forget_while_an_announcement_is_queued_leaves_it_nothing_to_send(
    on_postgres: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An official's «Send» has read the subscribers and is about to write their rows when a
    subscriber confirms /forget. The erasure must not slip in between (it did: the row was
    written after it, to be sent to a citizen who is gone): either it waits and then erases
    the row written for them, or the announcement waits and finds them gone. Either way
    nothing is left in the outbox for their chat. (The erasure waiting, the announcement may
    reach them before it is done: the order of events is «announced, then erased».)"""
    h = on_postgres
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    review = await announce(h.fake)
    url = h.app.settings.database_url
    writing: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    go_on = asyncio.Event()
    real = Outbox.queue_in

    async def paused(self: Outbox, conn: Any, batches: Any, *, bulk: bool = False) -> list[int]:
        if bulk and not writing.done():  # the announcement's rows, the subscribers read
            writing.set_result(int(await conn.fetchval("SELECT pg_backend_pid()")))
            await go_on.wait()
        return await real(self, conn, batches, bulk=bulk)

    monkeypatch.setattr(Outbox, "queue_in", paused)
    since = h.fake.mark()
    h.fake.press(OFFICIAL, review, h.fake.find_button(review, "📤"), first_name="Асқар")
    sending = await asyncio.wait_for(writing, WAIT)

    question = await h.say(ANNA, "/forget")
    forgot = h.fake.mark()
    h.fake.press(ANNA, question, h.fake.buttons(question)[0][1] or "")

    def erased() -> bool:
        return any(
            c.method == "editMessageText" and h.fake.chat_of(c) == ANNA
            for c in h.fake.calls[forgot:]
        )

    def waits_for_the_announcement() -> bool:
        blocked = e2edb.query(
            url, "SELECT COUNT(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))",
            sending,
        )  # fmt: skip
        return bool(blocked[0][0])

    for _ in range(int(WAIT / 0.05)):
        if erased() or waits_for_the_announcement():
            break
        await asyncio.sleep(0.05)
    go_on.set()
    await group_reply(h.fake, since, "Объявление № 1", method="editMessageText")
    await h.fake.wait_for(lambda c: erased(), timeout=WAIT)
    await h.quiet(2.0)
    assert e2edb.query(url, "SELECT COUNT(*) FROM outbox WHERE chat_id = ?", ANNA) == [(0,)]


# --- a command is no announcement's text ------------------------------------------------------

ADMIN = 4242


@pytest.fixture
async def admin(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", admin_ids=str(ADMIN))
    app, task = await start_bot(fake, settings, clock)
    harness = Harness(fake, app, task, clock)
    yield harness
    await stop_bot(harness.app, harness.task)


async def test_a_command_at_an_announcements_text_step_is_not_its_text(admin: Harness) -> None:
    """An administrator announces in private, where any message answers the step: a command
    (or a main-menu button) typed there goes to its own handler, as in the citizens' dialogs,
    and is never previewed as the text subscribers would get."""
    h = admin
    await onboard(h, ADMIN, "ru")
    kinds = await h.say(ADMIN, "/announce", expect="Новое объявление")
    districts = await h.click(ADMIN, kinds, "📄", method="editMessageText")
    chosen = await h.click(ADMIN, districts, "г. Семей", method="editMessageText")
    await h.click(ADMIN, chosen, "Далее", expect="казахском")
    for typed, answer in (("/subscribe", "Объявления акимата"), ("🔔 Объявления", "Объявления")):
        since = h.fake.mark()
        reply = await h.say(ADMIN, typed, expect=answer)
        assert "Предпросмотр" not in (reply.text or "")
        assert not [c for c in h.fake.calls[since:] if "Предпросмотр" in (c.text or "")]
    # The step is where it was: the next message is the Kazakh text.
    await h.say(ADMIN, "Ертең сағат 10:00-де жиналыс болады.", expect="русском")


# --- a question in advance, asked once ---------------------------------------------------------

QUESTION = "Когда отремонтируют дорогу к школе?"
THANKS = "ваш вопрос передан организаторам"


async def test_a_question_in_advance_redelivered_after_a_crash_is_kept_once(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """Webhook mode: the question is stored, the process dies before its «thank you»; the
    update is not marked handled, so Telegram delivers it again and the step (still waiting
    for the question: its state commits with the mark) runs again. The organisers must not
    read the question twice."""
    bot = RealBot(fake, tmp_path, **webhook_env(free_port()))
    await seed_meeting(bot.database, ANNA)
    await bot.start("tests.crashpoint", CRASH_SENDING=THANKS)
    try:
        screen = await screen_of(fake, ANNA)
        since = fake.mark()
        fake.press(ANNA, screen, MeetCb(action="topic", meeting=1, value="0").pack())
        await fake.wait_for(
            lambda c: c.method == "editMessageText" and "1000" in (c.text or ""),
            since=since, timeout=WAIT,
        )  # fmt: skip
        fake.user_message(ANNA, QUESTION, language_code="ru")
        assert await bot.exited() == CRASHED  # the question stored, its «thank you» not sent
        assert e2edb.query(bot.database, "SELECT COUNT(*) FROM meeting_questions") == [(1,)]

        since = fake.mark()
        await bot.start()  # Telegram delivers the question again
        await fake.wait_for(
            lambda c: c.method == "sendMessage" and THANKS in (c.text or "") and not c.failed,
            since=since, timeout=WAIT,
        )  # fmt: skip
        assert await bot.stop() == 0
        assert e2edb.query(bot.database, "SELECT text FROM meeting_questions") == [(QUESTION,)]
    finally:
        await bot.kill()
