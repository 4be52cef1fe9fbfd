"""One dialog at a time (#10 item 5), over HTTP in both languages: /book or 🗓 in the middle of
an appeal, /new or 📝 in the middle of a booking, get «finish or cancel the current one first»
with continue / cancel-and-go, never "unknown command" and never taken for the step's input;
/cancel in a booking says the booking draft was discarded; the greeting and /help list every
kind of appeal, and /book when there are receptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from tests.conftest import FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard
from tests.test_e2e_bad_input import fsm, handled, texts_since

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Texts:
    """What the bot says, as in i18n/locales/*/LC_MESSAGES/bot.po."""

    kinds: tuple[str, ...]
    kinds_in_greeting: str
    region_prompt: str
    receptions_prompt: str
    question_prompt: str
    menu_new: str
    menu_book: str
    busy_appeal: str
    busy_booking: str
    continue_appeal: str
    continue_booking: str
    cancel_and_book: str
    cancel_and_file: str
    unfinished_appeal: str
    unfinished_booking: str
    appeal_discarded: str
    booking_discarded: str
    booking_cancelled: str
    unknown_command: str
    stale: str
    no_receptions: str
    help_book: str


RU = Texts(
    kinds=("Заявление", "Жалоба", "Предложение", "Запрос информации"),
    kinds_in_greeting="Виды обращений: заявление, жалоба, предложение, запрос информации.",
    region_prompt="Выберите область",
    receptions_prompt="<b>Запись на приём.</b>",
    question_prompt="Кратко: какой у вас вопрос?",
    menu_new="📝 Новое обращение",
    menu_book="🗓 Записаться на приём",
    busy_appeal="Вы сейчас заполняете обращение. Сначала завершите его или отмените.",
    busy_booking="Вы сейчас записываетесь на приём. Сначала завершите запись или отмените её.",
    continue_appeal="▶️ Продолжить обращение",
    continue_booking="▶️ Продолжить запись",
    cancel_and_book="✖️ Отменить его и записаться на приём",
    cancel_and_file="✖️ Отменить её и подать обращение",
    unfinished_appeal="У вас есть незаконченное обращение, давайте продолжим.",
    unfinished_booking="У вас есть незавершённая запись, продолжим.",
    appeal_discarded="Черновик обращения удалён, ничего не отправлено.",
    booking_discarded="Черновик записи удалён, ничего не сохранено.",
    booking_cancelled=(
        "Отменено. Черновик записи удалён, ничего не сохранено. Начать заново — /book."
    ),
    unknown_command="Неизвестная команда",
    stale="Эта кнопка больше не действует.",
    no_receptions="Сейчас приёмы не запланированы.",
    help_book="/book — записаться на личный приём",
)
KK = Texts(
    kinds=("Арыз", "Шағым", "Ұсыныс", "Сұрау салу"),
    kinds_in_greeting="Өтініш түрлері: арыз, шағым, ұсыныс, сұрау салу.",
    region_prompt="Облысты таңдаңыз",
    receptions_prompt="<b>Қабылдауға жазылу.</b>",
    question_prompt="Сұрағыңызды қысқаша жазыңыз",
    menu_new="📝 Жаңа өтініш",
    menu_book="🗓 Қабылдауға жазылу",
    busy_appeal="Сіз қазір өтініш толтырып жатырсыз. Алдымен оны аяқтаңыз немесе болдырмаңыз.",
    busy_booking=(
        "Сіз қазір қабылдауға жазылып жатырсыз. Алдымен жазылуды аяқтаңыз немесе болдырмаңыз."
    ),
    continue_appeal="▶️ Өтінішті жалғастыру",
    continue_booking="▶️ Жазылуды жалғастыру",
    cancel_and_book="✖️ Өтінішті болдырмау және қабылдауға жазылу",
    cancel_and_file="✖️ Жазылуды болдырмау және өтініш беру",
    unfinished_appeal="Сізде аяқталмаған өтініш бар, жалғастырайық.",
    unfinished_booking="Сізде аяқталмаған жазылу бар, жалғастырайық.",
    appeal_discarded="Өтініш жобасы жойылды, ештеңе жіберілген жоқ.",
    booking_discarded="Жазылу жобасы жойылды, ештеңе сақталған жоқ.",
    booking_cancelled=(
        "Болдырылмады. Жазылу жобасы жойылды, ештеңе сақталған жоқ. Қайта бастау үшін: /book."
    ),
    unknown_command="Белгісіз команда",
    stale="Бұл түйме енді жұмыс істемейді.",
    no_receptions="Қазір қабылдау жоспарланбаған.",
    help_book="/book — әкімдіктің лауазымды адамдарының жеке қабылдауына жазылу",
)
TEXTS = {"ru": RU, "kk": KK}


def labels(h: Harness, call: Call) -> list[str]:
    return [label for label, _ in h.fake.buttons(call)]


async def to_region_step(h: Harness, user: int, lang: str) -> None:
    """An appeal in progress at a step that takes typed text (a place name)."""
    t = TEXTS[lang]
    kinds = await h.say(user, "/new", lang=lang)
    categories = await h.click(user, kinds, t.kinds[1], lang=lang)
    category = h.fake.buttons(categories)[0][1] or ""
    await h.press(user, categories, category, lang=lang, expect=t.region_prompt)


async def to_question_step(h: Harness, user: int, lang: str) -> None:
    """A booking in progress at a step that takes typed text (the question)."""
    receptions = await h.say(user, "/book", lang=lang, expect=TEXTS[lang].receptions_prompt)
    days = await h.press(user, receptions, h.fake.buttons(receptions)[0][1] or "", lang=lang)
    slots = await h.press(user, days, h.fake.buttons(days)[0][1] or "", lang=lang)
    await h.press(user, slots, h.fake.buttons(slots)[0][1] or "", lang=lang)


async def alert(h: Harness, user: int, on: Call, label: str, lang: str) -> str:
    since = h.fake.mark()
    h.fake.press(user, on, h.fake.find_button(on, label), language_code=lang)
    call = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and h.fake.chat_of(c) == user, since=since
    )
    return str(call.params.get("text"))


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_one_dialog_at_a_time(harness: Harness, lang: str) -> None:
    h, t = harness, TEXTS[lang]
    user = 1501 if lang == "ru" else 1502
    await onboard(h, user, lang)
    await to_region_step(h, user, lang)
    draft = fsm(h, user)[1]["draft"]

    # /book in the middle of the appeal: not an unknown command, not a place to search for.
    since = h.fake.mark()
    first = await h.say(user, "/book", lang=lang, expect=t.busy_appeal)
    assert labels(h, first) == [t.continue_appeal, t.cancel_and_book]
    # … and the 🗓 menu button likewise.
    second = await h.say(user, t.menu_book, lang=lang, expect=t.busy_appeal)
    assert labels(h, second) == [t.continue_appeal, t.cancel_and_book]
    assert not [x for x in texts_since(h, user, since) if t.unknown_command in x or "«" in x]
    assert fsm(h, user) == ("AppealForm:region", {"draft": draft})

    # Continue: the appeal's step again, as it was.
    since = h.fake.mark()
    kept = await h.click(user, second, t.continue_appeal, lang=lang, method="editMessageText")
    assert kept.text == f"✔️ {t.continue_appeal}" and h.fake.buttons(kept) == []
    await h.reply(user, since, expect=t.unfinished_appeal)
    await h.reply(user, since, expect=t.region_prompt)
    assert fsm(h, user) == ("AppealForm:region", {"draft": draft})

    # Cancel it and book: the draft goes, the booking starts.
    since = h.fake.mark()
    gone = await h.click(user, first, t.cancel_and_book, lang=lang, method="editMessageText")
    assert gone.text == t.appeal_discarded
    await h.reply(user, since, expect=t.receptions_prompt)
    assert fsm(h, user)[0] == "BookingForm:reception"
    # The question asked about that appeal is over with it.
    assert await alert(h, user, second, t.continue_appeal, lang) == t.stale

    # /new and the 📝 button in the middle of a booking, at the step that takes typed text.
    await h.say(user, "/cancel", lang=lang, expect=t.booking_cancelled)
    await to_question_step(h, user, lang)
    booking = fsm(h, user)[1]["booking"]
    since = h.fake.mark()
    first = await h.say(user, "/new", lang=lang, expect=t.busy_booking)
    assert labels(h, first) == [t.continue_booking, t.cancel_and_file]
    second = await h.say(user, t.menu_new, lang=lang, expect=t.busy_booking)
    assert labels(h, second) == [t.continue_booking, t.cancel_and_file]
    # Not taken for the question (which takes 10 characters or more, as the button has).
    assert fsm(h, user) == ("BookingForm:question", {"booking": booking})
    assert "topic" not in booking
    since = h.fake.mark()
    await h.click(user, first, t.continue_booking, lang=lang, method="editMessageText")
    await h.reply(user, since, expect=t.unfinished_booking)
    await h.reply(user, since, expect=t.question_prompt)
    since = h.fake.mark()
    gone = await h.click(user, second, t.cancel_and_file, lang=lang, method="editMessageText")
    assert gone.text == t.booking_discarded
    kinds = await h.reply(user, since)
    assert labels(h, kinds)[:4] == list(t.kinds)
    assert fsm(h, user)[0] == "AppealForm:kind"


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_cancel_in_a_booking_says_the_booking_draft_was_discarded(
    harness: Harness, lang: str
) -> None:
    h, t = harness, TEXTS[lang]
    user = 1503 if lang == "ru" else 1504
    await onboard(h, user, lang)
    await to_question_step(h, user, lang)
    since = h.fake.mark()
    update = h.fake.user_message(user, "/cancel", language_code=lang)
    await handled(h, update)
    [told] = texts_since(h, user, since)
    assert told == t.booking_cancelled and "/new" not in told
    assert fsm(h, user) == (None, {})


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_greeting_and_help_list_every_kind_and_book(harness: Harness, lang: str) -> None:
    h, t = harness, TEXTS[lang]
    user = 1505 if lang == "ru" else 1506
    since = h.fake.mark()
    await onboard(h, user, lang)
    greeting = next(x for x in texts_since(h, user, since) if t.kinds_in_greeting in x)
    assert "/book" in greeting
    help_text = await h.say(user, "/help", lang=lang)
    for kind in t.kinds:
        assert f"• <b>{kind}</b> — " in (help_text.text or "")
    assert t.help_book in (help_text.text or "")


@pytest.fixture
async def no_receptions(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """An akimat whose catalog has no receptions to book."""
    text = BUNDLED_CATALOG.read_text(encoding="utf-8").split("[[receptions]]")[0]
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(text, encoding="utf-8")
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


@pytest.mark.parametrize("lang", ["ru", "kk"])
async def test_without_receptions_book_is_not_offered(no_receptions: Harness, lang: str) -> None:
    h, t = no_receptions, TEXTS[lang]
    user = 1507 if lang == "ru" else 1508
    since = h.fake.mark()
    await onboard(h, user, lang)
    greeting = next(x for x in texts_since(h, user, since) if t.kinds_in_greeting in x)
    assert "/book" not in greeting
    help_text = await h.say(user, "/help", lang=lang)
    assert "/book" not in (help_text.text or "") and t.kinds[3] in (help_text.text or "")
    # /book in the middle of an appeal: nothing to book, and the appeal goes on.
    await to_region_step(h, user, lang)
    before = fsm(h, user)
    await h.say(user, "/book", lang=lang, expect=t.no_receptions)
    assert fsm(h, user) == before
