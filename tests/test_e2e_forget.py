"""/forget erases what it promises (issue #10, item 8), driven over HTTP in Kazakh and in
Russian: a citizen who filed an appeal with photos, a document, a location and an address,
added to it, answered an official's question, booked a reception, said «not solved» with a
comment and left a draft half-way uses /forget; then every column of every table, the bytes of
the database files and the officials' chat as Telegram shows it hold nothing of theirs.

The officials' chat reads the citizen's language here (OFFICIALS_LANGUAGE), so both sides of
the erasure are seen in both languages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import OFFICIALS, FrozenClock, Harness, make_settings, start_bot, stop_bot
from tests.fakeapi import BOT_ID, Call, FakeTelegram
from tests.test_e2e_appeal import NAME as BYSTANDER_NAME
from tests.test_e2e_appeal import VALID_TEXT as BYSTANDER_TEXT
from tests.test_e2e_appeal import onboard, reach_review, rows
from tests.test_e2e_booking import book_first_slot
from tests.test_e2e_lifecycle import open_mine, under_card
from tests.test_e2e_officials import card_of, open_prompt, reply_to, send_preview
from tests.test_erasure import leftovers, raw_leftovers

pytestmark = pytest.mark.e2e
OFFICIAL = 900
BYSTANDER = 7700099
LAT, LON = 42.31718, 69.59683  # a courtyard in Shymkent


@dataclass(frozen=True)
class Citizen:
    """One citizen's data, in their language; every string is theirs alone."""

    lang: str
    id: int
    mark: str  # the start of the appeal's text: cut copies (the card) still hold it
    name: str
    first_names: str  # how an official addresses them in the answer
    phone: str
    address: str
    added: str
    answer: str  # to the official's question
    comment: str
    topic: str  # the booking's question
    draft: str  # a new appeal left half-way
    telegram_name: tuple[str, str]
    question: str  # the official's
    reply: str  # the official's answer, which names the citizen

    @property
    def text(self) -> str:
        # Over the card's 700 characters, so the card offers «📄 Show all».
        return f"{self.mark}. " + "Балалар алаңындағы әткеншек сынған, жөндеу керек. " * 16

    @property
    def files(self) -> tuple[str, ...]:
        return (f"AgACphotoOne{self.id}", f"AgACphotoTwo{self.id}", f"BQACdocument{self.id}",
                f"AgACaddedPhoto{self.id}")  # fmt: skip

    def secrets(self) -> tuple[str, ...]:
        digits = self.phone.replace(" ", "")
        return (self.mark, self.name, self.phone, digits, self.address, self.added, self.answer,
                self.comment, self.topic, self.draft, "+77011112233", "+7 701 111 22 33",
                *self.telegram_name,
                *self.files, repr(LAT), repr(LON))  # fmt: skip


KK = Citizen(
    lang="kk",
    id=7700001,
    mark="Тәуке хан даңғылы 85-үйдің ауласы",
    name="Сейткали Әйгерім Нұрланқызы",
    first_names="Әйгерім Нұрланқызы",
    phone="+7 705 918 27 36",
    address="Шымкент қ., Байтұрсынов көшесі, 12-үй, 7-пәтер",
    added="Әткеншектің шынжыры үзілген, екі бала жарақат алды.",
    answer="Екінші подъездің қарсы жағындағы әткеншек.",
    comment="Әткеншек әлі күнге дейін жөнделген жоқ.",
    topic="Балалар алаңын жөндеу туралы жеке сұрақ",
    draft="Қоқыс жәшігі екі аптадан бері шығарылмаған.",
    telegram_name=("Әйгерімжан", "Сейтқалиева"),
    question="Әткеншек қай подъездің жанында?",
    reply="Құрметті Әйгерім Нұрланқызы! Әткеншек осы аптада ауыстырылады.",
)
RU = Citizen(
    lang="ru",
    id=7700002,
    mark="Во дворе дома 85 по проспекту Тауке хана",
    name="Белоусова Ангелина Павловна",
    first_names="Ангелина Павловна",
    phone="+7 705 918 27 37",
    address="160012, г. Шымкент, ул. Байтурсынова, 12, кв. 7",
    added="Цепь качелей оборвана, двое детей получили травмы.",
    answer="Качели напротив второго подъезда.",
    comment="Качели до сих пор не починили.",
    topic="Личный вопрос о ремонте детской площадки",
    draft="Мусорный бак не вывозят уже две недели.",
    telegram_name=("Ангелиночка", "Белоусовая"),
    question="У какого подъезда качели?",
    reply="Уважаемая Ангелина Павловна! Качели заменят на этой неделе.",
)


@pytest.fixture
async def forgetting(
    request: pytest.FixtureRequest, fake: FakeTelegram, tmp_path: Path, clock: FrozenClock
) -> AsyncIterator[tuple[Harness, FrozenClock]]:
    """The officials' chat in the citizen's language; a delivery clock the test may move
    (Telegram's 48 hours)."""
    lang = getattr(request, "param", "ru")
    delivery = FrozenClock(clock.at)
    settings = make_settings(fake.base_url, tmp_path / "bot.db", officials_language=lang)
    app, task = await start_bot(fake, settings, clock, delivery)
    # The chat's pace (20 messages a minute) is not what these tests are about; at that pace
    # the last messages of the story would wait out the minute.
    app.sender.group_per_minute = 120
    h = Harness(fake, app, task, clock, delivery)
    yield h, delivery
    await stop_bot(h.app, h.task)


async def file_everything(h: Harness, who: Citizen) -> str:
    """Two photos, a document, a location, the name, phone and a postal address; returns
    the appeal's number."""
    lang, user = who.lang, who.id
    await onboard(h, user, lang)
    await start_appeal(h, who)
    await h.say(user, who.text, lang=lang)
    for number, file_id in enumerate(who.files[:2], start=1):
        since = h.fake.mark()
        h.fake.user_photo(user, file_id=file_id, language_code=lang)
        await h.reply(user, since, expect=str(number))
    since = h.fake.mark()
    h.fake.user_document(user, file_id=who.files[2], file_name="akt.pdf", language_code=lang)
    three = await h.reply(user, since, expect="3")
    await h.click(user, three, "✅", lang=lang)
    await h.say(user, None, lang=lang, location={"latitude": LAT, "longitude": LON})
    await h.say(user, who.name, lang=lang)
    await h.say(user, who.phone, lang=lang)
    since = h.fake.mark()
    h.fake.user_message(user, who.address, language_code=lang)
    review = await h.with_button(user, since, "✅")
    assert who.address in (review.text or "")
    registered = await h.confirm(user, review, lang=lang, expect="2026-")
    return (registered.text or "").split("<b>", 1)[1].split("</b>", 1)[0]


async def start_appeal(h: Harness, who: Citizen) -> None:
    """/new up to the text step: an application, «other», Karatau district of Shymkent."""
    catalog = h.app.catalog
    kind, other = catalog.kind("application"), catalog.category("other")
    assert kind is not None and other is not None
    kinds = await h.say(who.id, "/new", lang=who.lang)
    categories = await h.click(who.id, kinds, kind.name(who.lang), lang=who.lang)
    await h.click(who.id, categories, other.name(who.lang), lang=who.lang)
    await h.say(who.id, "Шымкент", lang=who.lang, expect="Шымкент")
    await h.say(who.id, "Каратау", lang=who.lang, expect="3500")


async def copies_for_officials(h: Harness, card: Call, reference: str, who: Citizen) -> None:
    """«📄 Show all» and /find post the card, text and all, in the chat."""
    since = h.fake.mark()
    h.fake.press(OFFICIAL, card, h.fake.find_button(card, "📄"), first_name="Official900")
    await h.fake.wait_for(lambda c: _in_officials(h, c, who.mark), since=since)
    since = h.fake.mark()
    h.fake.group_message(OFFICIALS, OFFICIAL, f"/find {reference}", first_name="Official900")
    await h.fake.wait_for(lambda c: _in_officials(h, c, who.mark), since=since)


def _in_officials(h: Harness, call: Call, text: str) -> bool:
    return (
        call.method == "sendMessage"
        and h.fake.chat_of(call) == OFFICIALS
        and not call.failed
        and text in (call.text or "")
    )


async def add_to_it(h: Harness, who: Citizen, reference: str, card: Call) -> None:
    mine = await open_mine(h, who.id, reference, who.lang)
    await h.press(who.id, mine, h.fake.buttons(mine)[0][1] or "", lang=who.lang)
    await h.say(who.id, who.added, lang=who.lang)
    since = h.fake.mark()
    h.fake.user_photo(who.id, file_id=who.files[3], language_code=who.lang)
    counted = await h.reply(who.id, since, expect="1")
    since = h.fake.mark()
    await h.click(who.id, counted, "✅", method="editMessageText", lang=who.lang)
    await under_card(h, card, since, "sendPhoto")


async def answer_a_question(h: Harness, who: Citizen, card: Call) -> None:
    prompt = await open_prompt(h, card, "❓")
    preview = await reply_to(h, prompt, who.question)
    since = h.fake.mark()
    await send_preview(h, preview)
    asked = await h.reply(who.id, since, expect=who.question)
    await h.press(who.id, asked, h.fake.buttons(asked)[0][1] or "", lang=who.lang)
    got = await h.say(who.id, who.answer, lang=who.lang)
    since = h.fake.mark()
    await h.click(who.id, got, "✅", method="editMessageText", lang=who.lang)
    await under_card(h, card, since)


async def not_solved(h: Harness, who: Citizen, card: Call) -> None:
    """An official answers (naming the citizen); the citizen says «no» and comments."""
    preview = await reply_to(h, await open_prompt(h, card, "✍️"), who.reply)
    since = h.fake.mark()
    await send_preview(h, preview)
    answer = await h.reply(who.id, since, expect=who.reply.split("!")[1].strip())
    no = h.fake.buttons(answer)[2][1] or ""  # yes · partly · no
    since = h.fake.mark()
    h.fake.press(who.id, answer, no, language_code=who.lang)
    await h.with_button(who.id, since, "")  # the comment's prompt, with «Skip»
    since = h.fake.mark()
    h.fake.user_message(who.id, who.comment, language_code=who.lang)
    await h.with_button(who.id, since, "5 ⭐")
    await h.fake.wait_for(lambda c: _in_officials(h, c, who.comment), since=since)


async def leave_a_draft(h: Harness, who: Citizen) -> None:
    await start_appeal(h, who)
    await h.say(who.id, who.draft, lang=who.lang)
    assert who.draft in rows(h, "SELECT data FROM fsm WHERE user_id = ?", who.id)[0][0]


def bot_messages_in(h: Harness, chat: int) -> list[str]:
    """What the chat shows now of the bot's messages, as JSON (text, captions, files, pins)."""
    return [json.dumps(m, ensure_ascii=False) for m in h.fake.messages_in(chat)
            if m.get("from", {}).get("id") == BOT_ID]  # fmt: skip


ERASED = {
    "kk": "🗑 Азамат дербес деректерін өшірді.",
    "ru": "🗑 Гражданин удалил свои персональные данные.",
}
FORGET = {
    "kk": ("Атыңыз, телефон нөміріңіз бен мекенжайыңыз", "Дербес деректеріңіз өшірілді."),
    "ru": ("Будут удалены ваши имя, номер телефона и адрес", "Ваши персональные данные удалены."),
}


@pytest.mark.parametrize(("forgetting", "who"), [("kk", KK), ("ru", RU)], indirect=["forgetting"],
                         ids=["kk", "ru"])  # fmt: skip
async def test_forget_leaves_nothing_of_the_citizen(
    forgetting: tuple[Harness, FrozenClock], who: Citizen
) -> None:
    h, _delivery = forgetting
    bystander = await reach_review(h, BYSTANDER)
    await h.confirm(BYSTANDER, bystander, expect="2026-")
    reference = await file_everything(h, who)
    card = await card_of(h, reference)
    for file_id in who.files[:3]:
        await h.fake.wait_for(lambda c, f=file_id: f in json.dumps(c.params))  # type: ignore[misc]
    await h.fake.wait_for(lambda c: c.method == "sendLocation")
    await copies_for_officials(h, card, reference, who)
    await add_to_it(h, who, reference, card)
    await answer_a_question(h, who, card)
    # Booked after /my was used above: /my lists bookings too, after the appeals.
    await book_first_slot(h, who.id, who.lang, who.topic, first_name=who.telegram_name[0],
                          last_name=who.telegram_name[1])  # fmt: skip
    await not_solved(h, who, card)
    await leave_a_draft(h, who)
    path = h.app.settings.database_url
    assert len(leftovers(path, who.secrets(), [who.id], [LAT, LON])) >= 10
    assert any(who.mark in m for m in bot_messages_in(h, OFFICIALS))

    question = await h.say(who.id, "/forget", lang=who.lang)
    assert (question.text or "").startswith(FORGET[who.lang][0])
    since = h.fake.mark()
    done = await forget_confirmed(h, who, question)
    assert done.text == FORGET[who.lang][1]

    # Every column of every table, and the bytes of the files.
    assert leftovers(path, who.secrets(), [who.id], [LAT, LON]) == []
    if path.startswith("sqlite:///"):  # the file's free pages (PostgreSQL has no file to read)
        assert raw_leftovers(Path(path.removeprefix("sqlite:///")), who.secrets(), [LAT, LON]) == []
    # Kept: the appeal as anonymous figures, and the official's answer without the name.
    [appeal] = rows(h, "SELECT * FROM appeals WHERE reference = ?", reference)
    assert (appeal["kind"], appeal["category"], appeal["status"], appeal["solved"]) == (
        "application", "other", "in_progress", "no")  # fmt: skip
    assert appeal["answer_text"] == who.reply.replace(who.first_names, "*** ***")
    [booking] = rows(h, "SELECT status, citizen_id, access FROM bookings")
    assert tuple(booking) == ("cancelled", None, '["wheelchair"]')
    # The bystander lost nothing.
    assert leftovers(path, [BYSTANDER_NAME, BYSTANDER_TEXT[:40]], [BYSTANDER])

    # The officials' chat as Telegram shows it: the card erased in place, the files, the pin,
    # what the citizen added, answered and commented, the copies of the card: gone.
    shown = h.fake.message(OFFICIALS, card.result["message_id"])
    assert shown is not None and ERASED[who.lang] in shown["text"]
    assert reference in shown["text"] and who.mark not in shown["text"]
    left = [m for m in bot_messages_in(h, OFFICIALS) if any(s in m for s in who.secrets())]
    assert left == []
    deleted = [c for c in h.fake.calls[since:] if c.method == "deleteMessages"]
    assert len(deleted) == 1 and len(deleted[0].params["message_ids"]) >= 10

    # The citizen is a stranger now.
    await h.say(who.id, "/start", lang=who.lang, expect="Тілді таңдаңыз")


async def forget_confirmed(
    h: Harness, who: Citizen, question: Call, *, deletes: bool = True
) -> Call:
    """«Yes» under /forget's question; once the officials' chat is cleaned (`deletes`: some
    of it by deleting), the outbox has nothing due."""
    since = h.fake.mark()
    done = await h.press(who.id, question, h.fake.buttons(question)[0][1] or "",
                         method="editMessageText", lang=who.lang)  # fmt: skip
    if deletes:
        await h.fake.wait_for(lambda c: c.method == "deleteMessages" and not c.failed, since=since)
    await h.app.sender.drain()
    return done


@pytest.mark.parametrize("forgetting", ["kk"], indirect=True)
async def test_after_48_hours_files_are_marked_for_the_officials_to_delete(
    forgetting: tuple[Harness, FrozenClock],
) -> None:
    h, delivery = forgetting
    who = KK
    reference = await file_everything(h, who)
    card = await card_of(h, reference)
    await h.fake.wait_for(lambda c: c.method == "sendLocation")
    await h.app.sender.drain()
    # Two days later Telegram no longer lets the bot delete those; what the citizen adds now
    # is recent.
    h.fake.age_messages(OFFICIALS, 49 * 3600)
    delivery.at += timedelta(hours=49)
    h.clock.at += timedelta(hours=49)
    mine = await open_mine(h, who.id, reference, who.lang)
    await h.press(who.id, mine, h.fake.buttons(mine)[0][1] or "", lang=who.lang)
    got = await h.say(who.id, who.added, lang=who.lang)
    since = h.fake.mark()
    await h.click(who.id, got, "✅", method="editMessageText", lang=who.lang)
    added = await under_card(h, card, since)
    await h.app.sender.drain()

    question = await h.say(who.id, "/forget", lang=who.lang)
    since = h.fake.mark()
    await forget_confirmed(h, who, question)

    calls = h.fake.calls[since:]
    assert not [c for c in calls if c.failed]  # nothing Telegram would refuse was tried
    [deleted] = [c for c in calls if c.method == "deleteMessages"]
    assert deleted.params["message_ids"] == [added.result["message_id"]]
    captions = [c for c in calls if c.method == "editMessageCaption"]
    assert len(captions) == 3  # two photos of the album and the document
    for call in captions:
        shown = h.fake.message(OFFICIALS, call.params["message_id"])
        assert shown is not None
        assert (
            "Осы файлды жойыңыз: Telegram ботқа өз хабарламаларын тек 48 сағат" in shown["caption"]
        )
    note = await h.fake.wait_for(
        lambda c: c.method == "sendMessage" and "қолмен жойыңыз" in (c.text or ""), since=since
    )
    assert note.params["reply_parameters"]["message_id"] == card.result["message_id"]
    assert "): 4." in (note.text or "")  # two photos, the document and the pin
    assert h.fake.message(OFFICIALS, added.result["message_id"]) is None
    shown = h.fake.message(OFFICIALS, card.result["message_id"])
    assert shown is not None and ERASED["kk"] in shown["text"]


async def test_a_card_still_queued_goes_out_erased_and_its_files_never(
    forgetting: tuple[Harness, FrozenClock],
) -> None:
    h, _delivery = forgetting
    who = RU
    h.fake.kick_bot(OFFICIALS)  # the card and its files wait for the bot to be back
    reference = await file_everything(h, who)
    question = await h.say(who.id, "/forget")
    await forget_confirmed(h, who, question, deletes=False)

    since = h.fake.mark()
    h.fake.add_bot(OFFICIALS)
    card = await card_of(h, reference)
    await h.app.sender.drain()
    assert ERASED["ru"] in (card.text or "") and who.mark not in (card.text or "")
    sent = [c.method for c in h.fake.calls[since:] if h.fake.chat_of(c) == OFFICIALS]
    assert "sendMediaGroup" not in sent and "sendLocation" not in sent
    assert leftovers(h.app.settings.database_url, who.secrets(), [who.id], [LAT, LON]) == []
