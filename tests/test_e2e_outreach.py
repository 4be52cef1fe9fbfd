"""The state reaches out (issue #13) over HTTP: citizens subscribe by place in Kazakh and in
Russian, an official announces to one district and only its subscribers get it, in their
language, once; «Unsubscribe» under it works; a broadcast to hundreds of subscribers goes out
with its progress shown, survives a restart of the process mid-way and sends nothing twice;
«Stop» stops it; a citizen's /announce is refused."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest

from bot.domain.catalog import BUNDLED_CATALOG
from storage.stores import open_stores
from tests import e2edb
from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import Call, FakeTelegram
from tests.realbot import RealBot
from tests.test_e2e_appeal import onboard, reach_review, rows
from tests.test_e2e_officials import open_prompt, reply_to

pytestmark = pytest.mark.e2e

OFFICIAL = 900
SEMEY, KURCHATOV = "101000000", "101800000"
ANNA, AIGUL, BORIS, DANA = 1401, 1402, 1403, 1404  # ru Semey, kk Semey, ru Kurchatov, none
KK_TEXT = "Ертең сағат 10:00-де <b>жиналыс</b> & сұрақтар"
RU_TEXT = "Завтра в 10:00 <b>собрание</b> & вопросы"
HEADING = {"ru": "Объявление акимата", "kk": "Әкімдік хабарландыруы"}
WAIT = 60.0  # the machine is shared: generous
ANSWER = "Ваш вопрос решён: ремонт дороги назначен на понедельник."


# --- driving the officials' dialog (works for an in-process bot and for a real process) ------


async def group_reply(fake: FakeTelegram, since: int, *needles: str, method: str = "sendMessage",
                      timeout: float = WAIT) -> Call:  # noqa: ASYNC109  # fmt: skip
    return await fake.wait_for(
        lambda c: c.method == method and not c.failed and fake.chat_of(c) == OFFICIALS
        and all(n in (c.text or "") for n in needles),
        since=since, timeout=timeout,
    )  # fmt: skip


async def press(fake: FakeTelegram, on: Call, label: str, *needles: str,
                method: str = "editMessageText") -> Call:  # fmt: skip
    since = fake.mark()
    fake.press(OFFICIAL, on, fake.find_button(on, label), first_name="Асқар")
    return await group_reply(fake, since, *needles, method=method)


async def say_in_group(fake: FakeTelegram, text: str, *needles: str, reply_to: Call | None = None
                       ) -> Call:  # fmt: skip
    since = fake.mark()
    extra = {"reply_to_message": reply_to.result} if reply_to is not None else {}
    fake.group_message(OFFICIALS, OFFICIAL, text, first_name="Асқар", **extra)
    return await group_reply(fake, since, *needles)


async def announce(
    fake: FakeTelegram, district: str = "г. Семей", kk: str = KK_TEXT, ru: str = RU_TEXT
) -> Call:
    """/announce to one district, both texts, up to the review card (returned)."""
    kinds = await say_in_group(fake, "/announce", "Новое объявление")
    assert [label for label, _ in fake.buttons(kinds)] == [
        "🤝 Встреча с населением",
        "📄 Объявление",
        "📊 Опрос",
        "✖️ Отмена",
    ]
    districts = await press(fake, kinds, "📄", "В какие районы")
    chosen = await press(fake, districts, district, "Выбрано")
    assert any(label == f"✅ {district}" for label, _ in fake.buttons(chosen))
    since = fake.mark()
    fake.press(OFFICIAL, chosen, fake.find_button(chosen, "Далее"), first_name="Асқар")
    prompt_kk = await group_reply(fake, since, "казахском")
    assert (prompt_kk.params.get("reply_markup") or {}).get("force_reply")
    # A message to colleagues meanwhile is no text of the announcement.
    fake.group_message(OFFICIALS, OFFICIAL, "Коллеги, кто на обед?", first_name="Асқар")
    since = fake.mark()
    fake.group_message(OFFICIALS, OFFICIAL, kk, first_name="Асқар",
                       reply_to_message=prompt_kk.result)  # fmt: skip
    prompt_ru = await group_reply(fake, since, "русском")
    texts = [c.text or "" for c in fake.calls[since:] if fake.chat_of(c) == OFFICIALS]
    assert not any("обед" in t for t in texts)
    preview_kk = [t for t in texts if HEADING["kk"] in t]
    assert len(preview_kk) == 1 and escape(kk) in preview_kk[0]  # exactly as citizens see it
    since = fake.mark()
    fake.group_message(OFFICIALS, OFFICIAL, ru, first_name="Асқар",
                       reply_to_message=prompt_ru.result)  # fmt: skip
    review = await group_reply(fake, since, "Объявление готово")
    texts = [c.text or "" for c in fake.calls[since:] if fake.chat_of(c) == OFFICIALS]
    assert len([t for t in texts if HEADING["ru"] in t and escape(ru) in t]) == 1
    return review


def announcements_to(fake: FakeTelegram, chat: int, since: int = 0) -> list[Call]:
    return [
        c for c in fake.calls[since:]
        if c.method == "sendMessage" and not c.failed and fake.chat_of(c) == chat
        and any(h in (c.text or "") for h in HEADING.values())
    ]  # fmt: skip


# --- subscriptions and one announcement ------------------------------------------------------


async def subscribe(h: Harness, user: int, lang: str, region: str, district: str) -> Call:
    add = "➕"
    screen = (
        await h.say(user, "/subscribe", lang=lang)
        if lang == "ru"
        else await h.say(user, "🔔 Хабарландырулар", lang=lang)  # the menu's button
    )
    regions = await h.click(user, screen, add, method="editMessageText", lang=lang)
    districts = await h.click(user, regions, region, method="editMessageText", lang=lang)
    return await h.click(user, districts, district, method="editMessageText", lang=lang)


async def test_subscribers_of_the_district_get_it_in_their_language_once(
    harness: Harness,
) -> None:
    h = harness
    for user, lang in ((ANNA, "ru"), (AIGUL, "kk"), (BORIS, "ru"), (DANA, "ru")):
        await onboard(h, user, lang)
    done = await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    assert "✅ Вы подписаны на объявления: г. Семей." in (done.text or "")
    done = await subscribe(h, AIGUL, "kk", "Абай облысы", "Семей")
    assert "Сіз хабарландыруларға жазылдыңыз: Семей қаласы" in (done.text or "")
    await subscribe(h, BORIS, "ru", "Абайская", "Курчатов")
    # Several subscriptions are allowed, and listed.
    await subscribe(h, BORIS, "ru", "Абайская", "Аягоз")
    listed = await h.say(BORIS, "/subscribe")
    assert "г. Курчатов" in (listed.text or "") and "Аягоз" in (listed.text or "")
    assert rows(h, "SELECT COUNT(*) AS n FROM subscriptions")[0]["n"] == 4

    review = await announce(h.fake)
    assert "Подписчиков сейчас: 2" in (review.text or "")
    since = h.fake.mark()
    progress = await press(h.fake, review, "📤", "Объявление № 1")
    assert "Отправлено:" in (progress.text or "")
    await h.fake.wait_for(
        lambda c: all(announcements_to(h.fake, u, since) for u in (ANNA, AIGUL)), timeout=WAIT
    )
    final = await group_reply(h.fake, since, "Отправлено: 2 из 2", "Завершено",
                              method="editMessageText")  # fmt: skip
    assert not h.fake.buttons(final)  # «Stop» goes once it is over
    # A second «Send» on the review card sends nothing again.
    alert = await h.alert(OFFICIAL, review, h.fake.find_button(review, "📤"))
    assert "больше не действует" in alert
    await h.quiet(1.0)

    (anna,) = announcements_to(h.fake, ANNA)
    assert "собрание" in (anna.text or "") and "г. Семей" in (anna.text or "")
    assert "&lt;b&gt;собрание&lt;/b&gt; &amp; вопросы" in (anna.text or "")  # escaped
    (aigul,) = announcements_to(h.fake, AIGUL)
    assert "жиналыс" in (aigul.text or "") and "Семей қаласы" in (aigul.text or "")
    assert announcements_to(h.fake, BORIS) == [] and announcements_to(h.fake, DANA) == []

    # One tap unsubscribes, from the district named on the button.
    since = h.fake.mark()
    h.fake.press(ANNA, anna, h.fake.find_button(anna, "Отписаться: г. Семей"))
    answer = await h.fake.wait_for(lambda c: c.method == "answerCallbackQuery", since=since)
    assert "больше не будут приходить" in str(answer.params.get("text"))
    await h.fake.wait_for(lambda c: c.method == "editMessageReplyMarkup", since=since)
    alert = await h.alert(AIGUL, aigul, h.fake.find_button(aigul, "Барлық жазылымнан шығу"))
    assert "шықтыңыз" in alert
    left = rows(h, "SELECT citizen_id FROM subscriptions ORDER BY citizen_id")
    assert [r["citizen_id"] for r in left] == [BORIS, BORIS]

    # The next announcement to Semey reaches nobody: nobody is subscribed there any more.
    review = await announce(h.fake, kk="Екінші хабарландыру мәтіні", ru="Второе объявление, текст")
    assert "Подписчиков сейчас: 0" in (review.text or "")


async def test_a_citizens_announce_is_refused(harness: Harness) -> None:
    h = harness
    await onboard(h, DANA, "ru")
    refusal = await h.say(DANA, "/announce")
    assert "предназначена для должностных лиц" in (refusal.text or "")
    since = h.fake.mark()
    # A stranger in the officials' chat is refused too, and no dialog starts.
    h.fake.set_chat_member(OFFICIALS, 999, status="left")
    h.fake.group_message(OFFICIALS, 999, "/announce", first_name="Чужой")
    await group_reply(h.fake, since, "предназначена для должностных лиц")
    assert not [c for c in h.fake.calls[since:] if "Новое объявление" in (c.text or "")]


# --- a broadcast to hundreds -------------------------------------------------------------------

SUBSCRIBERS = 300
FIRST = 500_000


async def seed_subscribers(database_url: str, count: int = SUBSCRIBERS) -> None:
    """Through the store, not the dialogs: half Kazakh, half Russian, all in Semey."""
    stores = await open_stores(database_url)
    try:
        now = datetime.now(UTC)
        for n in range(count):
            citizen = FIRST + n
            await stores.repository.set_language(citizen, "kk" if n % 2 else "ru")
            await stores.subscriptions.subscribe(citizen, SEMEY, now)
    finally:
        await stores.database.close()


def delivered(
    fake: FakeTelegram, upto: int | None = None, count: int = SUBSCRIBERS
) -> Counter[int]:
    """Announcement messages per subscriber (among `fake.calls[:upto]`), each checked to be in
    the citizen's language."""
    counts: Counter[int] = Counter()
    for call in fake.calls[:upto]:
        chat = fake.chat_of(call)
        if call.method != "sendMessage" or call.failed or not isinstance(chat, int):
            continue
        if FIRST <= chat < FIRST + count:
            lang = "kk" if (chat - FIRST) % 2 else "ru"
            assert HEADING[lang] in (call.text or ""), call
            counts[chat] += 1
    return counts


async def wait_delivered(
    fake: FakeTelegram,
    at_least: int,
    timeout: float = 120.0,  # noqa: ASYNC109 - a plain bound
) -> None:
    await fake.wait_for(lambda c: sum(delivered(fake).values()) >= at_least, timeout=timeout)


@pytest.fixture
async def many(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", broadcast_progress_interval=1.0)
    await seed_subscribers(settings.database_url)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_stop_drops_what_is_not_sent_yet(many: Harness) -> None:
    h = many
    review = await announce(h.fake)
    assert f"Подписчиков сейчас: {SUBSCRIBERS}" in (review.text or "")
    since = h.fake.mark()
    progress = await press(h.fake, review, "📤", "Объявление № 1")
    assert "⏹" in [label[0] for label, _ in h.fake.buttons(progress)]
    await wait_delivered(h.fake, 10)
    alert = await h.alert(OFFICIAL, progress, h.fake.find_button(progress, "⏹"))
    assert "Остановлено" in alert
    final = await group_reply(h.fake, since, "Остановлено: не отправлено",
                              method="editMessageText")  # fmt: skip
    assert not h.fake.buttons(final)
    await h.quiet(3.0)  # what was on its way when «Stop» came has landed
    counts = delivered(h.fake)
    assert set(counts.values()) == {1}
    sent = rows(h, "SELECT COUNT(*) AS n FROM outbox WHERE purpose = 'announce:1' "
                   "AND sent_at IS NOT NULL")[0]["n"]  # fmt: skip
    pending = rows(h, "SELECT COUNT(*) AS n FROM outbox WHERE purpose = 'announce:1' "
                      "AND sent_at IS NULL AND dropped_at IS NULL")[0]["n"]  # fmt: skip
    assert sum(counts.values()) == sent < SUBSCRIBERS and pending == 0
    # The progress message ends with what went out, those on their way at «Stop» included.
    await group_reply(h.fake, since, f"Отправлено: {sent} из {SUBSCRIBERS}", "Остановлено",
                      method="editMessageText")  # fmt: skip
    # A second «Stop» is told it is over.
    alert = await h.alert(OFFICIAL, progress, h.fake.find_button(progress, "⏹"))
    assert "уже не отправляется" in alert
    await h.quiet(2.0)
    assert sum(delivered(h.fake).values()) == sent


async def test_a_broadcast_to_hundreds_survives_a_restart_and_sends_nothing_twice(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    bot = RealBot(fake, tmp_path, OFFICIALS_CHAT_ID=str(OFFICIALS),
                  BROADCAST_PROGRESS_INTERVAL="1")  # fmt: skip
    bot.database.parent.mkdir(parents=True, exist_ok=True)
    url = e2edb.database_url(bot.database)
    await seed_subscribers(url)
    await bot.start()
    review = await announce(fake)
    assert f"Подписчиков сейчас: {SUBSCRIBERS}" in (review.text or "")
    started = time.monotonic()
    await press(fake, review, "📤", "Объявление № 1")
    await wait_delivered(fake, 30)
    assert await bot.stop() == 0  # a deploy, mid-way
    before = sum(delivered(fake).values())
    assert before < SUBSCRIBERS

    since = fake.mark()
    await bot.start()
    await wait_delivered(fake, SUBSCRIBERS, timeout=180.0)
    elapsed = time.monotonic() - started
    # The progress message carries on after the restart, from the database.
    final = await group_reply(fake, since, f"Отправлено: {SUBSCRIBERS} из {SUBSCRIBERS}",
                              "Завершено", method="editMessageText", timeout=120.0)  # fmt: skip
    assert "Не доставлено: 0" in (final.text or "")
    await bot.stop()
    counts = delivered(fake)
    assert len(counts) == SUBSCRIBERS and set(counts.values()) == {1}
    assert e2edb.query(url, "SELECT status, total FROM announcements") == [("done", SUBSCRIBERS)]
    print(f"\nbroadcast: {SUBSCRIBERS} messages in {elapsed:.1f}s with a restart "
          f"({SUBSCRIBERS / elapsed:.1f}/s)")  # fmt: skip


# --- a broadcast gives way to everything else ----------------------------------------------

CROWD = 1000  # some 50 s of announcements at the broadcast's pace
CITIZEN = 1405
# Announcements that may go out between a card or an answer being caused and its arrival: the
# update's handling and the next free slot (3 s at 20/s; 0 to 2 in the runs so far). Without
# the broadcast giving way, every announcement queued before it goes first: all the crowd but
# the first few.
AHEAD_AT_MOST = 60


@pytest.fixture
async def crowd(fake: FakeTelegram, tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Harness]:
    settings = make_settings(fake.base_url, tmp_path / "bot.db", broadcast_progress_interval=1.0)
    await seed_subscribers(settings.database_url, CROWD)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


def announced(fake: FakeTelegram, upto: int | None = None) -> int:
    return sum(delivered(fake, upto, CROWD).values())


async def test_a_broadcast_never_holds_back_a_card_or_an_answer(crowd: Harness) -> None:
    h = crowd
    review = await reach_review(h, CITIZEN)  # a citizen about to file an appeal
    announcement = await announce(h.fake)
    assert f"Подписчиков сейчас: {CROWD}" in (announcement.text or "")
    await press(h.fake, announcement, "📤", "Объявление № 1")
    await h.fake.wait_for(lambda c: announced(h.fake) >= 20, timeout=WAIT)

    # The citizen files: the officials' card (an outbox row) comes before the announcements
    # still waiting, though they were queued first.
    since = h.fake.mark()
    before = announced(h.fake)
    h.fake.press(CITIZEN, review, h.fake.find_button(review, "✅"))
    registered = await h.reply(CITIZEN, since, expect="2026-00001", method="editMessageText")
    card = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and not c.failed and h.fake.chat_of(c) == OFFICIALS
        and (c.text or "").startswith("🆕 <b>№") and "2026-00001" in (c.text or ""),
        since=since, timeout=2 * WAIT,
    )  # fmt: skip
    at_card = announced(h.fake, h.fake.calls.index(card))
    assert at_card - before < AHEAD_AT_MOST, (before, at_card)
    assert "2026-00001" in (registered.text or "")

    # An official answers: the citizen's answer (an outbox row) overtakes the broadcast too.
    prompt = await open_prompt(h, card, "✍️")
    preview = await reply_to(h, prompt, ANSWER)
    since = h.fake.mark()
    before = announced(h.fake)
    h.fake.press(OFFICIAL, preview, h.fake.find_button(preview, "✅"))
    answer = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and not c.failed and h.fake.chat_of(c) == CITIZEN
        and ANSWER in (c.text or ""),
        since=since, timeout=2 * WAIT,
    )  # fmt: skip
    at_answer = announced(h.fake, h.fake.calls.index(answer))
    assert at_answer - before < AHEAD_AT_MOST, (before, at_answer)
    # Well before the broadcast is over, which carries on meanwhile, each message once.
    assert at_answer < CROWD - AHEAD_AT_MOST
    await h.fake.wait_for(lambda c: announced(h.fake) >= at_answer + 20, timeout=WAIT)
    assert set(delivered(h.fake, count=CROWD).values()) == {1}


# --- an akimat of one district ---------------------------------------------------------------


@pytest.fixture
async def one_district(
    fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[Harness]:
    catalog = tmp_path / "catalog.toml"
    bundled = BUNDLED_CATALOG.read_text(encoding="utf-8")
    assert "\ndistricts = []\n" in bundled
    catalog.write_text(
        bundled.replace("\ndistricts = []\n", f'\ndistricts = ["{SEMEY}"]\n'), encoding="utf-8"
    )
    settings = make_settings(fake.base_url, tmp_path / "bot.db", catalog_path=catalog)
    app, task = await start_bot(fake, settings, clock)
    h = Harness(fake, app, task, clock)
    yield h
    await stop_bot(h.app, h.task)


async def test_one_district_is_never_asked_for(one_district: Harness) -> None:
    h = one_district
    await onboard(h, ANNA, "ru")
    screen = await h.say(ANNA, "/subscribe")
    done = await h.click(ANNA, screen, "➕", method="editMessageText")
    assert "✅ Вы подписаны на объявления: г. Семей." in (done.text or "")

    kinds = await say_in_group(h.fake, "/announce", "Новое объявление")
    since = h.fake.mark()
    h.fake.press(OFFICIAL, kinds, h.fake.find_button(kinds, "📄"), first_name="Асқар")
    await group_reply(h.fake, since, "казахском")
    assert not [c for c in h.fake.calls[since:] if "В какие районы" in (c.text or "")]


async def test_forget_erases_the_subscriptions(harness: Harness) -> None:
    h = harness
    await onboard(h, ANNA, "ru")
    done = await subscribe(h, ANNA, "ru", "Абайская", "Семей")
    assert rows(h, "SELECT COUNT(*) AS n FROM subscriptions")[0]["n"] == 1
    privacy = await h.say(ANNA, "/privacy")
    assert "/subscribe" in (privacy.text or "") and "Отписаться" in (privacy.text or "")
    question = await h.say(ANNA, "/forget")
    await h.press(ANNA, question, h.fake.buttons(question)[0][1] or "", method="editMessageText")
    assert rows(h, "SELECT COUNT(*) AS n FROM subscriptions")[0]["n"] == 0
    # A screen left from before subscribes nobody now.
    alert = await h.alert(ANNA, done, h.fake.find_button(done, "➕"))
    assert "больше не действует" in alert
    assert rows(h, "SELECT COUNT(*) AS n FROM subscriptions")[0]["n"] == 0
