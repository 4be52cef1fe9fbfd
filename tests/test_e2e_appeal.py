"""A citizen files an appeal through the real bot over HTTP, in Russian and in Kazakh."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import OFFICIALS, Harness
from tests.e2edb import query, records
from tests.fakeapi import Call

pytestmark = pytest.mark.e2e

RU = 501
KK = 502
VALID_TEXT = "На улице Ленина 5 третью неделю не горят фонари, вечером темно и опасно."
NAME = "Иванов Иван Иванович"
POSTAL = "100000, г. Караганда, ул. Бухар жырау, 47, кв. 12"


def rows(harness: Harness, sql: str, *params: object) -> list[Any]:
    """Rows (read by column name) of the bot's database, whichever backend it runs on."""
    return records(harness.app.settings.database_url, sql, *params)


async def onboard(h: Harness, user: int, lang: str) -> None:
    """/start → choose the language → consent."""
    choose = await h.say(user, "/start", lang=lang, expect="Тілді таңдаңыз")
    # The proposed language (from Telegram's language_code) is offered first.
    first_button = h.fake.buttons(choose)[0][0]
    assert first_button == ("Қазақша" if lang == "kk" else "Русский")
    since = h.fake.mark()
    h.fake.press(user, choose, h.fake.find_button(choose, first_button), language_code=lang)
    consent = await h.with_button(user, since, "✅")
    since = h.fake.mark()
    h.fake.press(user, consent, h.fake.find_button(consent, "✅"), language_code=lang)
    await h.reply(user, since, method="editMessageText")


async def test_full_appeal_in_russian(harness: Harness) -> None:
    h = harness
    await onboard(h, RU, "ru")
    kinds = await h.say(RU, "/new", expect="")
    assert [b for b, _ in h.fake.buttons(kinds)][:4] == [
        "Заявление",
        "Жалоба",
        "Предложение",
        "Запрос информации",
    ]
    categories = await h.click(RU, kinds, "Жалоба")
    region_prompt = await h.click(RU, categories, "Уличное освещение")
    assert "Карагандинская область" in [b for b, _ in h.fake.buttons(region_prompt)] or any(
        "◀️" in b or "▶️" in b for b, _ in h.fake.buttons(region_prompt)
    )
    # A Kazakh name typed with Russian letters finds the region, then the district.
    # What was found and the next question come as one message, with the next buttons.
    since = h.fake.mark()
    districts = await h.say(RU, "караганды", expect="Карагандинская область")
    assert (districts.text or "").startswith("✔️ Карагандинская область\n\n")
    assert "Каркаралинский район" in [b for b, _ in h.fake.buttons(districts)]
    assert len(h.texts_to(RU, since)) == 1
    since = h.fake.mark()
    h.fake.user_message(RU, "Каркаралы")
    text_prompt = await h.reply(RU, since, expect="✔️ Каркаралинский район")
    assert "3500" in (text_prompt.text or "")

    # Bad input at the text step: the dialog stays where it was.
    sticker_reply = await h.say(
        RU,
        None,
        sticker={
            "file_id": "s1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    assert "10" in (sticker_reply.text or "")
    short = await h.say(RU, "темно")
    assert "10" in (short.text or "")
    too_long = await h.say(RU, "а" * 10_000)
    assert "10000" in (too_long.text or "") and "3500" in (too_long.text or "")

    files_prompt = await h.say(RU, VALID_TEXT)
    assert h.fake.buttons(files_prompt)  # skip / back / cancel
    since = h.fake.mark()
    h.fake.user_photo(RU, file_id="photo-A")
    await h.reply(RU, since, expect="1")
    since = h.fake.mark()
    h.fake.user_document(RU, file_id="doc-B", file_name="act.pdf")
    two = await h.reply(RU, since, expect="2")
    location_prompt = await h.click(RU, two, "✅")
    assert any("📍" in b for b, _ in h.fake.buttons(location_prompt))
    # Who is appealing: the Telegram name "Citizen" is one word, so nothing is offered to
    # confirm; the name is typed, and checked.
    name_prompt = await h.say(RU, None, location={"latitude": 49.4, "longitude": 75.47})
    assert "фамилия, имя и отчество" in (name_prompt.text or "")
    assert [b for b, _ in h.fake.buttons(name_prompt)] == ["⬅️ Назад", "✖️ Отмена"]
    one_word = await h.say(RU, "Иван")
    assert "два или три слова" in (one_word.text or "")
    initials = await h.say(RU, "Иванов И. И.")
    assert "только буквы" in (initials.text or "")
    contact_prompt = await h.say(RU, "  Иванов   Иван\tИванович ")
    assert any("📱" in b for b, _ in h.fake.buttons(contact_prompt))

    bad_phone = await h.say(RU, "12345")
    assert "+7 701 234 56 78" in (bad_phone.text or "")
    address_prompt = await h.say(RU, "8 (701) 234-56-78", expect="письменно")
    assert "Пропустить" in [b for b, _ in h.fake.buttons(address_prompt)]
    bad_email = await h.say(RU, "ivanov@mail")
    assert "name@mail.kz" in (bad_email.text or "")
    no = await h.say(RU, "нет")
    assert "слишком коротко" in (no.text or "")
    since = h.fake.mark()
    h.fake.user_message(RU, "ivanov.ivan@mail.kz")
    review = await h.reply(RU, since, expect="+7 701 234 56 78")
    assert VALID_TEXT in (review.text or "")
    assert "Каркаралинский район" in (review.text or "")
    assert f"ФИО: {NAME}" in (review.text or "")
    assert "Адрес для письменного ответа: ivanov.ivan@mail.kz" in (review.text or "")

    # Both are editable from the review: the address becomes a postal one, the name is kept
    # with «Correct».
    fields = await h.click(RU, review, "✏️", method="editMessageReplyMarkup")
    address_prompt = await h.click(RU, fields, "Адрес", expect="письменно")
    assert "Сейчас указано: <b>ivanov.ivan@mail.kz</b>" in (address_prompt.text or "")
    review = await h.say(RU, POSTAL, expect="Проверьте ваше обращение")
    assert f"Адрес для письменного ответа: {POSTAL}" in (review.text or "")
    fields = await h.click(RU, review, "✏️", method="editMessageReplyMarkup")
    name_prompt = await h.click(RU, fields, "ФИО", expect="фамилия, имя")
    assert f"Сейчас указано: <b>{NAME}</b>" in (name_prompt.text or "")
    assert "✅ Верно" in [b for b, _ in h.fake.buttons(name_prompt)]
    review = await h.say(RU, "✅ Верно", expect="Проверьте ваше обращение")
    assert f"ФИО: {NAME}" in (review.text or "") and POSTAL in (review.text or "")

    since = h.fake.mark()
    # The review card itself turns into the confirmation, and the main menu comes back.
    registered = await h.confirm(RU, review, "✅", expect="2026-00001")
    assert registered.params["message_id"] == review.result["message_id"]
    assert h.fake.buttons(registered) == []
    # Filed on Monday 23.11.2026 10:00: 20 working days for a complaint, skipping weekends and
    # Independence Day (16 December), end on 22 December.
    assert "22 декабря 2026" in (registered.text or "")
    menu = await h.reply(RU, since, expect="Вы вернулись в главное меню.")
    assert "📝 Новое обращение" in [b for b, _ in h.fake.buttons(menu)]

    # Pressing confirm again (a double tap, or an old message) files nothing new.
    alert = await h.alert(RU, review, h.fake.find_button(review, "✅"))
    assert "2026-00001" in alert
    [appeal] = rows(h, "SELECT * FROM appeals")
    assert appeal["kind"] == "complaint"
    assert appeal["category"] == "lighting"
    assert appeal["region"] == "350000000"
    assert appeal["district"] == "354800000"
    assert appeal["text"] == VALID_TEXT
    assert appeal["language"] == "ru"
    assert appeal["status"] == "registered"
    assert appeal["contact_phone"] == "+77012345678"
    assert appeal["contact_name"] == NAME
    assert (appeal["contact_address"], appeal["contact_address_kind"]) == (POSTAL, "postal")
    assert (appeal["latitude"], appeal["longitude"]) == (49.4, 75.47)
    assert appeal["due_at"].startswith("2026-12-22")
    files = rows(h, "SELECT kind, file_id FROM attachments ORDER BY id")
    assert [tuple(f) for f in files] == [("photo", "photo-A"), ("document", "doc-B")]
    history = rows(h, "SELECT new_status, actor FROM status_history")
    assert [tuple(r) for r in history] == [("registered", f"citizen:{RU}")]

    my = await h.say(RU, "/my", expect="2026-00001")
    assert "22 декабря 2026" in (my.text or "")
    assert "29" in (my.text or "")  # days left, counted in calendar days

    # The officials' card shows initials and that a written answer by post is wanted; the
    # name and the address themselves are behind «Show contact», like the phone.
    card = await officials_card(h, "2026-00001")
    assert "Заявитель: И. И." in (card.text or "")
    assert "Просит также письменный ответ: по почте" in (card.text or "")
    assert POSTAL not in (card.text or "") and "Иванович" not in (card.text or "")
    alert = await h.alert(900, card, h.fake.find_button(card, "👤"))
    assert alert == f"{NAME}\n+77012345678\n{POSTAL}"
    # /privacy says the address is kept too.
    await h.say(RU, "/privacy", expect="почтовый адрес для письменного ответа")


async def officials_card(h: Harness, reference: str) -> Call:
    return await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and not c.failed and h.fake.chat_of(c) == OFFICIALS
        and reference in (c.text or "")
    )  # fmt: skip


async def test_full_appeal_in_kazakh_with_shared_contact(harness: Harness) -> None:
    h = harness
    await onboard(h, KK, "kk")
    # The name in the citizen's Telegram profile is a full name: it is offered to confirm.
    kinds = await h.say(KK, "/new", lang="kk", first_name="Айгүл", last_name="Серікқызы")
    assert "Шағым" in [b for b, _ in h.fake.buttons(kinds)]
    categories = await h.click(KK, kinds, "Арыз", lang="kk")
    await h.click(KK, categories, "Жолдар", lang="kk")
    since = h.fake.mark()
    h.fake.user_message(KK, "астана", language_code="kk")
    districts = await h.with_button(KK, since, "Есіл ауданы")
    text_prompt = await h.click(KK, districts, "Есіл ауданы", lang="kk")
    assert "3500" in (text_prompt.text or "")
    files_prompt = await h.say(KK, "Көшеде жол бұзылған, көлік жүре алмайды.", lang="kk")
    skip_data = h.fake.buttons(files_prompt)[0][1]  # no file yet: the first button skips
    assert skip_data is not None
    location_prompt = await h.press(KK, files_prompt, skip_data, lang="kk")
    assert any("📍" in b for b, _ in h.fake.buttons(location_prompt))
    skip_label = h.fake.buttons(location_prompt)[1][0]
    name_prompt = await h.say(KK, skip_label, lang="kk", expect="тегіңіз, атыңыз")
    assert "Telegram-да Сіздің атыңыз: <b>Айгүл Серікқызы</b>" in (name_prompt.text or "")
    assert h.fake.buttons(name_prompt)[0][0] == "✅ Дұрыс"
    emoji = await h.say(KK, "🌸 Айгүл 🌸", lang="kk")
    assert "Тек әріптерді" in (emoji.text or "")
    contact_prompt = await h.say(KK, "✅ Дұрыс", lang="kk")
    assert any("📱" in b for b, _ in h.fake.buttons(contact_prompt))
    since = h.fake.mark()
    h.fake.user_contact(KK, "77071112233", first_name="Aika", last_name=None, language_code="kk")
    address_prompt = await h.reply(KK, since, expect="жазбаша")
    assert "Өткізіп жіберу" in [b for b, _ in h.fake.buttons(address_prompt)]
    too_short = await h.say(KK, "жоқ", lang="kk")
    assert "тым қысқа" in (too_short.text or "")
    address = "Қарағанды қ., Бұқар жырау даңғылы, 47-үй, 12-пәтер"
    since = h.fake.mark()
    h.fake.user_message(KK, address, language_code="kk")
    review = await h.reply(KK, since, expect="+7 707 111 22 33")
    # The name from Telegram as confirmed, not the shared contact's.
    assert "Аты-жөні: Айгүл Серікқызы" in (review.text or "")
    assert f"Жазбаша жауапқа арналған мекенжай: {address}" in (review.text or "")
    # Back from the review to the address: «Skip» now removes it.
    since = h.fake.mark()
    h.fake.press(KK, review, h.fake.find_button(review, "⬅️"), language_code="kk")
    address_prompt = await h.reply(KK, since, expect="жазбаша")
    assert f"Қазір көрсетілгені: <b>{address}</b>" in (address_prompt.text or "")
    review = await h.say(KK, "Өткізіп жіберу", lang="kk", expect="Өтінішіңізді тексеріңіз")
    assert "Жазбаша жауапқа арналған мекенжай: қажет емес" in (review.text or "")
    registered = await h.confirm(KK, review, "✅", lang="kk", expect="2026-00001")
    # 15 working days from Monday 23.11.2026, 16 December being a holiday: 14 December.
    assert "14 желтоқсан" in (registered.text or "")
    [appeal] = rows(h, "SELECT * FROM appeals")
    assert appeal["language"] == "kk"
    assert appeal["contact_name"] == "Айгүл Серікқызы"
    assert appeal["contact_address"] is None and appeal["contact_address_kind"] is None
    await h.say(KK, "/privacy", lang="kk", expect="пошта мекенжайын көрсетсеңіз")
    assert appeal["latitude"] is None
    [citizen] = rows(h, "SELECT language, consent_at FROM citizens WHERE id = ?", KK)
    assert citizen["language"] == "kk" and citizen["consent_at"]


async def reach_review(h: Harness, user: int) -> Call:
    """A Russian-speaking citizen with consent, up to the review card (quickest path)."""
    await onboard(h, user, "ru")
    kinds = await h.say(user, "/new")
    categories = await h.click(user, kinds, "Заявление")
    await h.click(user, categories, "Другое")
    await h.say(user, "Шымкент", expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(user, "Каратау")
    await h.reply(user, since, expect="3500")
    files = await h.say(user, VALID_TEXT)
    skip = h.fake.buttons(files)[0][1]
    assert skip is not None
    location = await h.press(user, files, skip)
    await h.say(user, h.fake.buttons(location)[1][0], expect="фамилия, имя")
    return await name_phone_address(h, user, "+77015556677")


async def name_phone_address(
    h: Harness, user: int, phone: str, name: str = NAME, address: str = "Пропустить"
) -> Call:
    """From the name prompt (Russian): the name, the phone, the address or «Skip»; returns
    the review card."""
    await h.say(user, name, expect="номер телефона")
    await h.say(user, phone, expect="письменно")
    since = h.fake.mark()
    h.fake.user_message(user, address)
    return await h.with_button(user, since, "✅")


async def who_and_how(
    h: Harness, user: int, lang: str, phone: str = "+77015556677", name: str = NAME
) -> Call:
    """From the name prompt, in either language: the name, the phone, and «Skip» for the
    address (pressed by its label on the keyboard); returns the review card."""
    await h.say(user, name, lang=lang)
    address = await h.say(user, phone, lang=lang)
    skip = h.fake.buttons(address)[0][0]
    since = h.fake.mark()
    h.fake.user_message(user, skip, language_code=lang)
    return await h.with_button(user, since, "✅")


async def test_double_tap_on_confirm_files_one_appeal(harness: Harness) -> None:
    h = harness
    user = 503
    review = await reach_review(h, user)
    data = h.fake.find_button(review, "✅")
    since = h.fake.mark()
    # Both presses are in Telegram's queue before the bot sees either.
    h.fake.press(user, review, data)
    h.fake.press(user, review, data)
    await h.reply(user, since, expect="2026-00001", method="editMessageText")
    alert = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and "2026-00001" in str(c.params.get("text")),
        since=since,
    )
    assert alert.params.get("show_alert") is True
    await h.reply(user, since, expect="главное меню")
    await h.app.sender.drain()
    assert len(rows(h, "SELECT id FROM appeals")) == 1
    # The card shows the number; no message repeats it, and the menu came once.
    assert [t for t in h.texts_to(user, since) if "2026-00001" in t] == []
    assert len([t for t in h.texts_to(user, since) if "главное меню" in t]) == 1


async def test_a_draft_from_before_the_name_step_asks_for_the_name(harness: Harness) -> None:
    """A citizen at the review when the name step was deployed: confirm asks for the name,
    then shows the review again, and the appeal is filed with it."""
    h = harness
    user = 504
    review = await reach_review(h, user)
    database = h.app.settings.database_url
    [(data,)] = query(database, "SELECT data FROM fsm WHERE user_id = ?", user)
    old = json.loads(data)
    del old["draft"]["contact_name"], old["draft"]["profile_name"]
    query(database, "UPDATE fsm SET data = ? WHERE user_id = ?", json.dumps(old), user)
    await h.restart()  # the FSM row is read afresh
    since = h.fake.mark()
    h.fake.press(user, review, h.fake.find_button(review, "✅"))
    await h.reply(user, since, expect="фамилия, имя и отчество")
    review = await h.say(user, "Серікова Айгүл", expect="Проверьте ваше обращение")
    await h.confirm(user, review, expect="2026-00001")
    [appeal] = rows(h, "SELECT contact_name FROM appeals")
    assert appeal["contact_name"] == "Серікова Айгүл"
