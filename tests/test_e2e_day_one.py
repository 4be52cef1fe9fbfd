"""What officials expect on day one (issue #10, items 10–13), over HTTP, with the officials'
chats in Russian and in Kazakh: an export an akimat can file as it is (opened with a real xlsx
reader), a readable /find history, /receptions for the staff at the door, /stats in minutes
and one word for every usage hint."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from tests.conftest import (
    ALMATY,
    OFFICIALS,
    FrozenClock,
    Harness,
    make_settings,
    start_bot,
    stop_bot,
)
from tests.fakeapi import Call, FakeTelegram
from tests.test_e2e_appeal import onboard, rows
from tests.test_e2e_booking import book_first_slot
from tests.test_e2e_officials import (
    OFFICIAL,
    card_of,
    group_alert,
    official_reply,
    open_prompt,
    reply_to,
    send_preview,
)
from tests.test_e2e_prompts import ANNA, filed

pytestmark = pytest.mark.e2e
ADMIN = 4242
DEPARTMENT = -1002000
DEPARTMENT_OFFICIAL = 950


@dataclass(frozen=True)
class Words:
    """What the officials read, in their language."""

    lang: str
    usage: str
    appeals_sheet: str
    bookings_sheet: str
    period: str  # the appeals sheet's title, for /export 7 on 23 November 2026
    headers: tuple[str, ...]  # the first headers of the appeals sheet
    kind: str
    category: str
    duplicate: str
    outcome: str
    language: str
    booking_headers: tuple[str, ...]
    reception: str
    needs: str
    expected: str
    refused_full: str
    history: str
    citizen: str
    taken: str
    extended: str
    answered: str
    reopened: str
    comment: str
    forwarded: str
    duplicate_of: str
    not_found: str
    no_receptions_today: str
    not_called_off: str
    minutes: str


RU = Words(
    lang="ru",
    usage="Формат:",
    appeals_sheet="Обращения",
    bookings_sheet="Записи на приём",
    period="Обращения, зарегистрированные с 16 ноября 2026\u00a0г. по 23 ноября 2026\u00a0г.",
    headers=("Регистрационный номер", "Вид", "Категория", "Область", "Район или город", "Статус"),
    kind="Заявление",
    category="Другое",
    duplicate="Дубликат ранее поданного обращения",
    outcome="Удовлетворено",
    language="русский",
    booking_headers=("Приём", "Дата приёма", "Время", "Статус", "Нужно для посещения"),
    reception="Приём граждан заместителем акима района",
    needs="кресло-коляска, сурдопереводчик",
    expected="Ожидается",
    refused_full="только для администраторов",
    history="История обращения",
    citizen="гражданин",
    taken="взято в работу",
    extended="срок продлён, новый срок: 15 января 2027\u00a0г.; причина: нужна экспертиза",
    answered="дан ответ: Удовлетворено",
    reopened="снова на рассмотрении",
    comment="💬 Комментарий гражданина: Во дворе до сих пор темно",
    forwarded="переадресовано: Отдел занятости",
    duplicate_of="дубликат обращения № 2026-00001",
    not_found="№ 2026-09999: не найдено.",
    no_receptions_today="Сегодня приёмов нет",
    not_called_off="Не отменено",
    minutes="35 минут",
)
KK = Words(
    lang="kk",
    usage="Пайдалану үлгісі:",
    appeals_sheet="Өтініштер",
    bookings_sheet="Қабылдауға жазылулар",
    period="2026\u00a0ж. 16 қараша – 2026\u00a0ж. 23 қараша аралығында тіркелген өтініштер",
    headers=("Тіркеу нөмірі", "Түрі", "Санат", "Облыс", "Аудан немесе қала", "Күйі"),
    kind="Арыз",
    category="Басқа",
    duplicate="Бұрын берілген өтініштің қайталануы",
    outcome="Қанағаттандырылды",
    language="орыс тілі",
    booking_headers=(
        "Қабылдау",
        "Қабылдау күні",
        "Уақыты",
        "Күйі",
        "Қабылдауға келу үшін қажет жағдайлар",
    ),
    reception="Аудан әкімі орынбасарының азаматтарды қабылдауы",
    needs="кресло-арба, сурдоаудармашы",
    expected="Күтілуде",
    refused_full="тек әкімшілерге",
    history="Өтініш тарихы",
    citizen="азамат",
    taken="жұмысқа алынды",
    extended=(
        "қарау мерзімі ұзартылды, жаңа мерзім: 2027\u00a0ж. 15 қаңтар; себебі: нужна экспертиза"
    ),
    answered="жауап берілді: Қанағаттандырылды",
    reopened="қайтадан қаралуда",
    comment="💬 Азаматтың пікірі: Во дворе до сих пор темно",
    forwarded="жолданды: Жұмыспен қамту бөлімі",
    duplicate_of="№ 2026-00001 өтініштің қайталануы",
    not_found="№ 2026-09999: табылмады.",
    no_receptions_today="Бүгін қабылдау жоқ",
    not_called_off="Тоқтатылмады",
    minutes="35 минут",
)


@pytest.fixture(params=[RU, KK], ids=["ru", "kk"])
async def day_one(
    request: pytest.FixtureRequest, fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[tuple[Harness, Words]]:
    """The officials' chats in one language; an administrator; a department with its chat.
    The digest waits till 23:00, out of the way of the replies tested."""
    words: Words = request.param
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        BUNDLED_CATALOG.read_text(encoding="utf-8")
        + '\n[[departments]]\ncode = "employment"\nkk = "Жұмыспен қамту бөлімі"\n'
        f'ru = "Отдел занятости"\nchat_id = {DEPARTMENT}\n',
        encoding="utf-8",
    )
    settings = make_settings(
        fake.base_url, tmp_path / "bot.db", catalog_path=catalog, admin_ids=str(ADMIN),
        officials_language=words.lang, digest_time="23:00",
    )  # fmt: skip
    app, task = await start_bot(fake, settings, clock)
    harness = Harness(fake, app, task, clock)
    yield harness, words
    await stop_bot(harness.app, harness.task)


async def ask(h: Harness, chat: int, user: int, text: str, *, method: str = "") -> Call:
    """An official's command in `chat` (a user id: their private chat); the bot's first
    message or file there in answer."""
    since = h.fake.mark()
    if chat > 0:
        h.fake.user_message(user, text)
    else:
        h.fake.group_message(chat, user, text, first_name=f"Official{user}")
    methods = (method,) if method else ("sendMessage", "sendDocument")
    return await h.fake.wait_for(
        lambda c: c.method in methods and h.fake.chat_of(c) == chat and not c.failed,
        since=since,
    )


def in_officials(h: Harness, call: Call, text: str) -> bool:
    return (
        call.method == "sendMessage"
        and h.fake.chat_of(call) == OFFICIALS
        and text in (call.text or "")
    )


def workbook(h: Harness, document: Call) -> Any:
    """The file the bot uploaded, opened the way an akimat's spreadsheet program would."""
    assert document.method == "sendDocument", document
    return openpyxl.load_workbook(io.BytesIO(h.fake.uploaded(document)))


def records(sheet: Any) -> list[dict[str, Any]]:
    """Each row under the headers (row 2) as header → value."""
    headers = [c.value for c in sheet[2]]
    return [
        dict(zip(headers, [c.value for c in row], strict=True))
        for row in sheet.iter_rows(min_row=3)
    ]


async def book_directly(h: Harness, citizen: int, name: str) -> None:
    service = h.app.dp["bookings"]
    reception = service.receptions.get("deputy_akim")
    [slot, *_] = await service.free_slots(reception)
    result = await service.book(citizen, "ru", {
        "draft_key": f"book-{citizen}", "reception": "deputy_akim",
        "slot": slot.slot.start.isoformat(), "topic": "Пособие",
        "access": ["wheelchair", "sign_language"], "contact_name": name,
        "contact_phone": "+77011112233",
    })  # fmt: skip
    assert result.ok, result.reason


# --- item 10: an export an akimat can file as it is ------------------------------------------


async def test_export_an_akimat_can_file(day_one: tuple[Harness, Words]) -> None:
    h, w = day_one
    first = await filed(h, ANNA)
    second = await filed(h, ANNA, key="draft-repeat")
    card = await card_of(h, first.reference)
    await group_alert(h, OFFICIAL, card, "▶️")
    await official_reply(h, await card_of(h, second.reference), "🔁", first.reference)
    await official_reply(h, card, "✍️", "Фонарь заменён.")
    await book_directly(h, ANNA, "Асель Нурланова")

    # In the officials' group: masked, every label in the officials' language.
    book = workbook(h, await ask(h, OFFICIALS, OFFICIAL, "/export 7"))
    assert book.sheetnames == [w.appeals_sheet, w.bookings_sheet]
    appeals = book[w.appeals_sheet]
    assert appeals["A1"].value == w.period
    assert tuple(c.value for c in appeals[2][: len(w.headers)]) == w.headers
    answered, duplicate = records(appeals)
    headers = dict(zip(
        ("reference", "kind", "category", "region", "district", "status", "language",
         "created_at", "registered_on"),
        [c.value for c in appeals[2]], strict=False,
    ))  # fmt: skip
    assert answered[headers["reference"]] == "2026-00001"
    assert answered[headers["kind"]] == w.kind
    assert answered[headers["category"]] == w.category
    assert answered[headers["language"]] == w.language
    assert w.outcome in answered.values()
    assert answered[headers["registered_on"]] == datetime(2026, 11, 23)  # a date, not text
    assert answered[headers["created_at"]] == datetime(2026, 11, 23, 10, 0)  # local time
    assert duplicate[headers["status"]] == w.duplicate
    assert "2026-00001" in duplicate.values()  # the original's number, not its id
    assert "А. Н." in answered.values() and "+7 7•• ••• •• 77" in answered.values()
    assert "Асель Нурланова" not in answered.values()
    assert not [v for v in answered.values() if v in ("application", "other", "satisfied")]
    bookings = book[w.bookings_sheet]
    assert bookings["A1"].value
    assert tuple(c.value for c in bookings[2][: len(w.booking_headers)]) == w.booking_headers
    [booked] = records(bookings)
    assert booked[w.booking_headers[0]] == w.reception
    assert booked[w.booking_headers[3]] == w.expected
    assert booked[w.booking_headers[4]] == w.needs
    assert "+7 7•• ••• •• 33" in booked.values()

    # Full contacts: refused in the group, whoever asks, with no file …
    since = h.fake.mark()
    refused = await ask(h, OFFICIALS, OFFICIAL, "/export full")
    assert w.refused_full in (refused.text or "")
    h.fake.set_chat_member(OFFICIALS, ADMIN)
    refused = await ask(h, OFFICIALS, ADMIN, "/export full 7")
    assert w.refused_full in (refused.text or "")
    assert not [c for c in h.fake.calls[since:] if c.method == "sendDocument"]
    assert rows(h, "SELECT count(*) FROM contact_views")[0][0] == 0
    # … given to an administrator in private, and recorded like a look at each contact.
    document = await ask(h, ADMIN, ADMIN, "/export full")
    full = records(workbook(h, document)[w.appeals_sheet])
    assert "Асель Нурланова" in full[0].values() and "+77015556677" in full[0].values()
    views = rows(h, "SELECT appeal_id, official_id, via FROM contact_views ORDER BY appeal_id")
    assert [tuple(v) for v in views] == [(1, ADMIN, "export"), (2, ADMIN, "export")]
    [export] = rows(h, "SELECT official_id, appeals, bookings FROM contact_exports")
    assert tuple(export) == (ADMIN, 2, 1)


# --- item 11: a readable history ------------------------------------------------------------


async def test_find_tells_who_did_what(day_one: tuple[Harness, Words]) -> None:
    h, w = day_one
    appeal = await filed(h, ANNA)
    repeated = await filed(h, ANNA, key="draft-repeat")
    card = await card_of(h, appeal.reference)
    await group_alert(h, OFFICIAL, card, "▶️")
    await official_reply(h, card, "⏳", "15.01.2027\nнужна экспертиза")
    await official_reply(h, await card_of(h, repeated.reference), "🔁", appeal.reference)
    # Answered, then the citizen says it is not solved, with a comment: reopened.
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), "Фонарь заменён.")
    since = h.fake.mark()
    await send_preview(h, preview)
    answer = await h.reply(ANNA, since, expect="Фонарь заменён.")
    since = h.fake.mark()
    h.fake.press(ANNA, answer, h.fake.find_button(answer, "Нет"))
    await h.with_button(ANNA, since, "Пропустить")
    since = h.fake.mark()
    h.fake.user_message(ANNA, "Во дворе до сих пор темно")
    await h.with_button(ANNA, since, "5 ⭐")
    # Then forwarded to the department, which now holds it.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "↪️"), first_name="Official900")
    picker = await h.fake.wait_for(lambda c: "card:fwd" in str(c.params), since=since)
    since = h.fake.mark()
    h.fake.press(OFFICIAL, picker, h.fake.buttons(picker)[0][1] or "")
    await h.fake.wait_for(lambda c: h.fake.chat_of(c) == DEPARTMENT, since=since)

    found = await ask(h, DEPARTMENT, DEPARTMENT_OFFICIAL, f"/find {appeal.reference}")
    text = found.text or ""
    assert w.history in text
    lines = text.split("\n")

    def line_with(what: str) -> str:
        return next(line for line in lines if what in line)

    assert line_with(w.taken).endswith(f"Official900 · {w.taken}")
    assert f"Official900 · {w.extended}" in line_with(w.extended)
    assert f"Official900 · {w.answered}" in line_with(w.answered)
    assert f"{w.citizen} · {w.reopened}" in line_with(w.reopened)
    assert w.comment in lines[lines.index(line_with(w.reopened)) + 1]
    assert f"Official900 · {w.forwarded}" in line_with(w.forwarded)
    # The citizen is «the citizen»: never their Telegram id or their name.
    history = text[text.index(w.history) :]
    assert str(ANNA) not in history and "official:" not in history and "Асель" not in text

    # The duplicate's history names the appeal it repeats; the main chat still holds it.
    found = await ask(h, OFFICIALS, OFFICIAL, f"/find {repeated.reference}")
    assert f"Official900 · {w.duplicate_of}" in (found.text or "")
    # A missing number, and one that went to another chat: «not found»; none: the usage.
    assert (await ask(h, OFFICIALS, OFFICIAL, "/find 2026-09999")).text == w.not_found
    moved = await ask(h, OFFICIALS, OFFICIAL, f"/find {appeal.reference}")
    assert moved.text == w.not_found.replace("2026-09999", appeal.reference)
    assert ((await ask(h, OFFICIALS, OFFICIAL, "/find")).text or "").startswith(w.usage)


# --- item 12: receptions at the door --------------------------------------------------------


async def test_receptions_at_the_door(day_one: tuple[Harness, Words]) -> None:
    h, w = day_one
    await onboard(h, ANNA, "ru")
    await book_first_slot(
        h, ANNA, "ru", "Вопрос о назначении пособия", first_name="Асель", last_name="Нурланова"
    )
    # Monday: no session today; Wednesday's is booked, so /receptions alone shows it, with
    # the full name for the staff at the door, and no attendance buttons before the day.
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/receptions", first_name="Official900")
    session = await h.fake.wait_for(lambda c: in_officials(h, c, "10:00"), since=since)
    texts = [
        c.text or ""
        for c in h.fake.calls[since:]
        if c.method == "sendMessage" and h.fake.chat_of(c) == OFFICIALS
    ]
    assert w.no_receptions_today in texts[0]
    assert w.reception in (session.text or "")
    assert "Асель Нурланова" in (session.text or "")
    assert [label for label, _ in h.fake.buttons(session) if "✅" in label] == []
    # A department's chat holds no bookings: it sees initials, as before.
    elsewhere = await ask(h, DEPARTMENT, DEPARTMENT_OFFICIAL, "/receptions 25.11.2026")
    assert "А. Н." in (elsewhere.text or "") and "Нурланова" not in (elsewhere.text or "")

    # Calling it off asks yes / no; «no» keeps it.
    since = h.fake.mark()
    h.fake.press(OFFICIAL, session, h.fake.find_button(session, "❌"))
    question = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and len(h.fake.buttons(c)) == 2, since=since
    )
    since = h.fake.mark()
    h.fake.press(OFFICIAL, question, h.fake.buttons(question)[1][1] or "")
    kept = await h.fake.wait_for(lambda c: c.method == "editMessageText", since=since)
    assert w.not_called_off in (kept.text or "")
    assert rows(h, "SELECT status FROM bookings")[0]["status"] == "booked"

    # On the day: attended / no-show by name; a mark shows in the list at once.
    h.clock.at = datetime(2026, 11, 25, 9, 0, tzinfo=ALMATY)
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/receptions", first_name="Official900")
    today = await h.fake.wait_for(lambda c: in_officials(h, c, "10:00"), since=since)
    attended = h.fake.find_button(today, "✅ 10:00 Асель Нурланова")
    assert h.fake.find_button(today, "🚫 10:00 Асель Нурланова")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, today, attended)
    marked = await h.fake.wait_for(lambda c: c.method == "editMessageText", since=since)
    assert "✅ 10:00 · Асель Нурланова" in (marked.text or "")
    assert not [label for label, _ in h.fake.buttons(marked) if "Асель" in label]
    assert rows(h, "SELECT status FROM bookings")[0]["status"] == "attended"


# --- item 13: /stats in minutes, one word for usage hints -----------------------------------


async def test_stats_in_minutes_and_one_usage_word(day_one: tuple[Harness, Words]) -> None:
    h, w = day_one
    appeal = await filed(h, ANNA)
    card = await card_of(h, appeal.reference)
    h.clock.at += timedelta(minutes=35)
    await group_alert(h, OFFICIAL, card, "▶️")
    stats = await ask(h, OFFICIALS, OFFICIAL, "/stats 7")
    assert w.minutes in (stats.text or "")
    for command in ("/stats x", "/export x", "/find", "/receptions 31.02.2026"):
        usage = await ask(h, OFFICIALS, OFFICIAL, command)
        assert (usage.text or "").startswith(w.usage), (command, usage.text)
