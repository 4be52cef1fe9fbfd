"""What citizens and officials expect on day one (issue #10, items 2-4), driven over HTTP in
Kazakh and in Russian: a citizen withdraws an appeal or adds to it from /my, officials ask the
citizen a question from the card and read the answer under it, and a forwarded appeal tells
the citizen where it went and what that means for the deadline.

The officials' chat reads Russian (OFFICIALS_LANGUAGE's default) whatever the citizen speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import BUNDLED_CATALOG, load_catalog
from bot.services.lifecycle import AppealLifecycle
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, rows, who_and_how
from tests.test_e2e_officials import (
    OFFICIAL,
    card_of,
    group_alert,
    open_prompt,
    reply_to,
    send_preview,
)

pytestmark = pytest.mark.e2e
CITIZEN = 1001
LANGS = ["kk", "ru"]
TEXTS = {
    "kk": "Шымкент, Қаратау ауданы: аулада үш аптадан бері шам жанбайды, кешке қараңғы.",
    "ru": "Шымкент, Каратауский район: третью неделю во дворе не горит фонарь, вечером темно.",
}
# The citizen's side in each language, word for word from the catalogs.
SAY = {
    "kk": {
        "add": "➕ Өтінішті толықтыру",
        "withdraw": "↩️ Өтінішті кері қайтарып алу",
        "yes": "Иә, кері қайтарып алу",
        "no": "Жоқ, сақталсын",
        "sure": "№ {ref} өтінішті кері қайтарып аласыз ба?",
        "withdrawn": "↩️ № {ref} өтініш кері қайтарылып алынды.",
        "kept": "Ештеңе өзгерген жоқ: № {ref} өтініш кері қайтарылып алынбады.",
        "not_open": "№ {ref} өтініш енді қаралмайды: Кері қайтарылып алынды.",
        "adding": "➕ № {ref} өтінішті толықтыру.",
        "text_ok": "Мәтін қабылданды.",
        "files": "Қабылданған файлдар: {n} / 5",
        "added": "✅ № {ref} өтінішке толықтыру лауазымды адамдарға жіберілді.",
        "question": "❓ <b>№ {ref} өтінішіңіз бойынша сұрақ</b>",
        "answer_button": "✍️ Жауап беру",
        "answering": "✍️ № {ref} өтініш бойынша сұраққа жауабыңыз.",
        "answered": "✅ Жауабыңыз лауазымды адамдарға жіберілді (№ {ref} өтініш).",
        "answered_before": "Сіз бұл сұраққа жауап беріп қойдыңыз.",
        "department": "Жұмыспен қамту бөлімі",
        "moved": "↪️ № {ref} өтінішіңіз құзыретті бөлімге жолданды: Жұмыспен қамту бөлімі.",
        "due": "Жауап беру мерзімі: {date}.",
        "status_department": "Құзыретті бөлімге жолданды",
        "status_body": "Басқа органға жолданды",
        "body": "Облыстық прокуратура",
        "body_notice": "оны қарау құзыретіне жататын органға жолданды: Облыстық прокуратура",
        "body_deadline": "жауап беру мерзімі тіркелген күннен бастап есептеледі",
        "where": "Жолданды: {name}",
    },
    "ru": {
        "add": "➕ Дополнить обращение",
        "withdraw": "↩️ Отозвать обращение",
        "yes": "Да, отозвать",
        "no": "Нет, оставить",
        "sure": "Отозвать обращение № {ref}?",
        "withdrawn": "↩️ Обращение № {ref} отозвано.",
        "kept": "Ничего не изменилось: обращение № {ref} не отозвано.",
        "not_open": "Обращение № {ref} больше не рассматривается: Отозвано.",
        "adding": "➕ Дополнение к обращению № {ref}.",
        "text_ok": "Текст получен.",
        "files": "Получено {n} файла из 5",
        "added": "✅ Дополнение к обращению № {ref} передано должностным лицам.",
        "question": "❓ <b>Вопрос по вашему обращению № {ref}</b>",
        "answer_button": "✍️ Ответить",
        "answering": "✍️ Ваш ответ на вопрос по обращению № {ref}.",
        "answered": "✅ Ваш ответ отправлен должностным лицам (обращение № {ref}).",
        "answered_before": "Вы уже ответили на этот вопрос.",
        "department": "Отдел занятости",
        "moved": "↪️ Ваше обращение № {ref} передано в профильный отдел: Отдел занятости.",
        "due": "ответ будет дан до {date}",
        "status_department": "Передано в профильный отдел",
        "status_body": "Переадресовано",
        "body": "Прокуратура области",
        "body_notice": "переадресовано в орган, к компетенции которого относится его "
        "рассмотрение: Прокуратура области",
        "body_deadline": "срок ответа будет исчисляться со дня этой регистрации",
        "where": "Передано: {name}",
    },
}
# Filed on Monday 23.11.2026 10:00, an application is due in 15 working days (16 December is
# a holiday): 14 December.
DUE = {"kk": "2026\u00a0ж. 14 желтоқсан", "ru": "14 декабря 2026\u00a0г."}


def say(lang: str, key: str, **values: object) -> str:
    return SAY[lang][key].format(**values)


async def to_text_step(h: Harness, user: int, lang: str) -> Call:
    """/new through kind, category, region and district; returns the text prompt."""
    catalog = h.app.catalog
    kinds = await h.say(user, "/new", lang=lang)
    kind = catalog.kind("application")
    other = catalog.category("other")
    assert kind is not None and other is not None
    categories = await h.click(user, kinds, kind.name(lang), lang=lang)
    await h.click(user, categories, other.name(lang), lang=lang)
    await h.say(user, "Шымкент", lang=lang, expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(user, "Каратау", language_code=lang)
    return await h.reply(user, since, expect="3500")


async def reach_review(h: Harness, user: int, lang: str) -> Call:
    """From the text prompt to the review card, with no files and no location."""
    files = await h.say(user, TEXTS[lang], lang=lang)
    skip = h.fake.buttons(files)[0][1]
    assert skip is not None
    location = await h.press(user, files, skip, lang=lang)
    await h.say(user, h.fake.buttons(location)[1][0], lang=lang)
    return await who_and_how(h, user, lang)


async def file_appeal(h: Harness, user: int, lang: str) -> tuple[str, Call]:
    """The citizen files an appeal through the dialog in `lang`; (its number, its card)."""
    await onboard(h, user, lang)
    await to_text_step(h, user, lang)
    review = await reach_review(h, user, lang)
    registered = await h.confirm(user, review, lang=lang, expect="2026-")
    reference = (registered.text or "").split("<b>", 1)[1].split("</b>", 1)[0]
    assert reference.startswith("2026-")
    return reference, await card_of(h, reference)


async def open_mine(h: Harness, user: int, reference: str, lang: str) -> Call:
    """/my → «Open № …»: the appeal's own view, its buttons under it."""
    listed = await h.say(user, "/my", lang=lang, expect=reference)
    return await h.click(user, listed, reference, lang=lang)


async def under_card(h: Harness, card: Call, since: int, method: str = "sendMessage") -> Call:
    """The bot's next `method` in the officials' chat replying to the card."""
    card_id = card.result["message_id"]
    return await h.fake.wait_for(
        lambda c: (
            c.method == method
            and h.fake.chat_of(c) == OFFICIALS
            and (c.params.get("reply_parameters") or {}).get("message_id") == card_id
            and not c.failed
        ),
        since=since,
    )


async def card_edited(h: Harness, card: Call, since: int) -> Call:
    card_id = card.result["message_id"]
    return await h.fake.wait_for(
        lambda c: (
            c.method == "editMessageText"
            and h.fake.chat_of(c) == OFFICIALS
            and c.params.get("message_id") == card_id
            and not c.failed
        ),
        since=since,
    )


def labels(h: Harness, call: Call) -> list[str]:
    return [label for label, _ in h.fake.buttons(call)]


# --- 2. withdraw ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_citizen_withdraws_an_appeal_and_nobody_can_answer_it(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    # An official is half-way through an answer: its preview waits for «Send».
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), "Фонарь заменим завтра.")

    # «No» first: nothing changes.
    mine = await open_mine(h, CITIZEN, reference, lang)
    assert labels(h, mine) == [say(lang, "add"), say(lang, "withdraw")]
    sure = await h.click(CITIZEN, mine, say(lang, "withdraw"), lang=lang)
    assert say(lang, "sure", ref=reference) in (sure.text or "")
    kept = await h.click(CITIZEN, sure, say(lang, "no"), method="editMessageText", lang=lang)
    assert kept.text == say(lang, "kept", ref=reference)
    assert rows(h, "SELECT status FROM appeals")[0][0] == "registered"

    sure = await h.click(CITIZEN, mine, say(lang, "withdraw"), lang=lang)
    since = h.fake.mark()
    done = await h.click(CITIZEN, sure, say(lang, "yes"), method="editMessageText", lang=lang)
    assert (done.text or "").startswith(say(lang, "withdrawn", ref=reference))
    [appeal] = rows(h, "SELECT status FROM appeals")
    assert appeal["status"] == "withdrawn"
    history = rows(h, "SELECT new_status, actor FROM status_history ORDER BY id")
    assert tuple(history[-1]) == ("withdrawn", f"citizen:{CITIZEN}")

    # The officials' card shows it, without the buttons to act, and the chat is told.
    edited = await card_edited(h, card, since)
    assert "Статус: Отозвано" in (edited.text or "")
    assert not {"✍️ Ответить", "⏳ Продлить", "❓ Задать вопрос гражданину"} & set(labels(h, edited))
    told = await under_card(h, card, since)
    assert f"№ {reference}</b>: гражданин отозвал обращение" in (told.text or "")
    # The waiting preview lost its «Send»; pressed anyway, it says the appeal is closed.
    await h.fake.wait_for(
        lambda c: (
            c.method == "editMessageReplyMarkup"
            and c.params.get("message_id") == preview.result["message_id"]
        ),
        since=since,
    )
    assert rows(h, "SELECT state FROM official_prompts")[0][0] == "void"
    alert = await h.alert(OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    assert "Отозвано" in alert
    # Nor can anyone act on it from the card any more.
    refused = await group_alert(h, OFFICIAL, card, "✍️")
    assert "Отозвано" in refused
    refused = await group_alert(h, OFFICIAL, card, "❓")
    assert "Отозвано" in refused
    assert "Фонарь заменим завтра." not in "\n".join(h.texts_to(CITIZEN))
    assert rows(h, "SELECT status, answer_text FROM appeals")[0]["answer_text"] is None

    # «Yes» again (a double tap) and «Add» on the old view: no longer open.
    alert = await h.alert(CITIZEN, sure, h.fake.find_button(sure, say(lang, "yes")))
    assert alert == say(lang, "not_open", ref=reference)
    alert = await h.alert(CITIZEN, mine, h.fake.find_button(mine, say(lang, "add")))
    assert alert == say(lang, "not_open", ref=reference)
    again = await open_mine(h, CITIZEN, reference, lang)
    assert labels(h, again) == []


# --- 3. add to an appeal ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_citizen_adds_text_and_files_and_the_officials_get_them_under_the_card(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    mine = await open_mine(h, CITIZEN, reference, lang)
    start = await h.click(CITIZEN, mine, say(lang, "add"), lang=lang)
    assert (start.text or "").startswith(say(lang, "adding", ref=reference))

    got = await h.say(CITIZEN, "Дом 12, подъезд 3, фонарь у второго подъезда.", lang=lang)
    assert (got.text or "").startswith(say(lang, "text_ok"))
    # An album of three photos: one answer, edited as the photos arrive, counting all three.
    since = h.fake.mark()
    for i in range(3):
        h.fake.user_photo(CITIZEN, file_id=f"add-{i}", media_group_id="add-album",
                          language_code=lang)  # fmt: skip
    counted = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and say(lang, "files", n=3) in (c.text or ""),
        since=since,
    )
    assert len(h.texts_to(CITIZEN, since)) == 1
    since = h.fake.mark()
    h.fake.user_document(CITIZEN, file_id="add-doc", file_name="act.pdf", language_code=lang)
    four = await h.reply(CITIZEN, since, expect="4")
    assert counted.params["message_id"] != four.result["message_id"]

    since = h.fake.mark()
    done = await h.click(CITIZEN, four, "✅", method="editMessageText", lang=lang)
    assert done.text == say(lang, "added", ref=reference)
    told = await under_card(h, card, since)
    assert f"№ {reference}</b>: гражданин дополняет обращение:" in (told.text or "")
    assert "Дом 12, подъезд 3, фонарь у второго подъезда." in (told.text or "")
    album = await under_card(h, card, since, "sendMediaGroup")
    assert [m["media"] for m in album.params["media"]] == ["add-0", "add-1", "add-2"]
    document = await under_card(h, card, since, "sendDocument")
    assert document.params["document"] == "add-doc"
    # The card counts the appeal's files, the added ones too.
    edited = await card_edited(h, card, since)
    assert "📎 файлы: 4" in (edited.text or "")

    [addition] = rows(h, "SELECT appeal_id, question_id, text, files FROM appeal_additions")
    assert tuple(addition) == (1, None, "Дом 12, подъезд 3, фонарь у второго подъезда.", 4)
    files = rows(h, "SELECT file_id FROM attachments WHERE addition_id = 1 ORDER BY id")
    assert [f[0] for f in files] == ["add-0", "add-1", "add-2", "add-doc"]
    history = rows(h, "SELECT new_status, actor, note FROM status_history ORDER BY id")
    assert history[-1]["actor"] == f"citizen:{CITIZEN}"
    assert history[-1]["note"].startswith("addition 1")
    # «Done» again adds nothing.
    alert = await h.alert(CITIZEN, four, h.fake.find_button(four, "✅"))
    assert alert
    assert len(rows(h, "SELECT id FROM appeal_additions")) == 1


async def test_an_album_over_the_limit_gets_one_answer_and_keeps_five(harness: Harness) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, "ru")
    mine = await open_mine(h, CITIZEN, reference, "ru")
    await h.click(CITIZEN, mine, SAY["ru"]["add"])
    since = h.fake.mark()
    for i in range(7):
        h.fake.user_photo(CITIZEN, file_id=f"p{i}", media_group_id="seven")
    # The seventh photo is handled once the limit's words are on the one answer.
    last = await h.fake.wait_for(
        lambda c: c.method == "editMessageText" and "максимум 5" in (c.text or ""), since=since
    )
    await h.say(CITIZEN, "Этого достаточно.", expect="Получено 5 файлов из 5")
    assert len(h.texts_to(CITIZEN, since)) == 2  # the album's answer, then the text's
    since = h.fake.mark()
    await h.click(CITIZEN, last, "Готово", method="editMessageText")
    album = await under_card(h, card, since, "sendMediaGroup")
    assert [m["media"] for m in album.params["media"]] == [f"p{i}" for i in range(5)]


# --- 3. ask the citizen -----------------------------------------------------------------------


async def ask(h: Harness, card: Call, question: str) -> tuple[Call, Call]:
    """An official asks from the card; (the preview, the «sent» note in the chat)."""
    prompt = await open_prompt(h, card, "❓")
    preview = await reply_to(h, prompt, question)
    return preview, await send_preview(h, preview)


@pytest.mark.parametrize("lang", LANGS)
async def test_officials_ask_and_the_citizens_answer_comes_under_the_card(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    question = {"kk": "Шам қай подъездің жанында?", "ru": "У какого подъезда фонарь?"}[lang]
    prompt = await open_prompt(h, card, "❓")
    assert ("на казахском" if lang == "kk" else "на русском") in (prompt.text or "")
    preview = await reply_to(h, prompt, question)
    # The official sees what the citizen will read, in the citizen's language; nothing yet
    # reached the citizen.
    assert say(lang, "question", ref=reference) in (preview.text or "")
    assert question not in "\n".join(h.texts_to(CITIZEN))
    since = h.fake.mark()
    sent = await send_preview(h, preview)
    assert f"Вопрос по обращению № {reference} отправлен гражданину" in (sent.text or "")
    asked = await h.reply(CITIZEN, since, expect=question)
    assert (asked.text or "").startswith(say(lang, "question", ref=reference))
    assert (asked.text or "").strip() in (preview.text or "")
    assert labels(h, asked) == [say(lang, "answer_button")]

    start = await h.click(CITIZEN, asked, say(lang, "answer_button"), lang=lang)
    assert (start.text or "").startswith(say(lang, "answering", ref=reference))
    answer = {"kk": "Екінші подъездің жанында.", "ru": "У второго подъезда."}[lang]
    got = await h.say(CITIZEN, answer, lang=lang)
    since = h.fake.mark()
    done = await h.click(CITIZEN, got, "✅", method="editMessageText", lang=lang)
    assert done.text == say(lang, "answered", ref=reference)
    told = await under_card(h, card, since)
    text = told.text or ""
    assert f"№ {reference}</b>: ответ гражданина на вопрос, который задал(а) Official900:" in text
    assert f"<blockquote>{question}</blockquote>" in text and answer in text

    # The question is answered once; the history has both.
    alert = await h.alert(CITIZEN, asked, h.fake.find_button(asked, say(lang, "answer_button")))
    assert alert.startswith(say(lang, "answered_before"))
    [q] = rows(h, "SELECT official_id, text, answered_at FROM appeal_questions")
    assert (q["official_id"], q["text"]) == (OFFICIAL, question) and q["answered_at"]
    notes = [tuple(r) for r in rows(h, "SELECT actor, note FROM status_history ORDER BY id")]
    assert (f"official:{OFFICIAL}", "question 1 asked") in notes
    assert notes[-1][0] == f"citizen:{CITIZEN}" and notes[-1][1].startswith("answer to question")


async def test_a_second_question_leaves_the_first_answerable(harness: Harness) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, "ru")
    since = h.fake.mark()
    await ask(h, card, "Какой номер дома?")
    first = await h.reply(CITIZEN, since, expect="Какой номер дома?")
    since = h.fake.mark()
    await ask(h, card, "С какого числа не горит?")
    second = await h.reply(CITIZEN, since, expect="С какого числа не горит?")

    # Answered in the other order: each answer quotes its own question.
    await h.click(CITIZEN, second, "✍️")
    got = await h.say(CITIZEN, "С первого ноября.")
    since = h.fake.mark()
    await h.click(CITIZEN, got, "✅", method="editMessageText")
    told = await under_card(h, card, since)
    assert "<blockquote>С какого числа не горит?</blockquote>\nС первого ноября." in (
        told.text or ""
    )
    await h.click(CITIZEN, first, "✍️")
    got = await h.say(CITIZEN, "Дом 12.")
    since = h.fake.mark()
    await h.click(CITIZEN, got, "✅", method="editMessageText")
    told = await under_card(h, card, since)
    assert "<blockquote>Какой номер дома?</blockquote>\nДом 12." in (told.text or "")
    answered = rows(h, "SELECT answered_at FROM appeal_questions ORDER BY id")
    assert all(r[0] for r in answered)

    # A question on an appeal that is then answered can no longer be answered.
    since = h.fake.mark()
    await ask(h, card, "Фонарь горит сейчас?")
    third = await h.reply(CITIZEN, since, expect="Фонарь горит сейчас?")
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), "Фонарь заменён.")
    await send_preview(h, preview)
    alert = await h.alert(CITIZEN, third, h.fake.find_button(third, "✍️"))
    assert alert == f"Обращение № {reference} больше не рассматривается: Дан ответ."


async def test_a_citizen_mid_appeal_answers_a_question_and_keeps_their_draft(
    harness: Harness,
) -> None:
    h = harness
    _reference, card = await file_appeal(h, CITIZEN, "ru")
    since = h.fake.mark()
    await ask(h, card, "Какой номер дома?")
    asked = await h.reply(CITIZEN, since, expect="Какой номер дома?")
    kinds = await h.say(CITIZEN, "/new")
    categories = await h.click(CITIZEN, kinds, "Жалоба")
    await h.click(CITIZEN, asked, "✍️")
    # A menu button of another dialog does not take the citizen away half-way.
    await h.say(CITIZEN, "📝 Новое обращение", expect="Сначала закончите начатое")
    got = await h.say(CITIZEN, "Дом 12.")
    await h.click(CITIZEN, got, "✅", method="editMessageText")
    # The new appeal's draft is where it was: its category step.
    await h.click(CITIZEN, categories, "Уличное освещение", expect="Выберите область")


async def test_a_repeated_done_mends_an_addition_whose_posting_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stored, but the officials' messages could not be queued (the database, say): the
    citizen presses «Done» again and the officials get it, once."""
    h = harness
    reference, card = await file_appeal(h, CITIZEN, "ru")
    mine = await open_mine(h, CITIZEN, reference, "ru")
    await h.click(CITIZEN, mine, say("ru", "add"))
    got = await h.say(CITIZEN, "Дом 12, подъезд 3.")
    post = AppealLifecycle._post_addition
    failures = [RuntimeError("the outbox could not be written")]

    async def failing_once(self: AppealLifecycle, *args: Any) -> None:
        if failures:
            raise failures.pop()
        await post(self, *args)

    monkeypatch.setattr(AppealLifecycle, "_post_addition", failing_once)
    since = h.fake.mark()
    h.fake.press(CITIZEN, got, h.fake.find_button(got, "✅"))
    await h.reply(CITIZEN, since, expect="Извините")
    assert rows(h, "SELECT COUNT(*) FROM appeal_additions")[0][0] == 1
    since = h.fake.mark()
    await h.click(CITIZEN, got, "✅", method="editMessageText")
    told = await under_card(h, card, since)
    assert "Дом 12, подъезд 3." in (told.text or "")
    await h.app.sender.drain()
    posted = [c for c in h.fake.sent(OFFICIALS) if "Дом 12, подъезд 3." in (c.text or "")]
    assert len(posted) == 1


async def test_cancel_while_answering_keeps_the_draft_it_interrupted(harness: Harness) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, "ru")
    since = h.fake.mark()
    await ask(h, card, "Какой номер дома?")
    asked = await h.reply(CITIZEN, since, expect="Какой номер дома?")
    kinds = await h.say(CITIZEN, "/new")
    categories = await h.click(CITIZEN, kinds, "Жалоба")
    await h.click(CITIZEN, asked, "✍️")
    await h.say(CITIZEN, "/cancel", expect=f"к обращению № {reference} ничего не добавлено")
    # Only the answer was cancelled: the new appeal's draft is at its category step.
    await h.click(CITIZEN, categories, "Уличное освещение", expect="Выберите область")


# --- 4. where it went ----------------------------------------------------------------------

DEPARTMENT_CHAT = -1002000
BODY_CHAT = -1003000


@pytest.fixture
async def departments(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The bundled catalog plus a department of the akimat and another body."""
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT_CHAT}\n'
        '\n[[departments]]\ncode = "prosecutor"\nkk = "Облыстық прокуратура"\n'
        f'ru = "Прокуратура области"\nchat_id = {BODY_CHAT}\nexternal = true\n',
        encoding="utf-8",
    )
    assert load_catalog(catalog).department("prosecutor").external  # type: ignore[union-attr]
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def forward(h: Harness, card: Call, department: str) -> None:
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and department in str(c.params.get("reply_markup")),
        since=since,
    )
    h.fake.press(OFFICIAL, picker, h.fake.find_button(picker, department))


@pytest.mark.parametrize("lang", LANGS)
async def test_a_forwarded_appeal_says_where_it_went_and_keeps_its_deadline(
    departments: Harness, lang: str
) -> None:
    h = departments
    reference, card = await file_appeal(h, CITIZEN, lang)
    since = h.fake.mark()
    await forward(h, card, "Отдел занятости")
    told = await h.reply(CITIZEN, since, expect=reference)
    text = told.text or ""
    assert text.startswith(say(lang, "moved", ref=reference))
    assert say(lang, "due", date=DUE[lang]) in text
    assert "Басқа орган" not in text

    mine = await open_mine(h, CITIZEN, reference, lang)
    assert say(lang, "status_department") in (mine.text or "")
    assert say(lang, "where", name=say(lang, "department")) in (mine.text or "")
    # The department's chat gets the card, and it says the same.
    moved = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == DEPARTMENT_CHAT, since=since
    )
    assert "Статус: Передано в профильный отдел" in (moved.text or "")


@pytest.mark.parametrize("lang", LANGS)
async def test_an_appeal_forwarded_to_another_body_says_that_body_sets_the_deadline(
    departments: Harness, lang: str
) -> None:
    h = departments
    reference, card = await file_appeal(h, CITIZEN, lang)
    since = h.fake.mark()
    await forward(h, card, "Прокуратура области")
    told = await h.reply(CITIZEN, since, expect=reference)
    assert say(lang, "body_notice") in (told.text or "")
    assert say(lang, "body_deadline") in (told.text or "")
    mine = await open_mine(h, CITIZEN, reference, lang)
    assert say(lang, "status_body") in (mine.text or "")
    assert say(lang, "where", name=say(lang, "body")) in (mine.text or "")


async def test_after_a_forward_the_withdrawal_is_told_under_the_new_card(
    departments: Harness,
) -> None:
    """After a forward the card lives in the department's chat: the citizen's additions and
    the withdrawal notice go there, under the new card."""
    h = departments
    reference, card = await file_appeal(h, CITIZEN, "ru")
    since = h.fake.mark()
    await forward(h, card, "Отдел занятости")
    moved = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == DEPARTMENT_CHAT
            and (c.text or "").startswith("🆕")
        ),
        since=since,
    )
    await h.fake.wait_for(lambda c: c.method == "sendMessage" and h.fake.chat_of(c) == CITIZEN,
                          since=since)  # fmt: skip
    mine = await open_mine(h, CITIZEN, reference, "ru")
    sure = await h.click(CITIZEN, mine, SAY["ru"]["withdraw"])
    since = h.fake.mark()
    await h.click(CITIZEN, sure, SAY["ru"]["yes"], method="editMessageText")
    told = await h.fake.wait_for(
        lambda c: (
            c.method == "sendMessage"
            and h.fake.chat_of(c) == DEPARTMENT_CHAT
            and (c.params.get("reply_parameters") or {}).get("message_id")
            == moved.result["message_id"]
        ),
        since=since,
    )
    assert "гражданин отозвал обращение" in (told.text or "")
    assert not [c for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS
                and c.method == "sendMessage"]  # fmt: skip


# --- an addition or an answer of which nothing shows ---------------------------------------

INVISIBLE = {
    "kk": "Бұл мәтіннің экранда ештеңесі көрінбейді, сондықтан ол қосылмады.",
    "ru": "В этом тексте ничего не видно на экране, поэтому он не добавлен.",
}


@pytest.mark.parametrize("lang", LANGS)
async def test_an_invisible_addition_or_answer_is_not_sent_to_the_officials(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    mine = await open_mine(h, CITIZEN, reference, lang)
    await h.click(CITIZEN, mine, say(lang, "add"), lang=lang)
    told = await h.say(CITIZEN, "\u200b\u200b\u200b", lang=lang)
    assert (told.text or "").startswith(INVISIBLE[lang])
    # Nothing was taken: «Done» has nothing to send.
    alert = await h.alert(CITIZEN, told, h.fake.find_button(told, "✅"))
    assert alert.startswith("Әзірге" if lang == "kk" else "Пока нечего")
    assert rows(h, "SELECT id FROM appeal_additions") == []
    await h.click(CITIZEN, told, "✖️", method="editMessageText", lang=lang)

    since = h.fake.mark()
    await ask(h, card, "Какой номер дома?")
    asked = await h.reply(CITIZEN, since, expect="Какой номер дома?")
    await h.click(CITIZEN, asked, say(lang, "answer_button"), lang=lang)
    told = await h.say(CITIZEN, "\u2063" * 6, lang=lang)
    assert (told.text or "").startswith(INVISIBLE[lang])
    # A photo under a caption of which nothing shows is a photo without a text.
    since = h.fake.mark()
    h.fake.user_photo(CITIZEN, file_id="answer-photo", caption="\u200b \u200b", language_code=lang)
    got = await h.reply(CITIZEN, since, expect="1")
    since = h.fake.mark()
    done = await h.click(CITIZEN, got, "✅", method="editMessageText", lang=lang)
    assert done.text == say(lang, "answered", ref=reference)
    photo = await under_card(h, card, since, "sendPhoto")
    assert photo.params["photo"] == "answer-photo"
    sent = [c.text or "" for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS]
    assert not any("\u200b" in t or "\u2063" in t for t in sent)
    [answer] = rows(h, "SELECT question_id, text, files FROM appeal_additions")
    assert answer["question_id"] == 1 and not answer["text"] and answer["files"] == 1
