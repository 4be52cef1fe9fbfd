"""Meetings with residents (issue #13) over HTTP: an official announces a meeting (who, where,
when, topics, the texts in Kazakh and Russian); a Kazakh and a Russian subscriber of the
district each say they will come, with their access needs, and ask a question in advance; a
double press counts once; a non-subscriber gets nothing; /meetings shows the head count, the
needs summed and the questions by topic, escaped."""

from __future__ import annotations

from html import escape

import pytest

from tests.conftest import OFFICIALS, Harness
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_outreach import (
    AIGUL,
    ANNA,
    BORIS,
    DANA,
    OFFICIAL,
    WAIT,
    group_reply,
    press,
    say_in_group,
    subscribe,
)

pytestmark = pytest.mark.e2e

HEADING = {"ru": "Встреча с населением", "kk": "Халықпен кездесу"}
WHO = "Аким города <Семей>"
PLACE = "Дом культуры, ул. Абая 1"
# The business clock is at 23.11.2026 10:00 in Almaty; the outbox runs on real time, so the
# reminder the day before must lie beyond any real date the test runs on: it stays queued.
WHEN = "25.11.2099 15:00"
TOPICS = "1. Дороги\n2. Освещение & свет"


async def reply_in_group(fake: FakeTelegram, prompt: Call, text: str, *needles: str) -> Call:
    since = fake.mark()
    fake.group_message(OFFICIALS, OFFICIAL, text, first_name="Асқар",
                       reply_to_message=prompt.result)  # fmt: skip
    return await group_reply(fake, since, *needles)


async def announce_meeting(fake: FakeTelegram, when: str = WHEN, shown: str = "25 ноября 2099"
                           ) -> Call:  # fmt: skip
    """/announce a meeting to Semey at `when` (`shown` in the preview), up to the review card
    (returned)."""
    kinds = await say_in_group(fake, "/announce", "Новое объявление")
    districts = await press(fake, kinds, "🤝", "В какие районы")
    chosen = await press(fake, districts, "г. Семей", "Выбрано")
    since = fake.mark()
    fake.press(OFFICIAL, chosen, fake.find_button(chosen, "Далее"), first_name="Асқар")
    who = await group_reply(fake, since, "кто встречается")
    where = await reply_in_group(fake, who, WHO, "где пройдёт")
    when_prompt = await reply_in_group(fake, where, PLACE, "когда встреча")
    # A time gone by, or no time at all, is asked again.
    await reply_in_group(fake, when_prompt, "22.11.2026 15:00", "уже прошло")
    await reply_in_group(fake, when_prompt, "послезавтра", "Напишите дату и время так")
    topics = await reply_in_group(fake, when_prompt, when, "темами встречи")
    prompt_kk = await reply_in_group(fake, topics, TOPICS, "казахском")
    prompt_ru = await reply_in_group(fake, prompt_kk, "Тұрғындармен кездесуге шақырамыз.",
                                     "русском")  # fmt: skip
    since = fake.mark()
    fake.group_message(OFFICIALS, OFFICIAL, "Приглашаем жителей на встречу.",
                       first_name="Асқар", reply_to_message=prompt_ru.result)  # fmt: skip
    review = await group_reply(fake, since, "Объявление готово")
    texts = [c.text or "" for c in fake.calls[since:] if fake.chat_of(c) == OFFICIALS]
    preview = [t for t in texts if HEADING["ru"] in t and "Район или город" in t]
    assert len(preview) == 1 and escape(WHO) in preview[0]  # exactly as citizens see it
    assert shown in preview[0] and when[-5:] in preview[0]
    assert "Дороги; Освещение &amp; свет" in preview[0]
    return review


def meetings_to(fake: FakeTelegram, chat: int) -> list[Call]:
    return [
        c for c in fake.calls
        if c.method == "sendMessage" and not c.failed and fake.chat_of(c) == chat
        and any(h in (c.text or "") for h in HEADING.values())
    ]  # fmt: skip


async def come(h: Harness, user: int, lang: str, meeting: Call, needs: list[str]) -> Call:
    """«I will come», the needs toggled, «Confirm»: the registration screen (returned)."""
    come, confirm = ("Мен келемін", "Растау") if lang == "kk" else ("Я приду", "Подтвердить")
    screen = await h.click(user, meeting, come, lang=lang)
    for need in needs:
        screen = await h.click(user, screen, need, method="editMessageText", lang=lang)
    return await h.click(user, screen, confirm, method="editMessageText", lang=lang)


async def ask(h: Harness, user: int, lang: str, meeting: Call, topic: str, text: str) -> Call:
    button = "Алдын ала сұрақ" if lang == "kk" else "Задать вопрос"
    topics = await h.click(user, meeting, button, lang=lang)
    prompt = await h.click(user, topics, topic, method="editMessageText", lang=lang)
    assert "1000" in (prompt.text or "")
    expect = "ұйымдастырушыларға" if lang == "kk" else "организаторам"
    return await h.say(user, text, lang=lang, expect=expect)


async def test_a_meeting_registrations_and_questions_in_both_languages(harness: Harness) -> None:
    h = harness
    for user, lang in ((ANNA, "ru"), (AIGUL, "kk"), (BORIS, "ru"), (DANA, "ru")):
        await onboard(h, user, lang)
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")
    await subscribe(h, BORIS, "ru", "Абайская", "Курчатов")  # another district

    review = await announce_meeting(h.fake)
    assert "Подписчиков сейчас: 2" in (review.text or "")
    since = h.fake.mark()
    await press(h.fake, review, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: all(meetings_to(h.fake, u) for u in (ANNA, AIGUL)),
                          since=since, timeout=WAIT)  # fmt: skip
    (anna,) = meetings_to(h.fake, ANNA)
    (aigul,) = meetings_to(h.fake, AIGUL)
    assert escape(WHO) in (anna.text or "") and "Приглашаем жителей" in (anna.text or "")
    assert "25 ноября 2099\xa0г., 15:00" in (anna.text or "")
    assert "Кім:" in (aigul.text or "") and "шақырамыз" in (aigul.text or "")
    assert "2099\xa0ж. 25 қараша, 15:00" in (aigul.text or "")
    assert meetings_to(h.fake, BORIS) == [] and meetings_to(h.fake, DANA) == []

    # Anna comes in a wheelchair; Aigul in a wheelchair, with someone accompanying her.
    done = await come(h, ANNA, "ru", anna, ["♿"])
    assert "Вы записаны на встречу" in (done.text or "") and "♿" in (done.text or "")
    done_kk = await come(h, AIGUL, "kk", aigul, ["♿", "👥"])
    assert "кездесуге тіркелдіңіз" in (done_kk.text or "")
    # Pressing «I will come» again shows the registration, with «I won't come after all».
    again = await h.click(ANNA, anna, "Я приду")
    assert "Вы записаны" in (again.text or "")
    assert any("не приду" in label for label, _ in h.fake.buttons(again))
    # «I won't come after all», then she comes after all: a double press of «Confirm» counts
    # once.
    await h.click(ANNA, again, "не приду", method="editMessageText")
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_attendees")[0]["n"] == 1  # Aigul only
    screen = await h.click(ANNA, anna, "Я приду")
    toggled = await h.click(ANNA, screen, "♿", method="editMessageText")
    confirm = h.fake.find_button(toggled, "Подтвердить")
    since = h.fake.mark()
    for _ in range(2):
        h.fake.press(ANNA, toggled, confirm, language_code="ru")
    await h.fake.wait_for(
        lambda c: len([a for a in h.fake.calls[since:] if a.method == "answerCallbackQuery"]) == 2,
        since=since, timeout=WAIT,
    )  # fmt: skip
    await h.quiet(1.0)
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_attendees")[0]["n"] == 2
    # Each has one reminder waiting for the day before (Anna's first one was withdrawn).
    waiting = rows(h, "SELECT chat_id FROM outbox WHERE purpose LIKE 'meeting-reminder:%' "
                      "AND sent_at IS NULL AND dropped_at IS NULL ORDER BY chat_id")  # fmt: skip
    assert [r["chat_id"] for r in waiting] == sorted([ANNA, AIGUL])

    # Questions in advance: Anna on a topic, Aigul on another one; both escaped when shown.
    thanks = await ask(h, ANNA, "ru", anna, "Освещение", "Когда починят <фонари> на Абая?")
    assert "передан организаторам" in (thanks.text or "")
    thanks_kk = await ask(h, AIGUL, "kk", aigul, "Басқа тақырып", "Аулаға ойын алаңы керек & тез.")
    assert "ұйымдастырушыларға жіберілді" in (thanks_kk.text or "")
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_questions")[0]["n"] == 2

    report = await say_in_group(h.fake, "/meetings", "Предстоящие встречи")
    text = report.text or ""
    assert "Встреча № 1" in text and "Придут: 2" in text
    needs = text.split("Что нужно для посещения:")[1].split("\n")[0]
    assert ": 2" in needs and ": 1" in needs  # two wheelchairs, one companion
    assert "Вопросы заранее: 2" in text
    lighting = text.index("<i>Освещение &amp; свет</i>")
    other = text.index("<i>Другая тема</i>")
    assert lighting < text.index("Когда починят &lt;фонари&gt;") < other
    assert other < text.index("Аулаға ойын алаңы керек &amp; тез.")

    # The meeting is called off: both who come are told, each in their language.
    question = await press(h.fake, report, "Отменить встречу № 1", "Отменить встречу № 1?",
                           method="sendMessage")  # fmt: skip
    assert "(2)" in (question.text or "")
    since = h.fake.mark()
    await press(h.fake, question, "Да, отменить", "Встреча № 1 отменена")
    await h.fake.wait_for(
        lambda c: "Встреча с населением отменена" in (c.text or "")
        and h.fake.chat_of(c) == ANNA, since=since, timeout=WAIT,
    )  # fmt: skip
    await h.fake.wait_for(
        lambda c: "Халықпен кездесу өтпейді" in (c.text or "") and h.fake.chat_of(c) == AIGUL,
        since=since, timeout=WAIT,
    )  # fmt: skip
    alert = await h.alert(BORIS, anna, h.fake.find_button(anna, "Я приду"))
    assert "отменена" in alert
    none = await say_in_group(h.fake, "/meetings", "Предстоящих встреч с населением нет")
    assert not h.fake.buttons(none)


async def test_a_citizens_meetings_is_refused(harness: Harness) -> None:
    h = harness
    await onboard(h, DANA, "ru")
    refusal = await h.say(DANA, "/meetings")
    assert "предназначена для должностных лиц" in (refusal.text or "")


async def test_forget_erases_the_registration_and_the_question(harness: Harness) -> None:
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    review = await announce_meeting(h.fake)
    since = h.fake.mark()
    await press(h.fake, review, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: bool(meetings_to(h.fake, ANNA)), since=since, timeout=WAIT)
    (anna,) = meetings_to(h.fake, ANNA)
    await come(h, ANNA, "ru", anna, ["👥"])
    # Waiting for her question, she presses the menu's «Book a reception»: that is no question.
    topics = await h.click(ANNA, anna, "Задать вопрос")
    await h.click(ANNA, topics, "Дороги", method="editMessageText")
    await h.say(ANNA, "🗓 Записаться на приём", expect="приём")
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_questions")[0]["n"] == 0
    await h.say(ANNA, "/cancel")
    await ask(h, ANNA, "ru", anna, "Дороги", "Когда отремонтируют дорогу к школе?")
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_attendees")[0]["n"] == 1
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_questions")[0]["n"] == 1
    privacy = await h.say(ANNA, "/privacy")
    assert "Всё-таки не приду" in (privacy.text or "")
    question = await h.say(ANNA, "/forget")
    await h.press(ANNA, question, h.fake.buttons(question)[0][1] or "", method="editMessageText")
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_attendees")[0]["n"] == 0
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_questions")[0]["n"] == 0
    # The meeting's buttons left from before register nobody now.
    alert = await h.alert(ANNA, anna, h.fake.find_button(anna, "Я приду"))
    assert "больше не действует" in alert
    assert rows(h, "SELECT COUNT(*) AS n FROM meeting_attendees")[0]["n"] == 0
