"""Abuse limits (issue #10, item 7), driven over HTTP in Kazakh and in Russian: a citizen's
burst gets one answer while a dialog at any speed is never held up, a daily limit on appeals
and on additions says when the citizen may go on (and keeps what they were doing), so the
officials' chat gets no more than that from one citizen, and only documents of common office
and image types up to Telegram's 20 MB are attached."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage.models import NewAppeal
from tests.conftest import ALMATY, OFFICIALS, Harness
from tests.fakeapi import Call
from tests.test_e2e_appeal import onboard, rows, who_and_how
from tests.test_e2e_lifecycle import (
    CITIZEN,
    TEXTS,
    ask,
    file_appeal,
    open_mine,
    reach_review,
    to_text_step,
    under_card,
)
from tests.test_e2e_lifecycle import SAY as LIFECYCLE
from tests.test_e2e_officials import card_of

pytestmark = pytest.mark.e2e
LANGS = ["kk", "ru"]
TELEGRAM_BOT_DOWNLOAD_MAX = 20 * 1024 * 1024  # getFile's limit, in bytes
KINDS = "PDF, DOC, DOCX, XLS, XLSX, ODT, JPG, PNG, HEIC"
# The citizen's side in each language, word for word from the catalogs.
SAY = {
    "kk": {
        "slow": "Асықпаңыз: Сіз бір мезетте көп жібердіңіз",
        "menu": "Төмендегі мәзір",
        "help": "/new",
        "appeals": "Сіз соңғы 24 сағатта мұнда 5 өтініш бердіңіз",
        "appeals_4": "Сіз соңғы 24 сағатта мұнда 4 өтініш бердіңіз",
        "appeals_when": "Келесі өтінішті беруге болатын уақыт: 2026\u00a0ж. 24 қараша, 07:00.",
        "elsewhere": "eOtinish.kz порталы арқылы немесе әкімдікке өзіңіз барып",
        "draft_kept": "Өтінішіңіз сол күйінде сақталды: осы уақыттан кейін оның астындағы "
        "«✅ Растау және жіберу» түймесін басыңыз.",
        "additions": "Сіз соңғы 24 сағатта өтініштеріңізді 5 рет толықтырдыңыз",
        "additions_1": "Сіз соңғы 24 сағатта өтініштеріңізді 1 рет толықтырдыңыз",
        "additions_when": "Қайта толықтыруға болатын уақыт: 2026\u00a0ж. 24 қараша, 10:00.",
        "answers_free": "Лауазымды адамдардың сұрақтарына әрқашан жауап бере аласыз.",
        "addition_kept": "Жазғаныңыз бен тіркегеніңіз сақталды: осы уақыттан кейін «✅ Дайын» "
        "немесе «✖️ Болдырмау» түймесін басыңыз.",
        "refused_type": "«{name}» файлын тіркеу мүмкін емес: фото және мына түрдегі файлдар "
        f"ғана жарайды: {KINDS}.",
        "refused_size": "«{name}» файлы тым үлкен (ең көбі — 20 МБ)",
        "files": "Қабылданған файлдар: {n} / 5",
        "text_ok": "Мәтін қабылданды.",
        "at_most": "Ең көбі 5 файл тіркеуге болады.",
    },
    "ru": {
        "slow": "Пожалуйста, не так быстро: вы отправили много сразу",
        "menu": "Пожалуйста, пользуйтесь кнопками меню",
        "help": "/new",
        "appeals": "Вы уже подали здесь 5 обращений за последние 24 часа",
        "appeals_4": "Вы уже подали здесь 4 обращения за последние 24 часа",
        "appeals_when": "Следующее обращение можно будет подать 24 ноября 2026\u00a0г. после "
        "07:00.",
        "elsewhere": "через портал eOtinish.kz или лично в акимат",
        "draft_kept": "Ваше обращение сохранено как есть: после этого времени нажмите под ним "
        "«✅ Подтвердить и отправить».",
        "additions": "Вы уже 5 раз дополняли свои обращения за последние 24 часа",
        "additions_1": "Вы уже 1 раз дополняли свои обращения за последние 24 часа",
        "additions_when": "Дополнить снова можно будет 24 ноября 2026\u00a0г. после 10:00.",
        "answers_free": "На вопросы должностных лиц отвечать можно всегда.",
        "addition_kept": "Написанное и прикреплённое сохранено: после этого времени нажмите "
        "«✅ Готово» или «✖️ Отмена».",
        "refused_type": "Файл «{name}» прикрепить нельзя: подходят фото и файлы таких типов: "
        f"{KINDS}.",
        "refused_size": "Файл «{name}» слишком большой (не больше 20 МБ)",
        "files": "{n} файл",
        "text_ok": "Текст получен.",
        "at_most": "Больше файлов прикрепить нельзя: максимум 5.",
    },
}


def say(lang: str, key: str, **values: object) -> str:
    return SAY[lang][key].format(**values)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ALMATY)


def officials_texts(h: Harness, since: int = 0) -> list[str]:
    return [
        c.text or ""
        for c in h.fake.calls[since:]
        if c.method == "sendMessage" and not c.failed and h.fake.chat_of(c) == OFFICIALS
    ]


def dialog_state(h: Harness, user: int) -> str:
    found = rows(h, "SELECT state FROM fsm WHERE user_id = ? AND state IS NOT NULL", user)
    return str(found[0]["state"]) if found else ""


def alerts_to(h: Harness, since: int) -> list[Call]:
    return [c for c in h.fake.calls[since:] if c.method == "answerCallbackQuery" and not c.failed]


async def settled(h: Harness) -> None:
    """The bot has finished the updates in hand (their reply is out before their end)."""
    assert await h.app.in_flight.wait_idle(5)


async def file_earlier(h: Harness, user: int, lang: str, *times: datetime) -> list[int]:
    """Appeals the citizen filed earlier today (their cards posted), at `times`."""
    ids = []
    for n, at in enumerate(times):
        appeal, _created = await h.app.repo.create_appeal(
            NewAppeal(
                draft_key=f"earlier-{user}-{n}", citizen_id=user, kind="application",
                category="other", region="790000000", district="791610000",
                text=f"{TEXTS[lang]} ({n})", contact_name="Асель Нурланова",
                contact_phone="+77015556677", language=lang, created_at=at,
                registered_on=at.date(), due_at=at + timedelta(days=20),
            )
        )  # fmt: skip
        await h.app.dp["officials"].publish(appeal)
        ids.append(appeal.id)
    return ids


async def restart_with(h: Harness, **settings: object) -> None:
    """The operator changes a setting and restarts the bot; FSM state stays in the database."""
    h.app.settings = h.app.settings.model_copy(update=settings)
    await h.restart()


# --- the burst ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_a_burst_of_messages_gets_one_answer(harness: Harness, lang: str) -> None:
    h = harness
    await onboard(h, CITIZEN, lang)
    await settled(h)
    since = h.fake.mark()
    # Twenty messages in Telegram's queue before the bot sees any (a paste, a forwarded chat).
    for n in range(20):
        h.fake.user_message(CITIZEN, f"Сообщение {n}", language_code=lang)
    await h.reply(CITIZEN, since, expect=say(lang, "slow"))
    # A moment later the citizen is heard again.
    h.clock.at += timedelta(seconds=2)
    await h.say(CITIZEN, "/help", lang=lang, expect=say(lang, "help"))
    texts = h.texts_to(CITIZEN, since)
    # The first five were handled, then the one notice, after them; the rest was not read.
    assert len(texts) == 7, texts
    assert all(t.startswith(say(lang, "menu")) for t in texts[:5])
    assert texts[5].startswith(say(lang, "slow"))


@pytest.mark.parametrize("lang", LANGS)
async def test_mashing_a_button_gets_one_alert(harness: Harness, lang: str) -> None:
    h = harness
    await onboard(h, CITIZEN, lang)
    catalog = h.app.catalog
    kinds = await h.say(CITIZEN, "/new", lang=lang)
    kind, other = catalog.kind("application"), catalog.category("other")
    assert kind is not None and other is not None
    categories = await h.click(CITIZEN, kinds, kind.name(lang), lang=lang)
    regions = await h.click(CITIZEN, categories, other.name(lang), lang=lang)
    forward = h.fake.find_button(regions, "▶️")
    await settled(h)
    since = h.fake.mark()
    for _ in range(12):
        h.fake.press(CITIZEN, regions, forward, language_code=lang)
    alert = await h.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and bool(c.params.get("text")), since=since
    )
    assert str(alert.params["text"]).startswith(say(lang, "slow"))
    assert alert.params.get("show_alert") is True
    h.clock.at += timedelta(seconds=2)
    await h.say(CITIZEN, "Шымкент", lang=lang, expect="Шымкент")
    # Five presses were answered (the first turned the page), one alert, the rest dropped.
    answers = alerts_to(h, since)
    assert len(answers) == 6 and answers[-1] is alert
    assert len([c for c in h.fake.calls[since:] if c.method == "editMessageText"]) == 5


@pytest.mark.parametrize("lang", LANGS)
async def test_a_dialog_at_any_speed_and_an_album_are_never_throttled(
    harness: Harness, lang: str
) -> None:
    h = harness
    start = h.fake.mark()
    await onboard(h, CITIZEN, lang)
    catalog = h.app.catalog
    kinds = await h.say(CITIZEN, "/new", lang=lang)
    kind, other = catalog.kind("application"), catalog.category("other")
    assert kind is not None and other is not None
    categories = await h.click(CITIZEN, kinds, kind.name(lang), lang=lang)
    page = await h.click(CITIZEN, categories, other.name(lang), lang=lang)
    # Thirty presses one after another, each as soon as the last one is answered, all at
    # the same instant of the bot's clock.
    for n in range(30):
        page = await h.click(
            CITIZEN, page, "▶️" if n % 2 == 0 else "◀️", method="editMessageText", lang=lang
        )
    await h.say(CITIZEN, "Шымкент", lang=lang, expect="Шымкент")
    since = h.fake.mark()
    h.fake.user_message(CITIZEN, "Каратау", language_code=lang)
    await h.reply(CITIZEN, since, expect="3500")
    await h.say(CITIZEN, TEXTS[lang], lang=lang)
    # An album of ten photos arrives as ten messages at once: not a burst. Five are kept,
    # and the album gets one word about the limit.
    since = h.fake.mark()
    for n in range(10):
        h.fake.user_photo(CITIZEN, file_id=f"alb-{n}", media_group_id="alb", language_code=lang)
    await h.reply(CITIZEN, since, expect=say(lang, "at_most"))
    files = await h.with_button(CITIZEN, since, "✅")
    location = await h.click(CITIZEN, files, "✅", lang=lang)
    await h.say(CITIZEN, h.fake.buttons(location)[1][0], lang=lang)
    review = await who_and_how(h, CITIZEN, lang)
    await h.confirm(CITIZEN, review, lang=lang, expect="2026-00001")
    assert not [t for t in h.texts_to(CITIZEN, start) if say(lang, "slow") in t]
    assert not [a for a in alerts_to(h, start) if say(lang, "slow") in str(a.params.get("text"))]
    files_kept = rows(h, "SELECT file_id FROM attachments ORDER BY id")
    assert [f[0] for f in files_kept] == [f"alb-{n}" for n in range(5)]


# --- the daily limit on appeals ----------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_five_appeals_a_day_then_the_citizen_is_told_when(
    harness: Harness, lang: str
) -> None:
    h = harness
    await onboard(h, CITIZEN, lang)
    earlier = await file_earlier(
        h, CITIZEN, lang, local(23, 7), local(23, 8), local(23, 9), local(23, 9, 30)
    )
    await to_text_step(h, CITIZEN, lang)  # the fifth, at 10:00
    review = await reach_review(h, CITIZEN, lang)
    await h.confirm(CITIZEN, review, lang=lang, expect="2026-00005")

    told = await h.say(CITIZEN, "/new", lang=lang, expect=say(lang, "appeals"))
    assert say(lang, "appeals_when") in (told.text or "")
    assert say(lang, "elsewhere") in (told.text or "")
    assert h.fake.buttons(told) == []  # no kinds: nothing was started
    assert dialog_state(h, CITIZEN) == ""
    # A withdrawn appeal still counts: filing and withdrawing must not get round the limit.
    await h.app.dp["lifecycle"].withdraw(earlier[0], CITIZEN)
    await h.say(CITIZEN, "/new", lang=lang, expect=say(lang, "appeals_when"))
    # In the middle of a booking: the booking goes on, no offer to drop it for an appeal.
    await h.say(CITIZEN, "/book", lang=lang)
    since = h.fake.mark()
    await h.say(CITIZEN, "/new", lang=lang, expect=say(lang, "appeals_when"))
    assert len(h.texts_to(CITIZEN, since)) == 1
    assert dialog_state(h, CITIZEN).startswith("BookingForm:")

    # The officials' chat got the five cards and nothing more.
    await h.app.sender.drain()
    cards = [t for t in officials_texts(h) if t.startswith("🆕 <b>№")]
    assert len(cards) == 5
    assert len(rows(h, "SELECT id FROM appeals WHERE citizen_id = ?", CITIZEN)) == 5

    # At the time named, the citizen may file again.
    h.clock.at = local(24, 7)
    await h.say(CITIZEN, "/cancel", lang=lang)
    kinds = await h.say(CITIZEN, "/new", lang=lang)
    assert dialog_state(h, CITIZEN) == "AppealForm:kind"
    assert h.fake.buttons(kinds)


@pytest.mark.parametrize("lang", LANGS)
async def test_the_limit_is_checked_again_at_confirm_and_the_draft_is_kept(
    harness: Harness, lang: str
) -> None:
    h = harness
    await onboard(h, CITIZEN, lang)
    await file_earlier(h, CITIZEN, lang, local(23, 7), local(23, 8), local(23, 9), local(23, 9))
    await to_text_step(h, CITIZEN, lang)  # the fifth may be started
    review = await reach_review(h, CITIZEN, lang)
    # While the draft waits in review, the operator lowers the limit to four.
    await restart_with(h, appeals_per_day=4)
    since = h.fake.mark()
    h.fake.press(CITIZEN, review, h.fake.find_button(review, "✅"), language_code=lang)
    told = await h.reply(CITIZEN, since, expect=say(lang, "appeals_4"))
    assert say(lang, "appeals_when") in (told.text or "")
    assert say(lang, "draft_kept") in (told.text or "")
    assert [c.method for c in h.fake.calls[since:] if c.method == "editMessageText"] == []
    assert len(rows(h, "SELECT id FROM appeals")) == 4
    # The draft is where it was: the same card's confirm files it once the time has come.
    h.clock.at = local(24, 7)
    registered = await h.confirm(CITIZEN, review, lang=lang, expect="2026-00005")
    assert registered.params["message_id"] == review.result["message_id"]
    [appeal] = rows(h, "SELECT text FROM appeals WHERE reference = '2026-00005'")
    assert appeal["text"] == TEXTS[lang]


# --- the daily limit on additions ----------------------------------------------------------


async def add_text(h: Harness, mine: Call, lang: str, text: str) -> Call:
    """➕ on the appeal's view, a text, «Done»: the «added» line."""
    await h.click(CITIZEN, mine, LIFECYCLE[lang]["add"], lang=lang)
    got = await h.say(CITIZEN, text, lang=lang, expect=say(lang, "text_ok"))
    return await h.click(CITIZEN, got, "✅", method="editMessageText", lang=lang)


@pytest.mark.parametrize("lang", LANGS)
async def test_five_additions_a_day_and_answers_to_questions_always(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    mine = await open_mine(h, CITIZEN, reference, lang)
    since = h.fake.mark()
    for n in range(5):
        done = await add_text(h, mine, lang, f"Уточнение номер {n + 1}.")
        assert done.text == LIFECYCLE[lang]["added"].format(ref=reference)
    told = await h.click(CITIZEN, mine, LIFECYCLE[lang]["add"], lang=lang)
    assert (told.text or "").startswith(say(lang, "additions"))
    assert say(lang, "additions_when") in (told.text or "")
    assert say(lang, "answers_free") in (told.text or "")
    await h.say(CITIZEN, "Шестое уточнение.", lang=lang)  # no dialog: the main menu's answer
    assert len(rows(h, "SELECT id FROM appeal_additions")) == 5
    await h.app.sender.drain()
    added = [t for t in officials_texts(h, since) if "гражданин дополняет обращение" in t]
    assert len(added) == 5

    # A question from the officials can be answered all the same.
    await ask(h, card, "У какого подъезда?")
    asked = await h.with_button(CITIZEN, since, LIFECYCLE[lang]["answer_button"])
    await h.click(CITIZEN, asked, LIFECYCLE[lang]["answer_button"], lang=lang)
    got = await h.say(CITIZEN, "У второго.", lang=lang)
    since = h.fake.mark()
    done = await h.click(CITIZEN, got, "✅", method="editMessageText", lang=lang)
    assert done.text == LIFECYCLE[lang]["answered"].format(ref=reference)
    answer = await under_card(h, card, since)
    assert "У второго." in (answer.text or "")


@pytest.mark.parametrize("lang", LANGS)
async def test_the_additions_limit_is_checked_again_at_done_and_keeps_what_was_collected(
    harness: Harness, lang: str
) -> None:
    h = harness
    reference, card = await file_appeal(h, CITIZEN, lang)
    mine = await open_mine(h, CITIZEN, reference, lang)
    await add_text(h, mine, lang, "Первое уточнение.")
    await h.click(CITIZEN, mine, LIFECYCLE[lang]["add"], lang=lang)
    await h.say(CITIZEN, "Второе уточнение.", lang=lang)
    since = h.fake.mark()
    h.fake.user_photo(CITIZEN, file_id="second-photo", language_code=lang)
    progress = await h.reply(CITIZEN, since, expect="1")
    await restart_with(h, additions_per_day=1)
    since = h.fake.mark()
    h.fake.press(CITIZEN, progress, h.fake.find_button(progress, "✅"), language_code=lang)
    told = await h.reply(CITIZEN, since, expect=say(lang, "additions_1"))
    assert say(lang, "addition_kept") in (told.text or "")
    assert len(rows(h, "SELECT id FROM appeal_additions")) == 1
    # Once the time has come, «Done» on the same message sends all of it.
    h.clock.at = local(24, 10)
    since = h.fake.mark()
    done = await h.click(CITIZEN, progress, "✅", method="editMessageText", lang=lang)
    assert done.text == LIFECYCLE[lang]["added"].format(ref=reference)
    told = await under_card(h, card, since)
    assert "Второе уточнение." in (told.text or "")
    photo = await under_card(h, card, since, "sendPhoto")
    assert photo.params["photo"] == "second-photo"


# --- attachments ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_only_office_and_image_documents_up_to_20_mb_are_attached(
    harness: Harness, lang: str
) -> None:
    h = harness
    await onboard(h, CITIZEN, lang)
    await to_text_step(h, CITIZEN, lang)
    # The text sent as a caption of a file that cannot be attached: the text is taken.
    since = h.fake.mark()
    h.fake.user_document(
        CITIZEN, file_id="bad-1", file_name="<жалоба>.exe", mime_type="application/x-msdownload",
        caption=TEXTS[lang], language_code=lang,
    )  # fmt: skip
    await h.reply(CITIZEN, since, expect=say(lang, "refused_type", name="&lt;жалоба&gt;.exe"))
    await h.with_button(CITIZEN, since, "⬅️")  # the files step: the text was taken

    async def send_document(file_id: str, name: str, mime: str, size: int) -> Call:
        since = h.fake.mark()
        h.fake.user_document(
            CITIZEN, file_id=file_id, file_name=name, mime_type=mime, file_size=size,
            language_code=lang,
        )  # fmt: skip
        return await h.reply(CITIZEN, since)

    zipped = await send_document("bad-2", "фото.zip", "application/zip", 10_000)
    assert (zipped.text or "").startswith(say(lang, "refused_type", name="фото.zip"))
    big = await send_document("bad-3", "скан.pdf", "application/pdf", TELEGRAM_BOT_DOWNLOAD_MAX + 1)
    assert (big.text or "").startswith(say(lang, "refused_size", name="скан.pdf"))
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    one = await send_document("good-1", "акт.docx", docx, 300_000)
    assert say(lang, "files", n=1) in (one.text or "") and "5" in (one.text or "")
    two = await send_document("good-2", "IMG_0042.HEIC", "image/heic", TELEGRAM_BOT_DOWNLOAD_MAX)
    assert say(lang, "files", n=2) in (two.text or "")
    since = h.fake.mark()
    h.fake.user_photo(CITIZEN, file_id="good-3", language_code=lang)
    files = await h.reply(CITIZEN, since, expect="3")
    location = await h.click(CITIZEN, files, "✅", lang=lang)
    await h.say(CITIZEN, h.fake.buttons(location)[1][0], lang=lang)
    review = await who_and_how(h, CITIZEN, lang)
    registered = await h.confirm(CITIZEN, review, lang=lang, expect="2026-00001")
    assert registered
    kept = rows(h, "SELECT file_id FROM attachments ORDER BY id")
    assert [k[0] for k in kept] == ["good-1", "good-2", "good-3"]
    [appeal] = rows(h, "SELECT text FROM appeals")
    assert appeal["text"] == TEXTS[lang]

    # Adding to the appeal: the same rule; what was written under the file is kept.
    card = await card_of(h, "2026-00001")
    mine = await open_mine(h, CITIZEN, "2026-00001", lang)
    await h.click(CITIZEN, mine, LIFECYCLE[lang]["add"], lang=lang)
    since = h.fake.mark()
    h.fake.user_document(
        CITIZEN, file_id="bad-4", file_name="видео.mp4", mime_type="video/mp4",
        caption="Видео с места.", language_code=lang,
    )  # fmt: skip
    await h.reply(CITIZEN, since, expect=say(lang, "refused_type", name="видео.mp4"))
    got = await h.reply(CITIZEN, since, expect=say(lang, "text_ok"))
    since = h.fake.mark()
    await h.click(CITIZEN, got, "✅", method="editMessageText", lang=lang)
    told = await under_card(h, card, since)
    assert "Видео с места." in (told.text or "")
    assert rows(h, "SELECT files FROM appeal_additions")[0][0] == 0
    # The officials got the card's two documents and its photo, nothing refused.
    await h.app.sender.drain()
    to_officials = [c for c in h.fake.calls if h.fake.chat_of(c) == OFFICIALS and not c.failed]
    documents = [c.params["document"] for c in to_officials if c.method == "sendDocument"]
    assert documents == ["good-1", "good-2"]
    assert not [c for c in to_officials if "bad-" in str(c.params)]
