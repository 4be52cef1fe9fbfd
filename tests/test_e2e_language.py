"""The language review of November 2026 (shared/reviews/language-2026-11.md), over HTTP, in
Russian and in Kazakh: the dialogs where each corrected text appears are driven and what the
bot sends is read.

Two rules hold for everything sent: no date runs into a full stop («22 декабря 2026 г..»:
the Russian long date ends in «г.», review #3) and Kazakh says «Сіз» with a capital (#12)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from i18n.formatting import long_date
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, who_and_how
from tests.test_e2e_booking import book_first_slot, fill_session, reception_hold
from tests.test_e2e_officials import card_of, official_reply, open_prompt
from tests.test_i18n_style import DOUBLE_STOP, LOWER_SIZ

pytestmark = pytest.mark.e2e
CITIZEN = 1301
OFFICIAL = 900
DEPARTMENT_CHAT = -1002100
# What the bot sends that a person reads: texts, captions and alerts.
READ = {"sendMessage", "editMessageText", "editMessageCaption", "answerCallbackQuery",
        "sendPhoto", "sendDocument", "sendMediaGroup"}  # fmt: skip
TEXTS = {
    "ru": "На улице Ленина 5 третью неделю не горят фонари, вечером темно и опасно.",
    "kk": "Ленин көшесі, 5: үш апта бойы шамдар жанбайды, кешке қараңғы әрі қауіпті.",
}
COMPLAINT = {"ru": "Жалоба", "kk": "Шағым"}
QUESTION = {"ru": "Вопрос о назначении пособия", "kk": "Жәрдемақы тағайындау туралы сұрақ"}
# The corrected wording (review item in brackets) as each language now reads it.
WORDING = {
    "ru": {
        "greeting": "Виды обращений: заявление, жалоба, предложение, запрос информации.",  # 15
        "help": "• <b>Запрос информации</b> — получить информацию",  # 15
        "kind_hint": "на решение, действие или бездействие государственного органа",  # 19
        "edit_button": "✏️ Исправить",  # 14
        "cancelled_draft": "Отменено. Черновик удалён",
        "press_a_button": "Пожалуйста, выберите одну из кнопок.",
        "day_button": "25 ноября, ср",
        "access": "Что нужно для посещения: 👥",
        "reminders": "Я напомню накануне и примерно за два часа до приёма.",
        "companion": "сопровождающий: 1",  # 9
        "booking_cancelled": "Ваша запись отменена. Место освободилось для других.",
        "booking_dropped": "Черновик записи удалён, ничего не сохранено.",
        "offer": "Оно закреплено за вами до ",
        "offer_gone": "Это место больше не закреплено за вами.",  # 13
        "taken": "Это время только что заняли. Пожалуйста, выберите другое.",
        "extend_prompt": "Ответьте новым сроком в формате ДД.ММ.ГГГГ (не позднее ",
        "answer_prompt": "(можно прикрепить документ, а текст написать в подписи к нему)",
        "call_off": "Отменить «",
        "drop": "Отменено.",
        "forwarded": "Ваше обращение № 2026-00001 передано в профильный отдел",
        "cancel_command": "Выйти из текущего диалога",
    },
    "kk": {
        "greeting": "Өтініш түрлері: арыз, шағым, ұсыныс, сұрау салу.",  # 15
        "help": "• <b>Сұрау салу</b> — ақпарат алу",
        "kind_hint": "мемлекеттік органның шешіміне, әрекетіне немесе әрекетсіздігіне",
        "edit_button": "✏️ Түзету",  # 14
        "cancelled_draft": "Болдырылмады. Өтініш жобасы жойылды",  # 16
        "press_a_button": "Түймелердің бірін басыңыз.",  # 17
        "day_button": "25 қараша, сәрсенбі",  # 11
        "access": "Қабылдауға келу үшін қажет жағдайлар: 👥",  # 6
        "reminders": (  # 4
            "Қабылдау алдындағы күні және басталуына шамамен екі сағат қалғанда еске саламын."
        ),
        "companion": "алып жүретін адам: 1",  # 9
        "booking_cancelled": "Жазылуыңыз жойылды. Орын басқаларға босатылды.",  # 5
        "booking_dropped": "Болдырылмады. Жазылу жобасы жойылды, ештеңе сақталған жоқ.",  # 16
        "offer": "Орын Сіз үшін сақталады, мерзімі: ",  # 1
        "offer_gone": "Бұл орын енді сақталмайды.",  # 13
        "taken": "Бұл уақытты жаңа ғана басқа біреу алып қойды. Басқасын таңдаңыз.",  # 2
        "extend_prompt": (  # 8
            "Осы хабарламаға жауап ретінде жаңа мерзімді КК.АА.ЖЖЖЖ түрінде жазыңыз (ең кеші — "
        ),
        "answer_prompt": "мәтінді құжаттың астына жазуға да болады",  # 21
        "call_off": " күнгі «",  # 18: «{date} күнгі «{name}» қабылдауы тоқтатылсын ба?»
        "drop": "Болдырылмады.",  # 16
        "forwarded": "№ 2026-00001 өтінішіңіз құзыретті бөлімге жолданды",  # 7
        "cancel_command": "Ағымдағы әрекеттен шығу",  # 20
    },
}


@pytest.fixture(params=["ru", "kk"])
async def bot_in(
    request: pytest.FixtureRequest, fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[tuple[Harness, str]]:
    """The bot, the officials' chat speaking the citizen's language; the catalog has one
    department to forward to. Delivery keeps the business time, so booking reminders stay in
    the future and out of the dialogs' way."""
    lang: str = request.param
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT_CHAT}\n',
        encoding="utf-8",
    )
    settings = make_settings(
        fake.base_url, tmp_path / "bot.db", officials_language=lang, catalog_path=catalog
    )
    delivery = FrozenClock(clock.at)
    app, task = await start_bot(fake, settings, clock, delivery)
    h = Harness(fake, app, task, clock, delivery)
    yield h, lang
    await stop_bot(h.app, h.task)


def check_house_rules(h: Harness, lang: str) -> None:
    """Everything the bot has sent so far: texts, captions and alerts (`Call.text`)."""
    read = [c.text for c in h.fake.calls if c.method in READ and not c.failed and c.text]
    assert len(read) > 10  # the dialogs above did run
    doubled = [t for t in read if DOUBLE_STOP.search(t)]
    assert not doubled, doubled
    if lang == "kk":
        lower = [t for t in read if LOWER_SIZ.search(t)]
        assert not lower, lower


async def reach_appeal_review(h: Harness, user: int, lang: str) -> Call:
    """The appeal dialog with the first kind and category offered, up to the review card."""
    kinds = await h.say(user, "/new", lang=lang)
    assert WORDING[lang]["kind_hint"] in (kinds.text or "")
    categories = await h.click(user, kinds, COMPLAINT[lang], lang=lang)
    await h.press(user, categories, h.fake.buttons(categories)[0][1] or "", lang=lang)
    await h.say(user, "Шымкент", lang=lang, expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(user, "Каратау", language_code=lang)
    await h.reply(user, since, expect="3500")
    files = await h.say(user, TEXTS[lang], lang=lang)
    location = await h.press(user, files, h.fake.buttons(files)[0][1] or "", lang=lang)
    await h.say(user, h.fake.buttons(location)[1][0], lang=lang)
    return await who_and_how(h, user, lang)


async def file_appeal(h: Harness, user: int, lang: str) -> Call:
    """Returns the bot's confirmation with the registration number and the deadline."""
    review = await reach_appeal_review(h, user, lang)
    return await h.confirm(user, review, "✅", lang=lang, expect="2026-")


async def in_officials_chat(h: Harness, text: str, expect: str) -> Call:
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, text)
    return await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and expect in (c.text or "")
        ),
        since=since,
    )


async def officials_press(h: Harness, on: Call, label: str, answer: str | None = None) -> Call:
    """An official presses a button: the bot's alert (`answer` None) or its next message
    in the officials' chat with `answer` in its text or buttons."""
    since = h.fake.mark()
    h.fake.press(OFFICIAL, on, h.fake.find_button(on, label), first_name="Official")
    if answer is None:
        return await h.fake.wait_for(
            lambda c: c.method == "answerCallbackQuery" and bool(c.params.get("text")),
            since=since,
        )
    return await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == OFFICIALS
            and (answer in (c.text or "") or answer in str(c.params.get("reply_markup")))
        ),
        since=since,
    )


async def join_waitlist(h: Harness, user: int, lang: str, day: date) -> Call:
    receptions = await h.say(user, "/book", lang=lang)
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    wait = f"bk:wait:{day.isoformat()}"
    full = next(d for _label, d in h.fake.buttons(days) if d and d.startswith(wait))
    return await h.press(user, days, full, lang=lang)


async def test_no_date_runs_into_a_full_stop(bot_in: tuple[Harness, str]) -> None:
    h, lang = bot_in

    def day(d: date) -> str:
        return long_date(d, lang)

    await onboard(h, CITIZEN, lang)
    # The appeal's confirmation and /my, with the deadline (a complaint: 20 working days).
    registered = await file_appeal(h, CITIZEN, lang)
    assert day(date(2026, 12, 22)) in (registered.text or "")
    mine = await h.say(CITIZEN, "/my", lang=lang, expect="2026-00001")
    assert day(date(2026, 12, 22)) in (mine.text or "")

    # An extension past the two-month limit is refused with the latest date allowed …
    card = await card_of(h, "2026-00001")
    refused = await official_reply(h, card, "⏳", "25.01.2027\nэкспертиза / сараптама")
    assert day(date(2027, 1, 23)) in (refused.text or "")
    # … one within it reaches the citizen with the new deadline.
    since = h.fake.mark()
    await official_reply(h, card, "⏳", "15.01.2027\nэкспертиза / сараптама")
    extended = await h.reply(CITIZEN, since, expect=day(date(2027, 1, 15)))

    # Receptions: booking, the officials' list of a day, a day with none, a call-off question.
    booked = await book_first_slot(h, CITIZEN, lang, QUESTION[lang])
    assert day(date(2026, 11, 25)) in (booked.text or "")
    none = await in_officials_chat(h, "/receptions 29.11.2026", day(date(2026, 11, 29)))
    session = await in_officials_chat(h, "/receptions 25.11.2026", "10:00")
    call_off = await officials_press(h, session, "❌", day(date(2026, 11, 25)))

    # The waiting list of a full day.
    await fill_session(h, date(2026, 12, 2))
    waiting = await join_waitlist(h, CITIZEN, lang, date(2026, 12, 2))
    assert day(date(2026, 12, 2)) in (waiting.text or "")

    check_house_rules(h, lang)
    if lang == "ru":
        # The four sentences that used to end with the date now read like this.
        assert "продлён.\nНовый срок: 15 января 2027\u00a0г.\nПричина" in (extended.text or "")
        assert none.text == "На 29 ноября 2026\u00a0г. приёмов нет."
        assert "(не позднее 23 января 2027\u00a0г.). Ответьте" in (refused.text or "")
        assert "на 2 декабря 2026\u00a0г. — если место" in (waiting.text or "")
    else:
        assert "ұзартылды.\nЖаңа мерзім: 2027\u00a0ж. 15 қаңтар\nСебебі" in (extended.text or "")
        assert f"{day(date(2026, 11, 25))} күнгі «" in (call_off.text or "")  # review #18


async def test_the_citizen_reads_the_reviewed_wording(bot_in: tuple[Harness, str]) -> None:
    h, lang = bot_in
    words = WORDING[lang]
    since = h.fake.mark()
    await onboard(h, CITIZEN, lang)
    assert any(words["greeting"] in t for t in h.texts_to(CITIZEN, since))
    await h.say(CITIZEN, "/help", lang=lang, expect=words["help"])

    # The appeal's review card, then /cancel.
    review = await reach_appeal_review(h, CITIZEN, lang)
    assert words["edit_button"] in [label for label, _ in h.fake.buttons(review)]
    await h.say(CITIZEN, "/cancel", lang=lang, expect=words["cancelled_draft"])

    # A booking with someone accompanying: typed text at a button step, the full weekday
    # on the day buttons, the needs on the review, the reminder note.
    receptions = await h.say(CITIZEN, "/book", lang=lang)
    await h.say(CITIZEN, "10:00", lang=lang, expect=words["press_a_button"])
    days = await h.press(CITIZEN, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    assert h.fake.buttons(days)[0][0].startswith(words["day_button"])
    slots = await h.press(CITIZEN, days, h.fake.buttons(days)[0][1] or "", lang=lang)
    question = await h.press(CITIZEN, slots, h.fake.buttons(slots)[0][1] or "", lang=lang)
    assert "1000" in (question.text or "")
    access = await h.say(CITIZEN, QUESTION[lang], lang=lang)
    since = h.fake.mark()
    h.fake.press(CITIZEN, access, h.fake.find_button(access, "👥"), language_code=lang)
    await h.reply(CITIZEN, since, method="editMessageReplyMarkup")
    await h.click(CITIZEN, access, "➡️", lang=lang)
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, "+7 701 111 22 33", language_code=lang)
    booking_review = await h.with_button(CITIZEN, since, "✅")
    assert words["access"] in (booking_review.text or "")
    booked = await h.confirm(CITIZEN, booking_review, "✅", lang=lang)
    assert words["reminders"] in (booked.text or "")

    # The officials see who comes and what to prepare; the citizen cancels from /my.
    await in_officials_chat(h, "/receptions 25.11.2026", words["companion"])
    mine = await h.say(CITIZEN, "/my", lang=lang, expect="🗓")
    question = await h.click(CITIZEN, mine, "✖️", lang=lang, method="editMessageText")
    await h.click(
        CITIZEN, question, "✅", lang=lang, method="editMessageText",
        expect=words["booking_cancelled"],
    )  # fmt: skip

    # The same time again, but two citizens take its places while this one reviews.
    service = h.app.dp["bookings"]
    reception = service.receptions.get("deputy_akim")
    receptions = await h.say(CITIZEN, "/book", lang=lang)
    days = await h.press(CITIZEN, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    slots = await h.press(CITIZEN, days, h.fake.buttons(days)[0][1] or "", lang=lang)
    await h.press(CITIZEN, slots, h.fake.buttons(slots)[0][1] or "", lang=lang)
    access = await h.say(CITIZEN, QUESTION[lang], lang=lang)
    await h.click(CITIZEN, access, "➡️", lang=lang)
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, "+7 701 111 22 33", language_code=lang)
    booking_review = await h.with_button(CITIZEN, since, "✅")
    first_slot = service.planner.slots(reception, date(2026, 11, 25))[0].start
    for other in (7001, 7002):
        taken = await service.book(other, "ru", {
            "draft_key": f"race-{other}", "reception": "deputy_akim",
            "slot": first_slot.isoformat(), "topic": "тот же час", "contact_phone": "+77010000000",
        })  # fmt: skip
        assert taken.booking is not None
    since = h.fake.mark()
    alert = await h.alert(CITIZEN, booking_review, h.fake.find_button(booking_review, "✅"))
    assert alert == words["taken"]
    days_again = await h.fake.wait_for(  # what is still free, offered again
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == CITIZEN
            and any((data or "").startswith("bk:day:") for _, data in h.fake.buttons(c))
        ),
        since=since,
    )
    await h.click(CITIZEN, days_again, "✖️", lang=lang, expect=words["booking_dropped"])

    # The waiting list: a freed place is offered and held for a while, then no longer.
    booked_ids = await fill_session(h, date(2026, 12, 2))
    await join_waitlist(h, CITIZEN, lang, date(2026, 12, 2))
    since = h.fake.mark()
    first = await service.store.get(booked_ids[0])
    await service.cancel(first.id, first.citizen_id)
    h.app.outbox.wakeup.set()
    offer = await h.reply(CITIZEN, since, expect="🎉")
    assert re.search(re.escape(words["offer"]) + r"\d\d:\d\d\.", offer.text or "")
    h.clock.at += reception_hold(service)
    await service.tick(h.clock())
    alert = await h.alert(CITIZEN, offer, h.fake.find_button(offer, "✅"))
    assert alert == words["offer_gone"]
    check_house_rules(h, lang)


async def test_the_officials_read_the_reviewed_wording(bot_in: tuple[Harness, str]) -> None:
    h, lang = bot_in
    words = WORDING[lang]
    await onboard(h, CITIZEN, lang)
    await file_appeal(h, CITIZEN, lang)
    card = await card_of(h, "2026-00001")

    extend = await open_prompt(h, card, "⏳")
    assert words["extend_prompt"] in (extend.text or "")
    answer = await open_prompt(h, card, "✍️")
    assert words["answer_prompt"] in (answer.text or "")

    picker = await officials_press(h, card, "↪️", "employment")
    dropped = await officials_press(h, picker, "✖️")
    assert dropped.params.get("text") == words["drop"]
    picker = await officials_press(h, card, "↪️", "employment")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.buttons(picker)[0][1] or "", first_name="Official")
    await h.reply(CITIZEN, since, expect=words["forwarded"])

    session = await in_officials_chat(h, "/receptions 25.11.2026", "10:00")
    call_off = await officials_press(h, session, "❌", words["call_off"])
    assert long_date(date(2026, 11, 25), lang) in (call_off.text or "")

    scope = {"type": "all_private_chats"}
    cancel = {c["command"]: c["description"] for c in h.fake.commands(scope, lang)}["cancel"]
    assert cancel == words["cancel_command"]
    check_house_rules(h, lang)
