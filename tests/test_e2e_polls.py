"""Polls (issue #13) over HTTP: an official announces a poll to two districts (its end time,
the question and the options in Kazakh and in Russian, each checked and previewed); each
subscriber gets a native Telegram poll in their language, not anonymous to the bot; votes
count once per citizen (a change replaces, a retraction removes, a vote after the end time
or on a forwarded copy does not count); at the end time the polls are stopped and the
results reach the citizens, once; /stats, /export and that day's digest show the results by
option and by district; /privacy says what is kept and /forget erases it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest

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
from tests.test_e2e_outreach import (
    OFFICIAL,
    WAIT,
    group_reply,
    press,
    say_in_group,
    subscribe,
)

pytestmark = pytest.mark.e2e

ANNA, AIGUL, BORIS, DANA, ERLAN = 1501, 1502, 1503, 1504, 1505
SEMEY, KURCHATOV = "101000000", "101800000"
# The business clock stands at 23.11.2026 10:00 in Almaty.
CLOSES = "23.11.2026 15:00"
QUESTION_KK = "Қалада жаңа саябақ керек пе?"
QUESTION_RU = "=Нужен ли городу новый парк?"  # typed by an official: inert in the sheet
OPTIONS_KK = "1. Иә\n2. Жоқ\n3. Білмеймін <b>"
OPTIONS_RU = "Да\nНет\nНе знаю <b>"


async def reply_in_group(fake: FakeTelegram, prompt: Call, text: str, *needles: str) -> Call:
    since = fake.mark()
    fake.group_message(OFFICIALS, OFFICIAL, text, first_name="Асқар",
                       reply_to_message=prompt.result)  # fmt: skip
    return await group_reply(fake, since, *needles)


async def announce_poll(fake: FakeTelegram) -> Call:
    """/announce a poll to Semey and Kurchatov, up to the review card (returned)."""
    kinds = await say_in_group(fake, "/announce", "Новое объявление")
    districts = await press(fake, kinds, "📊", "В какие районы")
    chosen = await press(fake, districts, "г. Семей", "Выбрано")
    chosen = await press(fake, chosen, "г. Курчатов", "Выбрано")
    since = fake.mark()
    fake.press(OFFICIAL, chosen, fake.find_button(chosen, "Далее"), first_name="Асқар")
    closes = await group_reply(fake, since, "когда опрос закрывается")
    await reply_in_group(fake, closes, "22.11.2026 15:00", "уже прошло")
    question_kk = await reply_in_group(fake, closes, CLOSES, "вопросом опроса на казахском")
    await reply_in_group(fake, question_kk, "Иә?", "Вопрос слишком короткий")
    options_kk = await reply_in_group(fake, question_kk, QUESTION_KK,
                                      "вариантами ответа на казахском")  # fmt: skip
    await reply_in_group(fake, options_kk, "Иә", "Слишком мало вариантов")
    await reply_in_group(fake, options_kk, "Иә\nиә", "совпадают")
    since = fake.mark()
    question_ru = await reply_in_group(fake, options_kk, OPTIONS_KK,
                                       "вопросом опроса на русском")  # fmt: skip
    texts = [c.text or "" for c in fake.calls[since:] if fake.chat_of(c) == OFFICIALS]
    assert any("Предпросмотр на казахском" in t for t in texts)
    # The preview shows the options as they will read, everything typed escaped.
    assert any(QUESTION_KK in t and "○ Білмеймін &lt;b&gt;" in t for t in texts)
    options_ru = await reply_in_group(fake, question_ru, QUESTION_RU,
                                      "вариантами ответа на русском", "вариантов: 3")  # fmt: skip
    await reply_in_group(fake, options_ru, "Да\nНет", "столько же, сколько на казахском (3)")
    review = await reply_in_group(fake, options_ru, OPTIONS_RU, "Объявление готово")
    text = review.text or ""
    assert "Вид: 📊 Опрос" in text and "Закрывается: 23 ноября 2026" in text
    assert "15:00" in text and "Вариантов: 3" in text
    return review


def polls_to(fake: FakeTelegram, chat: int) -> list[Call]:
    return [
        c for c in fake.calls
        if c.method == "sendPoll" and not c.failed and fake.chat_of(c) == chat
    ]  # fmt: skip


async def until(check: Callable[[], bool], what: str) -> None:
    """The bot says nothing to a vote: wait for the database to show it."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not check():
        assert asyncio.get_running_loop().time() < deadline, f"not reached: {what}"
        await asyncio.sleep(0.05)


def votes(h: Harness) -> dict[int, tuple[int, str]]:
    found = rows(h, "SELECT citizen_id, choice, district FROM poll_votes")
    return {int(r["citizen_id"]): (int(r["choice"]), r["district"]) for r in found}


def handled(h: Harness, update: dict[str, Any]) -> bool:
    found = rows(h, "SELECT 1 FROM processed_updates WHERE update_id = ?", update["update_id"])
    return bool(found)


async def vote(h: Harness, user: int, poll: Call, options: list[int]) -> None:
    update = h.fake.vote(user, poll, options)
    await until(lambda: handled(h, update), f"the vote of {user} handled")


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ALMATY)


async def test_a_poll_in_two_districts_votes_results_and_reports(harness: Harness) -> None:
    h = harness
    for user, lang in ((ANNA, "ru"), (AIGUL, "kk"), (BORIS, "ru"), (DANA, "kk"), (ERLAN, "ru")):
        await onboard(h, user, lang)
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    await subscribe(h, AIGUL, "kk", "Абай облысы", "Курчатов")
    await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")  # both: counted for Semey
    await subscribe(h, BORIS, "ru", "Абайская", "Курчатов")
    await subscribe(h, DANA, "kk", "Абай облысы", "Курчатов")

    review = await announce_poll(h.fake)
    assert "Подписчиков сейчас: 4" in (review.text or "")
    since = h.fake.mark()
    await press(h.fake, review, "📤", "Объявление № 1")
    await h.fake.wait_for(
        lambda c: all(polls_to(h.fake, u) for u in (ANNA, AIGUL, BORIS, DANA)),
        since=since, timeout=WAIT,
    )  # fmt: skip
    polls = {u: polls_to(h.fake, u) for u in (ANNA, AIGUL, BORIS, DANA)}
    assert all(len(p) == 1 for p in polls.values())  # each once, however many districts
    assert polls_to(h.fake, ERLAN) == []  # subscribed to nothing
    anna, aigul, boris, dana = (polls[u][0] for u in (ANNA, AIGUL, BORIS, DANA))
    for call, lang in ((anna, "ru"), (aigul, "kk"), (boris, "ru"), (dana, "kk")):
        poll = h.fake.poll_of(call)
        assert poll["is_anonymous"] is False and poll["allows_multiple_answers"] is False
        options = [o["text"] for o in poll["options"]]
        if lang == "kk":
            assert poll["question"] == QUESTION_KK
            assert options == ["Иә", "Жоқ", "Білмеймін <b>"]  # plain text, as typed
        else:
            assert poll["question"] == QUESTION_RU
            assert options == ["Да", "Нет", "Не знаю <b>"]
    assert any("Отписаться" in label for label, _ in h.fake.buttons(anna))
    assert any("🔕" in label for label, _ in h.fake.buttons(aigul))
    # The sender recorded each Telegram poll with its citizen, language and district (it
    # records Telegram's reply just after the call the fake has seen).
    sql = "SELECT COUNT(*) FROM poll_sends p JOIN outbox o ON o.id = p.outbox_id"
    await until(lambda: rows(h, f"{sql} WHERE o.poll_id IS NOT NULL")[0][0] == 4, "poll ids")
    sends = rows(h, "SELECT p.citizen_id, p.language, p.district, o.poll_id FROM poll_sends p "
                    "JOIN outbox o ON o.id = p.outbox_id ORDER BY p.citizen_id")  # fmt: skip
    assert [(r[0], r[1], r[2]) for r in sends] == [
        (ANNA, "ru", SEMEY), (AIGUL, "kk", SEMEY), (BORIS, "ru", KURCHATOV),
        (DANA, "kk", KURCHATOV),
    ]  # fmt: skip
    assert [r[3] for r in sends] == [h.fake.poll_of(c)["id"] for c in (anna, aigul, boris, dana)]

    # Anna votes «Да», then changes to «Нет»; Aigul and Dana «Иә»; Boris votes and takes it
    # back; Erlan votes in a copy of Anna's poll forwarded to him: not hers, not counted.
    await vote(h, ANNA, anna, [0])
    assert votes(h)[ANNA] == (0, SEMEY)
    await vote(h, ANNA, anna, [1])
    await vote(h, AIGUL, aigul, [0])
    await vote(h, DANA, dana, [0])
    await vote(h, BORIS, boris, [2])
    assert BORIS in votes(h)
    await vote(h, BORIS, boris, [])
    await vote(h, ERLAN, anna, [0])
    assert votes(h) == {ANNA: (1, SEMEY), AIGUL: (0, SEMEY), DANA: (0, KURCHATOV)}

    # The end time passes; Dana changes her mind before the bot has closed the poll in
    # Telegram: too late, not counted.
    h.clock.at = local(23, 15, 1)
    await vote(h, DANA, dana, [2])
    assert votes(h)[DANA] == (0, KURCHATOV)

    since = h.fake.mark()
    polls_service = h.app.dp["polls"]
    assert await polls_service.tick(h.clock()) == [1]
    assert await polls_service.tick(h.clock()) == []  # closed once
    citizens = (ANNA, AIGUL, BORIS, DANA)
    await h.fake.wait_for(
        lambda c: len([s for s in h.fake.calls[since:] if s.method == "stopPoll"
                       and not s.failed]) == 4
        and all(any("Опрос завершён" in t or "Сауалнама аяқталды" in t
                    for t in h.texts_to(u, since)) for u in citizens),
        since=since, timeout=WAIT,
    )  # fmt: skip
    assert all(h.fake.poll_of(c)["is_closed"] for c in (anna, aigul, boris, dana))
    (anna_results,) = [t for t in h.texts_to(ANNA, since) if "Опрос завершён" in t]
    assert "Да — 2 (67%)" in anna_results and "Нет — 1 (33%)" in anna_results
    assert "Не знаю &lt;b&gt; — 0 (0%)" in anna_results and "Голосов: 3" in anna_results
    (aigul_results,) = [t for t in h.texts_to(AIGUL, since) if "Сауалнама аяқталды" in t]
    assert QUESTION_KK in aigul_results and "Иә — 2 (67%)" in aigul_results
    assert "Дауыс саны: 3" in aigul_results
    await h.quiet(1.0)
    assert len([c for c in h.fake.calls[since:] if c.method == "stopPoll"]) == 4  # once each

    # /stats: by option and by district.
    stats = await say_in_group(h.fake, "/stats", "Опросы")
    text = stats.text or ""
    assert "Опрос № 1" in text and "закрыт 23 ноября 2026" in text
    assert "Да — 2 (67%)" in text and "Голосов: 3 · получили опрос: 4" in text
    assert "г. Семей: Да — 1 · Нет — 1 · Не знаю &lt;b&gt; — 0" in text
    assert "г. Курчатов: Да — 1 · Нет — 0 · Не знаю &lt;b&gt; — 0" in text

    # /export: a sheet «Опросы», option × district, what officials typed inert.
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, "/export 7")
    document = await h.fake.wait_for(lambda c: c.method == "sendDocument", since=since,
                                     timeout=WAIT)  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(h.fake.uploaded(document)))
    assert book.sheetnames == ["Обращения", "Записи на приём", "Опросы"] or (
        book.sheetnames == ["Обращения", "Опросы"]
    )
    sheet = book["Опросы"]
    header = [c.value for c in sheet[2]]
    table = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(3)]
    counts = {(r["Район или город"], r["Вариант ответа"]): r["Голосов"] for r in table}
    assert counts[("Все районы", "Да")] == 2 and counts[("Все районы", "Нет")] == 1
    assert counts[("г. Семей", "Да")] == 1 and counts[("г. Семей", "Нет")] == 1
    assert counts[("г. Курчатов", "Да")] == 1 and counts[("г. Курчатов", "Не знаю <b>")] == 0
    assert {r["Вопрос"] for r in table} == {"'" + QUESTION_RU}
    assert all(r["Получили опрос"] == 4 for r in table)

    # The next morning's digest reports the day the poll closed, with its results.
    h.clock.at = local(24, 9, 30)
    since = h.fake.mark()
    await h.app.digests.tick(h.clock())
    digest = await group_reply(h.fake, since, "Опросы, закрытые в этот день")
    assert "Опрос № 1" in (digest.text or "") and "г. Курчатов: Да — 1" in (digest.text or "")

    # /privacy says what is kept; /forget erases Anna's vote and the record of her poll.
    privacy = await h.say(ANNA, "/privacy")
    assert "голосуете в опросе" in (privacy.text or "")
    question = await h.say(ANNA, "/forget")
    await h.press(ANNA, question, h.fake.buttons(question)[0][1] or "", method="editMessageText")
    assert ANNA not in votes(h)
    assert rows(h, "SELECT COUNT(*) AS n FROM poll_sends WHERE citizen_id = ?", ANNA)[0]["n"] == 0
    assert len(votes(h)) == 2  # the others' stay


async def test_a_poll_is_closed_once_across_a_restart(
    harness: Harness,
) -> None:
    """Whom a poll went to is in the database: a process started after the polls went out
    counts their votes; closing is claimed in the database: after a restart the new process
    finds the poll closed and sends nothing again."""
    h = harness
    await onboard(h, ANNA, "ru")
    await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    await onboard(h, AIGUL, "kk")
    await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")
    review = await announce_poll(h.fake)
    since = h.fake.mark()
    await press(h.fake, review, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: bool(polls_to(h.fake, ANNA)) and bool(polls_to(h.fake, AIGUL)),
                          since=since, timeout=WAIT)  # fmt: skip
    (anna,) = polls_to(h.fake, ANNA)
    await h.restart()
    await vote(h, ANNA, anna, [0])
    assert votes(h) == {ANNA: (0, SEMEY)}
    h.clock.at = local(23, 15) + timedelta(minutes=5)
    await h.app.dp["polls"].tick(h.clock())
    await h.fake.wait_for(lambda c: c.method == "stopPoll" and h.fake.chat_of(c) == AIGUL,
                          since=since, timeout=WAIT)  # fmt: skip
    await h.fake.wait_for(
        lambda c: "Опрос завершён" in (c.text or "") and h.fake.chat_of(c) == ANNA,
        since=since, timeout=WAIT,
    )  # fmt: skip
    await h.restart()
    mark = h.fake.mark()
    assert await h.app.dp["polls"].tick(h.clock()) == []
    await h.quiet(1.0)
    assert not [c for c in h.fake.calls[mark:] if c.method in ("stopPoll", "sendPoll")]
    assert not [t for t in h.texts_to(ANNA, mark) if "Опрос завершён" in t]


async def test_officials_in_kazakh_announce_a_poll_and_read_its_results(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> None:
    """The officials' side in Kazakh (OFFICIALS_LANGUAGE=kk): every prompt of the poll's
    dialog, the card, /stats and the digest of the closing day speak Kazakh."""
    settings = make_settings(fake.base_url, tmp_path / "bot.db", officials_language="kk")
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    try:
        await onboard(h, AIGUL, "kk")
        await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")
        kinds = await say_in_group(h.fake, "/announce", "Жаңа хабарландыру")
        districts = await press(h.fake, kinds, "📊", "Қай аудандарға")
        chosen = await press(h.fake, districts, "Семей", "Таңдалды")
        since = h.fake.mark()
        h.fake.press(OFFICIAL, chosen, h.fake.find_button(chosen, "Әрі қарай"),
                     first_name="Асқар")  # fmt: skip
        closes = await group_reply(h.fake, since, "сауалнама қашан жабылады")
        question_kk = await reply_in_group(h.fake, closes, CLOSES, "сауалнама сұрағымен қазақ")
        options_kk = await reply_in_group(h.fake, question_kk, QUESTION_KK,
                                          "жауап нұсқаларымен қазақ")  # fmt: skip
        await reply_in_group(h.fake, options_kk, "Иә", "Нұсқа тым аз")
        question_ru = await reply_in_group(h.fake, options_kk, OPTIONS_KK,
                                           "сауалнама сұрағымен орыс")  # fmt: skip
        options_ru = await reply_in_group(h.fake, question_ru, QUESTION_RU,
                                          "жауап нұсқаларымен орыс")  # fmt: skip
        review = await reply_in_group(h.fake, options_ru, OPTIONS_RU, "Хабарландыру дайын")
        assert "📊 Сауалнама" in (review.text or "") and "Нұсқалар саны: 3" in (review.text or "")
        since = h.fake.mark()
        await press(h.fake, review, "📤", "№ 1 хабарландыру")
        await h.fake.wait_for(lambda c: bool(polls_to(h.fake, AIGUL)), since=since, timeout=WAIT)
        (aigul,) = polls_to(h.fake, AIGUL)
        assert h.fake.poll_of(aigul)["question"] == QUESTION_KK
        await until(lambda: bool(rows(h, "SELECT poll_id FROM outbox WHERE poll_id IS NOT NULL")),
                    "the poll's id")  # fmt: skip
        await vote(h, AIGUL, aigul, [0])

        h.clock.at = local(23, 15, 1)
        assert await h.app.dp["polls"].tick(h.clock()) == [1]
        stats = await say_in_group(h.fake, "/stats", "Сауалнамалар")
        text = stats.text or ""
        assert "Сауалнама № 1" in text and "Иә — 1 (100%)" in text
        assert "Дауыс саны: 1 · сауалнаманы алғандар: 1" in text
        h.clock.at = local(24, 9, 30)
        since = h.fake.mark()
        await h.app.digests.tick(h.clock())
        digest = await group_reply(h.fake, since, "Сол күні жабылған сауалнамалар")
        assert "Сауалнама № 1" in (digest.text or "")
    finally:
        await stop_bot(h.app, h.task)
