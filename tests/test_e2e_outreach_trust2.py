"""Announcements, meetings and polls (issue #13) under a second adversarial review, over HTTP
against the fake Bot API: a button acts on the draft it was shown for, a chat sees the
meetings it announced, and a citizen's «I won't come after all» is one change."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.telegram.callbacks import MeetCb
from tests import e2edb
from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_meetings import announce_meeting, reply_in_group
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
from tests.test_e2e_outreach_trust import (  # noqa: F401  (department: a fixture)
    CLERK,
    DEPARTMENT,
    FAR,
    PENDING_REMINDERS,
    department,
    exited_or_called,
    screen_of,
    seed_meeting,
)
from tests.test_e2e_polls import announce_poll

pytestmark = pytest.mark.e2e

COLLEAGUE = 901  # another member of the officials' chat


async def test_cancel_on_an_older_card_keeps_the_draft_in_hand(harness: Harness) -> None:
    """An official gets an announcement ready, starts /announce again and gets a second one
    ready. «Cancel» on the first card must not drop the second draft (nor say the first card
    was cancelled while the second goes on): that card is stale; and a colleague's Cancel on
    it does not touch the colleague's own draft either. The second card still sends."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    first = await announce(h.fake, kk="Бірінші хабарландыру мәтіні", ru="Первое объявление, текст")
    second = await announce(h.fake, kk="Екінші хабарландыру мәтіні", ru="Второе объявление, текст")
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, first, h.fake.find_button(first, "✖️"))
    assert "больше не действует" in alert
    # The colleague has a dialog of their own in hand; my card's Cancel is not theirs.
    h.fake.group_message(OFFICIALS, COLLEAGUE, "/announce", first_name="Ерлан")
    kinds = await group_reply(h.fake, since, "Новое объявление")
    alert = await h.alert(COLLEAGUE, second, h.fake.find_button(second, "✖️"))
    assert "больше не действует" in alert
    await h.quiet(0.5)
    edits = [c for c in h.fake.calls[since:] if c.method == "editMessageText" and not c.failed]
    assert edits == []  # neither card was turned into «cancelled»
    # The colleague's own dialog goes on.
    h.fake.press(COLLEAGUE, kinds, h.fake.find_button(kinds, "📄"), first_name="Ерлан")
    await group_reply(h.fake, since, "В какие районы", method="editMessageText")
    # The draft in hand is still there: its card sends it, once.
    mark = h.fake.mark()
    await press(h.fake, second, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: bool(announcements_to(h.fake, ANNA, mark)), timeout=WAIT)
    (got,) = announcements_to(h.fake, ANNA, mark)
    assert "Второе объявление" in (got.text or "")
    assert rows(h, "SELECT COUNT(*) AS n FROM announcements")[0]["n"] == 1


async def test_a_department_sees_the_meetings_it_announced(department: Harness) -> None:  # noqa: F811
    """/meetings lists what citizens asked in advance. A department's officials' chat must not
    read the questions to meetings announced from another chat: it sees the meetings it
    announced (none here), as its /stats sees its own polls; the default chat, which
    announced meeting № 1, sees it with the question, and so does `/meetings past`."""
    h = department
    asked = await h.app.dp["meetings"].ask(1, ANNA, None, "Когда починят свет на улице Абая?")
    assert asked is not None
    nothing = (
        ("/meetings", "Предстоящих встреч"),
        ("/meetings past", "встреч с населением не было"),
    )
    for command, empty in nothing:
        since = h.fake.mark()
        h.fake.group_message(DEPARTMENT, CLERK, command, first_name="Клерк")
        listed = await h.fake.wait_for(
            lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT,
            since=since, timeout=WAIT,
        )  # fmt: skip
        await h.quiet(0.3)
        texts = [c.text or "" for c in h.fake.calls[since:] if h.fake.chat_of(c) == DEPARTMENT]
        assert empty in (listed.text or ""), texts
        assert not any("Встреча № 1" in t or "улице Абая" in t for t in texts)
        if command == "/meetings":
            h.clock.at = FAR + timedelta(hours=1)  # the meeting is held: «past» from now on
    h.clock.at = FAR - timedelta(days=1)
    mine = await say_in_group(h.fake, "/meetings", "Встреча № 1")
    assert "улице Абая" in (mine.text or "")
    h.clock.at = FAR + timedelta(hours=1)
    await say_in_group(h.fake, "/meetings past", "Встреча № 1")
    # /stats follows the same rule: the department's has no meetings section, the default
    # chat's has meeting № 1.
    since = h.fake.mark()
    h.fake.group_message(DEPARTMENT, CLERK, "/stats", first_name="Клерк")
    stats = await h.fake.wait_for(
        lambda c: c.method in ("sendMessage", "editMessageText") and not c.failed
        and h.fake.chat_of(c) == DEPARTMENT and "Обращений за последние" in (c.text or ""),
        since=since, timeout=WAIT,
    )  # fmt: skip
    assert "Встречи с населением" not in (stats.text or "")
    await say_in_group(h.fake, "/stats", "Встречи с населением")


async def test_a_crash_in_i_wont_come_after_all_leaves_no_reminder(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    """«I won't come after all» removes the registration and withdraws the reminder for the
    day before. Killed between the two, the citizen (whose screen was never edited, so they
    think it done) must not be reminded of a meeting they said they will not come to: both
    commit together, or neither."""
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
        assert await bot.stop() == 0

        await bot.start("tests.crashpoint", CRASH_WITHDRAWING="meeting-reminder:")
        since = fake.mark()
        fake.press(ANNA, screen, MeetCb(action="nocome", meeting=1).pack())

        def withdrawn(c: Call) -> bool:
            return c.method == "editMessageText" and "запись на встречу" in (c.text or "")

        if not await exited_or_called(bot, fake, withdrawn, since):
            assert await bot.stop() == 0
        await bot.start()
        await screen_of(fake, ANNA)  # whatever Telegram hands over again is handled by now
        assert await bot.stop() == 0
        coming = e2edb.query(bot.database, "SELECT COUNT(*) FROM meeting_attendees")
        assert (coming, e2edb.query(bot.database, PENDING_REMINDERS)) in (
            ([(1,)], [(1,)]),  # neither happened: the citizen may press again
            ([(0,)], [(0,)]),
        )
    finally:
        await bot.kill()


async def test_send_after_the_end_time_went_by_at_the_review_sends_nothing(
    harness: Harness,
) -> None:
    """A poll's end time (and a meeting's time) is checked to be ahead when it is typed; the
    card may then wait for «Send» for hours. Pressed after that time, nothing must go out (a
    poll would be closed by the next tick with its messages half sent, a meeting announced
    for the past): the official is told to start again."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    review = await announce_poll(h.fake)  # closes 23.11.2026 15:00; the clock says 10:00
    h.clock.at = datetime(2026, 11, 23, 15, 0, tzinfo=ALMATY)
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, review, h.fake.find_button(review, "📤"))
    assert "уже прошло" in alert
    await group_reply(h.fake, since, "Начните заново", method="editMessageText")
    await h.quiet(0.5)
    assert rows(h, "SELECT COUNT(*) AS n FROM announcements")[0]["n"] == 0
    assert not [c for c in h.fake.calls[since:] if c.method == "sendPoll"]
    # The dialog is over: /announce starts afresh.
    await say_in_group(h.fake, "/announce", "Новое объявление")

    h.clock.at = datetime(2026, 11, 23, 10, 0, tzinfo=ALMATY)
    meeting = await announce_meeting(h.fake, when="23.11.2026 12:00", shown="23 ноября 2026")
    h.clock.at = datetime(2026, 11, 23, 12, 30, tzinfo=ALMATY)
    alert = await h.alert(OFFICIAL, meeting, h.fake.find_button(meeting, "📤"))
    assert "уже прошло" in alert
    assert rows(h, "SELECT COUNT(*) AS n FROM announcements")[0]["n"] == 0


async def test_cancel_on_an_older_move_card_keeps_the_move_in_hand(harness: Harness) -> None:
    """An official gets the move of meeting № 1 to its confirmation, then starts moving
    meeting № 2. «Cancel» on the first confirmation must not end the second move (whose
    prompt then answers nothing) nor mark the card dropped: that card is stale."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    for number in (1, 2):
        review = await announce_meeting(h.fake)
        await press(h.fake, review, "📤", f"Объявление № {number}")
    report = await say_in_group(h.fake, "/meetings", "Встреча № 2")
    first = await press(h.fake, report, "Перенести встречу № 1", "Перенос встречи № 1",
                        method="sendMessage")  # fmt: skip
    place = await reply_in_group(h.fake, first, "27.11.2099 11:00", "новым местом")
    confirm = await reply_in_group(h.fake, place, "Акимат, зал 2", "Перенести встречу № 1?")
    second = await press(h.fake, report, "Перенести встречу № 2", "Перенос встречи № 2",
                         method="sendMessage")  # fmt: skip
    since = h.fake.mark()
    alert = await h.alert(OFFICIAL, confirm, h.fake.find_button(confirm, "✖️"))
    assert "больше не действует" in alert
    await h.quiet(0.3)
    assert not [c for c in h.fake.calls[since:] if c.method == "editMessageText"]
    # The move in hand goes on.
    await reply_in_group(h.fake, second, "28.11.2099 11:00", "новым местом")
