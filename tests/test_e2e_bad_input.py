"""A citizen gives bad input: a short translated answer, and the dialog stays where it was."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.telegram.callbacks import MyCb
from tests.conftest import Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import VALID_TEXT, onboard, rows

pytestmark = pytest.mark.e2e

A = 601
B = 602

# The Russian (and Kazakh) texts the bot sends, as in i18n/locales/*/LC_MESSAGES/bot.po.
UNKNOWN_COMMAND = "Неизвестная команда. Что я умею, покажет /help."
CHOOSE_BUTTON = "Пожалуйста, выберите одну из кнопок."
STALE_BUTTON = "Эта кнопка больше не действует."
NOT_FOUND = "Обращение не найдено."
SORRY = "Извините, у нас что-то пошло не так"
TOO_SHORT = "Слишком коротко. Пожалуйста, опишите проблему подробнее: не менее 10 символов."
IN_WORDS = "Пожалуйста, опишите проблему словами, текстовым сообщением (не менее 10 символов)."
AT_MOST_5 = "Больше файлов прикрепить нельзя: максимум 5. Чтобы продолжить, нажмите «Готово»."
USE_MENU = "Пожалуйста, пользуйтесь кнопками меню ниже."
DECLINED = "Понятно. Без согласия мы не можем принять обращение, но /help и /privacy вам доступны."
CANCELLED = "Отменено. Черновик удалён, ничего не отправлено. Начать заново — /new."
NOTHING_TO_CANCEL = "Отменять нечего."
CONSENT = "<b>Я даю согласие на сбор и обработку моих персональных данных.</b>"
HELP_RU = "<b>Что я умею</b>"
HELP_KK = "<b>Мен не істей аламын</b>"
LANG_DONE_KK = "Дайын. Енді осы тілде сөйлесемін."
KIND_PROMPT = "<b>Новое обращение.</b> Какой это вид обращения?"
CATEGORY_PROMPT = "О чём обращение? Выберите категорию."
REGION_PROMPT = "Выберите область или введите часть её названия."
DISTRICT_PROMPT = "Выберите район или город либо введите часть названия."
TEXT_PROMPT = "Опишите проблему: что случилось, где именно (улица, дом), с какого времени."
FILES_PROMPT = "Можно прикрепить до 5 фото или документов"
LOCATION_PROMPT = "Отправьте геолокацию места проблемы"
NAME_PROMPT = "фамилия, имя и отчество (если есть)"
ADDRESS_PROMPT = "Если вы хотите получить его и письменно"
CHECK = "<b>Проверьте ваше обращение</b>"
BACK_TO_MENU = "Вы вернулись в главное меню."
OTHER_TEXT = "Во дворе дома 12 по улице Абая неделю не вывозят мусор, контейнеры переполнены."


# --- helpers ---------------------------------------------------------------------------


query = rows


def fsm(h: Harness, user: int) -> tuple[str | None, dict[str, Any]]:
    """(state, data) of the citizen's private chat; (None, {}) when there is no row."""
    found = query(h, "SELECT state, data FROM fsm WHERE user_id = ?", user)
    if not found:
        return None, {}
    [row] = found
    return row["state"], json.loads(row["data"] or "{}")


def messages_since(h: Harness, user: int, since: int) -> list[Call]:
    return [
        c
        for c in h.fake.calls[since:]
        if c.method == "sendMessage" and h.fake.chat_of(c) == user and not c.failed
    ]


def texts_since(h: Harness, user: int, since: int) -> list[str]:
    return [c.text or "" for c in messages_since(h, user, since)]


def labels(h: Harness, call: Call) -> list[str]:
    return [label for label, _ in h.fake.buttons(call)]


def assert_no_error(h: Harness, user: int, since: int = 0) -> None:
    assert not [t for t in texts_since(h, user, since) if SORRY in t], h.fake.dump(20)


async def new_dialog(h: Harness, user: int) -> Call:
    """Onboarded citizen, /new: the kind screen."""
    await onboard(h, user, "ru")
    return await h.say(user, "/new", expect=KIND_PROMPT)


async def to_category(h: Harness, user: int) -> tuple[Call, Call]:
    kinds = await new_dialog(h, user)
    categories = await h.click(user, kinds, "Жалоба", expect=CATEGORY_PROMPT)
    return kinds, categories


async def to_text_step(h: Harness, user: int) -> Call:
    """Complaint about street lighting in Karkaraly district: the text prompt."""
    _kinds, categories = await to_category(h, user)
    await h.click(user, categories, "Уличное освещение", expect=REGION_PROMPT)
    await h.say(user, "караганды", expect=DISTRICT_PROMPT)
    return await h.say(user, "Каркаралы", expect=TEXT_PROMPT)


async def text_to_review(h: Harness, user: int, text: str = VALID_TEXT) -> Call:
    """From the text step: text, no files, no location, a typed name and phone, no address:
    the review."""
    files = await h.say(user, text, expect=FILES_PROMPT)
    await h.click(user, files, "Пропустить", expect=LOCATION_PROMPT)
    await h.say(user, "Пропустить", expect=NAME_PROMPT)
    await h.say(user, "Иванов Иван", expect="+7 701 234 56 78")
    await h.say(user, "+7 701 234 56 78", expect=ADDRESS_PROMPT)
    return await h.say(user, "Пропустить", expect=CHECK)


async def file_appeal(h: Harness, user: int, text: str = VALID_TEXT) -> str:
    await to_text_step(h, user)
    review = await text_to_review(h, user, text)
    registered = await h.confirm(user, review, "Подтвердить", expect="Регистрационный номер")
    [appeal] = query(h, "SELECT reference FROM appeals WHERE citizen_id = ?", user)
    assert appeal["reference"] in (registered.text or "")
    return str(appeal["reference"])


async def alert_on(h: Harness, user: int, on: Call, data: str) -> str:
    """Press `data` under `on`, let the bot finish, and return the alert shown to `user`."""
    since = h.fake.mark()
    update = h.fake.press(user, on, data)
    call = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and h.fake.chat_of(c) == user, since=since
    )
    await handled(h, update)
    assert call.params.get("show_alert") is True, call
    return str(call.params.get("text"))


async def until(h: Harness, condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{h.fake.dump(20)}")
        await asyncio.sleep(0.02)


def is_handled(h: Harness, *updates: dict[str, Any]) -> bool:
    """The bot records each update it has finished (a failed one is not recorded)."""
    wanted = {u["update_id"] for u in updates}
    marks = ",".join("?" * len(wanted))
    sql = f"SELECT update_id FROM processed_updates WHERE update_id IN ({marks})"
    return {r["update_id"] for r in query(h, sql, *wanted)} == wanted


async def handled(h: Harness, *updates: dict[str, Any]) -> None:
    await until(h, lambda: is_handled(h, *updates), "the updates to be handled")


async def settled(h: Harness, user: int, since: int, *updates: dict[str, Any]) -> None:
    """The updates were handled, or failed and the citizen was told so."""

    def done() -> bool:
        failed = any(SORRY in t for t in texts_since(h, user, since))
        return failed or is_handled(h, *updates)

    await until(h, done, "the updates to be handled or to fail")


def deliveries(h: Harness, update: dict[str, Any]) -> int:
    """How many times the bot has fetched this update."""
    return sum(
        1
        for c in h.fake.calls
        if c.method == "getUpdates"
        and isinstance(c.result, list)
        and any(u.get("update_id") == update["update_id"] for u in c.result)
    )


# --- 1. unknown commands ---------------------------------------------------------------


async def test_unknown_command_outside_a_dialog(harness: Harness) -> None:
    h = harness
    await onboard(h, A, "ru")
    before = fsm(h, A)
    answer = await h.say(A, "/foo")
    assert answer.text == UNKNOWN_COMMAND
    assert fsm(h, A) == before
    assert fsm(h, A)[0] is None
    await h.say(A, "/help", expect=HELP_RU)


async def test_unknown_command_at_the_text_step_keeps_the_step(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    state_before, data_before = fsm(h, A)
    since = h.fake.mark()
    update = h.fake.user_message(A, "/foo")
    await handled(h, update)
    assert texts_since(h, A, since) == [UNKNOWN_COMMAND]
    assert fsm(h, A) == (state_before, data_before)
    assert state_before == "AppealForm:text" and "text" not in data_before["draft"]
    # The dialog goes on from the same step.
    await h.say(A, VALID_TEXT, expect=FILES_PROMPT)
    assert fsm(h, A)[0] == "AppealForm:attachments"


@pytest.mark.parametrize("step", ["region", "name", "contact", "address"])
async def test_unknown_command_at_other_typed_steps(harness: Harness, step: str) -> None:
    h = harness
    if step == "region":
        _kinds, categories = await to_category(h, A)
        await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)
    else:
        await to_text_step(h, A)
        files = await h.say(A, VALID_TEXT, expect=FILES_PROMPT)
        await h.click(A, files, "Пропустить", expect=LOCATION_PROMPT)
        await h.say(A, "Пропустить", expect=NAME_PROMPT)
    if step in ("contact", "address"):
        await h.say(A, "Иванов Иван", expect="+7 701 234 56 78")
    if step == "address":
        await h.say(A, "+7 701 234 56 78", expect=ADDRESS_PROMPT)
    since = h.fake.mark()
    update = h.fake.user_message(A, "/foo")
    await handled(h, update)
    assert texts_since(h, A, since) == [UNKNOWN_COMMAND]
    assert fsm(h, A)[0] == f"AppealForm:{step}"


# --- 2. text where a button is expected ------------------------------------------------


async def test_text_at_kind_and_category_steps_shows_the_buttons_again(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, A)
    since = h.fake.mark()
    h.fake.user_message(A, "жалоба")
    again = await h.reply(A, since, expect=KIND_PROMPT)
    assert texts_since(h, A, since) == [CHOOSE_BUTTON, again.text]
    assert labels(h, again) == labels(h, kinds)
    assert fsm(h, A)[0] == "AppealForm:kind"

    categories = await h.click(A, again, "Жалоба", expect=CATEGORY_PROMPT)
    since = h.fake.mark()
    h.fake.user_message(A, "освещение")
    again = await h.reply(A, since, expect=CATEGORY_PROMPT)
    assert texts_since(h, A, since) == [CHOOSE_BUTTON, CATEGORY_PROMPT]
    assert labels(h, again) == labels(h, categories)
    assert "Уличное освещение" in labels(h, again)
    state, data = fsm(h, A)
    assert state == "AppealForm:category"
    assert data["draft"]["kind"] == "complaint" and "category" not in data["draft"]
    await h.click(A, again, "Уличное освещение", expect=REGION_PROMPT)
    assert fsm(h, A)[0] == "AppealForm:region"


# --- 3. buttons from an older message --------------------------------------------------


async def test_button_of_an_earlier_step_is_stale(harness: Harness) -> None:
    h = harness
    kinds, categories = await to_category(h, A)
    since = h.fake.mark()
    assert await alert_on(h, A, kinds, h.fake.find_button(kinds, "Предложение")) == STALE_BUTTON
    # The kind message's Back button belongs to the kind step, not to the current one.
    assert await alert_on(h, A, kinds, h.fake.find_button(kinds, "⬅️")) == STALE_BUTTON
    assert texts_since(h, A, since) == []
    state, data = fsm(h, A)
    assert state == "AppealForm:category"
    assert data["draft"]["kind"] == "complaint"
    await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)


async def test_back_on_an_earlier_prompt_is_stale(harness: Harness) -> None:
    h = harness
    text_prompt = await to_text_step(h, A)
    files = await h.say(A, VALID_TEXT, expect=FILES_PROMPT)
    # The text prompt keeps its Back button; the citizen is at the attachments step now.
    since = h.fake.mark()
    assert await alert_on(h, A, text_prompt, h.fake.find_button(text_prompt, "⬅️")) == STALE_BUTTON
    assert texts_since(h, A, since) == []
    state, data = fsm(h, A)
    assert state == "AppealForm:attachments" and data["draft"]["text"] == VALID_TEXT
    await h.click(A, files, "Пропустить", expect=LOCATION_PROMPT)


async def test_cancel_button_of_a_filed_appeal_is_stale(harness: Harness) -> None:
    h = harness
    old_prompt = await to_text_step(h, A)
    review = await text_to_review(h, A)
    await h.confirm(A, review, "Подтвердить", expect="Регистрационный номер")
    kinds = await h.say(A, "/new", expect=KIND_PROMPT)
    categories = await h.click(A, kinds, "Жалоба", expect=CATEGORY_PROMPT)
    since = h.fake.mark()
    update = h.fake.press(A, old_prompt, h.fake.find_button(old_prompt, "✖️"))
    await settled(h, A, since, update)
    assert texts_since(h, A, since) == []
    state, data = fsm(h, A)
    assert state == "AppealForm:category" and data["draft"]["kind"] == "complaint"
    await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)


# --- 4. callback data that does not parse ----------------------------------------------


FORGED = (
    "garbage",
    "w",
    "w:kind",  # a part missing
    "w:kind:complaint:extra",  # a part too many
    "w:kind:no-such-kind",
    "w:cat:lighting",  # a real category, but not at this step
    "my:view:notanumber",
    "my:view:",
    "my:page:x",
    "lang",
    "lang:xx",
    "consent:maybe:new",
    "",
)


async def test_unparsable_callback_data_gets_the_stale_alert(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, A)
    since = h.fake.mark()
    for data in FORGED:
        assert await alert_on(h, A, kinds, data) == STALE_BUTTON, data
    assert texts_since(h, A, since) == []
    assert fsm(h, A)[0] == "AppealForm:kind"
    # Outside a dialog as well.
    await h.click(A, kinds, "⬅️", expect=BACK_TO_MENU)
    helped = await h.say(A, "/help", expect=HELP_RU)
    for data in FORGED:
        assert await alert_on(h, A, helped, data) == STALE_BUTTON, data
    assert_no_error(h, A)
    # The bot still works.
    await h.say(A, "/new", expect=KIND_PROMPT)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            "my:view:99999999999999999999",
            id="my-view-huge-id",
        ),
        pytest.param(
            "w:page:region.²",
            id="page-superscript-digit",
        ),
    ],
)
async def test_out_of_range_callback_data_gets_an_alert(harness: Harness, data: str) -> None:
    h = harness
    _kinds, categories = await to_category(h, A)
    regions = await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)
    since = h.fake.mark()
    update = h.fake.press(A, regions, data)
    await settled(h, A, since, update)
    assert_no_error(h, A, since)
    [answer] = [c for c in h.fake.calls[since:] if c.method == "answerCallbackQuery"]
    assert answer.params.get("text") in (STALE_BUTTON, NOT_FOUND)
    assert fsm(h, A)[0] == "AppealForm:region"


async def test_page_counter_button_is_harmless(harness: Harness) -> None:
    h = harness
    _kinds, categories = await to_category(h, A)
    regions = await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)
    since = h.fake.mark()
    update = h.fake.press(A, regions, h.fake.find_button(regions, "1/"))
    await settled(h, A, since, update)
    assert_no_error(h, A, since)
    assert fsm(h, A)[0] == "AppealForm:region"
    await h.click(A, regions, "Карагандинская", expect=DISTRICT_PROMPT)


async def test_double_tap_on_edit_is_harmless(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    review = await text_to_review(h, A)
    since = h.fake.mark()
    edit = h.fake.find_button(review, "✏️")
    first = h.fake.press(A, review, edit)
    second = h.fake.press(A, review, edit)
    await settled(h, A, since, first, second)
    assert_no_error(h, A, since)
    assert fsm(h, A)[0] == "AppealForm:review"


# --- 5. someone else's appeal -----------------------------------------------------------


async def test_forged_my_view_of_another_citizens_appeal(harness: Harness) -> None:
    h = harness
    reference = await file_appeal(h, A)
    [appeal] = query(h, "SELECT id FROM appeals")
    forged = MyCb(action="view", arg=appeal["id"]).pack()

    await onboard(h, B, "ru")
    mine = await h.say(B, "/my", expect="У вас пока нет обращений")
    since = h.fake.mark()
    assert await alert_on(h, B, mine, forged) == NOT_FOUND
    leaks = [c for c in h.fake.sent(B) if reference in str(c.params) or VALID_TEXT in str(c.params)]
    assert leaks == []
    assert texts_since(h, B, since) == []

    # The same button works for its owner: the forged data is a real one.
    listed = await h.say(A, "/my", expect=reference)
    await h.press(A, listed, forged, expect=VALID_TEXT)


# --- 6. albums --------------------------------------------------------------------------


async def test_album_at_the_text_step_gets_one_answer(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    album = [h.fake.user_photo(A, file_id=f"t{i}", media_group_id="album-text") for i in range(3)]
    await handled(h, *album)
    assert texts_since(h, A, since) == [IN_WORDS]
    state, data = fsm(h, A)
    assert state == "AppealForm:text"
    assert "text" not in data["draft"] and not data["draft"].get("attachments")
    await h.say(A, VALID_TEXT, expect=FILES_PROMPT)


async def test_album_of_seven_at_the_attachments_step_keeps_five(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    await h.say(A, VALID_TEXT, expect=FILES_PROMPT)
    since = h.fake.mark()
    album = [h.fake.user_photo(A, file_id=f"p{i}", media_group_id="album-7") for i in range(7)]
    await handled(h, *album)
    texts = texts_since(h, A, since)
    assert texts.count(AT_MOST_5) == 1
    assert texts[-1] == AT_MOST_5
    state, data = fsm(h, A)
    assert state == "AppealForm:attachments"
    kept = data["draft"]["attachments"]
    assert len(kept) == 5
    assert [a["file_id"] for a in kept] == [f"p{i}" for i in range(5)]
    # The dialog goes on: «Done» on the latest counter.
    five = [c for c in messages_since(h, A, since) if "Получено 5 файлов из 5" in (c.text or "")]
    await h.click(A, five[-1], "Готово", expect=LOCATION_PROMPT)


async def test_album_with_a_short_caption_gets_one_answer(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    album = [
        h.fake.user_photo(A, file_id="s0", caption="темно", media_group_id="album-short"),
        h.fake.user_photo(A, file_id="s1", media_group_id="album-short"),
        h.fake.user_photo(A, file_id="s2", media_group_id="album-short"),
    ]
    await handled(h, *album)
    assert texts_since(h, A, since) == [TOO_SHORT]
    assert fsm(h, A)[0] == "AppealForm:text"


# --- 7. voice and stickers --------------------------------------------------------------


async def test_voice_at_the_text_step(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    update = h.fake.user_voice(A)
    await handled(h, update)
    assert texts_since(h, A, since) == [IN_WORDS]
    assert fsm(h, A)[0] == "AppealForm:text"
    await h.say(A, VALID_TEXT, expect=FILES_PROMPT)


async def test_sticker_outside_a_dialog(harness: Harness) -> None:
    h = harness
    await onboard(h, A, "ru")
    since = h.fake.mark()
    update = h.fake.user_sticker(A)
    await handled(h, update)
    [answer] = messages_since(h, A, since)
    assert USE_MENU in (answer.text or "")
    assert "📝 Новое обращение" in labels(h, answer)
    assert fsm(h, A)[0] is None


# --- 8. consent declined ----------------------------------------------------------------


async def test_consent_declined_then_help_still_answers(harness: Harness) -> None:
    h = harness
    choose = await h.say(B, "/start", expect="Тілді таңдаңыз")
    await h.click(B, choose, "Русский", expect=CONSENT)  # greeting, then consent: not answered
    consent = await h.say(B, "/new", expect=CONSENT)
    since = h.fake.mark()
    h.fake.press(B, consent, h.fake.find_button(consent, "Нет, спасибо"))
    declined = await h.reply(B, since, expect=DECLINED, method="editMessageText")
    assert not h.fake.buttons(declined)
    assert fsm(h, B)[0] is None
    [citizen] = query(h, "SELECT language, consent_at FROM citizens WHERE id = ?", B)
    assert citizen["language"] == "ru" and citizen["consent_at"] is None
    await h.say(B, "/help", expect=HELP_RU)
    # /new asks again instead of starting the dialog.
    await h.say(B, "/new", expect=CONSENT)
    assert fsm(h, B)[0] is None


# --- 9. /cancel -------------------------------------------------------------------------


async def test_cancel_in_the_middle_of_the_dialog(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    answer = await h.say(A, "/cancel")
    assert answer.text == CANCELLED
    assert "📝 Новое обращение" in labels(h, answer)
    assert fsm(h, A) == (None, {})
    assert (await h.say(A, "/cancel")).text == NOTHING_TO_CANCEL
    # A new dialog starts from the beginning, not from the discarded draft.
    since = h.fake.mark()
    h.fake.user_message(A, "/new")
    await h.reply(A, since, expect=KIND_PROMPT)
    assert not [t for t in texts_since(h, A, since) if "незаконченное" in t]


async def test_cancel_without_a_dialog(harness: Harness) -> None:
    h = harness
    await onboard(h, A, "ru")
    answer = await h.say(A, "/cancel")
    assert answer.text == NOTHING_TO_CANCEL
    assert fsm(h, A)[0] is None


# --- 10. back and edit ------------------------------------------------------------------


async def test_back_from_the_first_step_returns_to_the_main_menu(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, A)
    since = h.fake.mark()
    h.fake.press(A, kinds, h.fake.find_button(kinds, "⬅️"))
    menu = await h.reply(A, since, expect=BACK_TO_MENU)
    assert "📝 Новое обращение" in labels(h, menu)
    assert fsm(h, A) == (None, {})
    # The kind screen was retired with the dialog.
    assert await alert_on(h, A, kinds, h.fake.find_button(kinds, "Жалоба")) == STALE_BUTTON


async def test_back_and_edit_then_one_appeal_with_the_final_choices(harness: Harness) -> None:
    h = harness
    kinds = await new_dialog(h, A)
    categories = await h.click(A, kinds, "Жалоба", expect=CATEGORY_PROMPT)
    # Back from the category to the kind; another kind this time.
    kinds = await h.click(A, categories, "⬅️", expect=KIND_PROMPT)
    assert fsm(h, A)[0] == "AppealForm:kind"
    categories = await h.click(A, kinds, "Предложение", expect=CATEGORY_PROMPT)
    await h.click(A, categories, "Уличное освещение", expect=REGION_PROMPT)
    await h.say(A, "караганды", expect=DISTRICT_PROMPT)
    text_prompt = await h.say(A, "Каркаралы", expect=TEXT_PROMPT)
    assert fsm(h, A)[1]["draft"]["district"] == "354800000"

    # Back from the text step: the district step of the same region.
    districts = await h.click(A, text_prompt, "⬅️", expect=DISTRICT_PROMPT)
    assert fsm(h, A)[0] == "AppealForm:district"
    label, data = next(
        (label, data)
        for label, data in h.fake.buttons(districts)
        if data and data.startswith("w:dist:") and "Каркаралин" not in label
    )
    other_district = data.removeprefix("w:dist:")
    await h.click(A, districts, label, expect=TEXT_PROMPT)
    review = await text_to_review(h, A, VALID_TEXT)
    assert label in (review.text or "")

    # Edit the text from the review.
    since = h.fake.mark()
    h.fake.press(A, review, h.fake.find_button(review, "✏️"))
    edit = await h.reply(A, since, method="editMessageReplyMarkup")
    assert {"Вид", "Категория", "Текст", "ФИО", "Телефон", "Адрес"} <= set(labels(h, edit))
    await h.click(A, edit, "Текст", expect=TEXT_PROMPT)
    assert fsm(h, A)[0] == "AppealForm:text"
    review = await h.say(A, OTHER_TEXT, expect=CHECK)
    assert OTHER_TEXT in (review.text or "") and VALID_TEXT not in (review.text or "")
    assert fsm(h, A)[0] == "AppealForm:review"

    await h.confirm(A, review, "Подтвердить", expect="Регистрационный номер")
    [appeal] = query(h, "SELECT * FROM appeals")
    assert appeal["kind"] == "proposal"
    assert appeal["category"] == "lighting"
    assert appeal["region"] == "350000000"
    assert appeal["district"] == other_district != "354800000"
    assert appeal["text"] == OTHER_TEXT
    assert appeal["contact_phone"] == "+77012345678"
    assert fsm(h, A) == (None, {})


# --- 11. the same update twice ----------------------------------------------------------


async def test_redelivered_update_is_not_handled_twice(harness: Harness) -> None:
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    update = h.fake.user_message(A, VALID_TEXT)
    await h.reply(A, since, expect=FILES_PROMPT)
    await handled(h, update)
    before = fsm(h, A)
    delivered = deliveries(h, update)
    since = h.fake.mark()
    h.fake.push_raw(update)
    # The bot did fetch it again...
    await until(h, lambda: deliveries(h, update) > delivered, "the update to be fetched again")
    await h.quiet(0.5)
    # ...and sent nothing for it.
    assert messages_since(h, A, since) == []
    assert fsm(h, A) == before
    assert before[0] == "AppealForm:attachments"


# --- 12. /lang --------------------------------------------------------------------------


async def test_lang_switches_an_existing_citizen_to_kazakh(harness: Harness) -> None:
    h = harness
    await onboard(h, A, "ru")
    await h.say(A, "/help", expect=HELP_RU)
    choose = await h.say(A, "/lang", expect="Тілді таңдаңыз")
    assert labels(h, choose)[0] == "Русский"  # the current language comes first
    await h.click(A, choose, "Қазақша", expect=LANG_DONE_KK)
    [citizen] = query(h, "SELECT language FROM citizens WHERE id = ?", A)
    assert citizen["language"] == "kk"
    # Telegram still says "ru": the chosen language wins.
    answer = await h.say(A, "/help", lang="ru")
    assert (answer.text or "").startswith(HELP_KK)


# Messages that look empty: zero-width spaces and joiners, direction marks, the blank Braille
# pattern, the Hangul filler, each with a couple of letters at most.
INVISIBLE = [
    "\u200b" * 30,
    "\u2800" * 12,
    "\u3164" * 12,
    "\u200e\u200f\u2066\u2069\ufeff\u00ad" * 4 + "ок",
]


@pytest.mark.parametrize("text", INVISIBLE, ids=["zwsp", "braille", "hangul", "marks"])
async def test_an_invisible_text_is_no_description(harness: Harness, text: str) -> None:
    """Ten characters that show nothing would register an appeal the officials cannot read
    (and count it against the day's five); the step says it is too short and stays."""
    h = harness
    await to_text_step(h, A)
    since = h.fake.mark()
    update = h.fake.user_message(A, text)
    await handled(h, update)
    assert texts_since(h, A, since) == [TOO_SHORT]
    assert fsm(h, A)[0] == "AppealForm:text"
    await h.say(A, VALID_TEXT, expect=FILES_PROMPT)


async def test_an_invisible_question_to_a_reception_is_asked_again(harness: Harness) -> None:
    h = harness
    await onboard(h, A, "ru")
    receptions = await h.say(A, "/book")
    days = await h.press(A, receptions, h.fake.buttons(receptions)[0][1] or "")
    slots = await h.press(A, days, h.fake.buttons(days)[0][1] or "")
    await h.press(A, slots, h.fake.buttons(slots)[0][1] or "", expect="1000")
    for text in INVISIBLE:
        since = h.fake.mark()
        update = h.fake.user_message(A, text)
        await handled(h, update)
        assert texts_since(h, A, since) == ["Пожалуйста, напишите от 10 до 1000 символов."]
    assert fsm(h, A)[0] == "BookingForm:question"
