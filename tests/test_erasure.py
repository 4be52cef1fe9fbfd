"""/forget without Telegram: the rules of what is erased, anonymised and kept, checked on every
table of the database and on the bytes of its files; the redaction of the texts the akimat
keeps; the plan that cleans the officials' chats (delete within 48 hours, edit after); the
migration that lets older messages be found."""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.delivery.outbox import Outbox
from bot.domain.catalog import Catalog
from bot.services.erasure import CitizenErasure, redact
from bot.views.card import card_keyboard, card_text
from bot.views.erasure_notices import ErasureNotices
from i18n.core import PoI18n
from storage.base import Repository
from storage.erasure import (
    Cleanup,
    ErasedAppeal,
    Identifiers,
    Posted,
    card_edit_purpose,
    card_purpose,
    personal_purpose,
)
from storage.lifecycle import NewAddition
from storage.models import Appeal, Attachment, Status
from storage.outbox import NewMessage, Outgoing
from storage.outreach import MeetingDetails, NewAnnouncement, PollDetails
from storage.postgres.database import PostgresDatabase
from storage.prompts import NewPrompt, PromptAction
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.lifecycle import SQLiteLifecycleStore
from storage.sqlite.repository import SQLiteRepository
from tests import e2edb
from tests.backends import Backend, beside, store
from tests.conftest import FrozenClock
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal

CITIZEN = 770011
BYSTANDER = 770022
NAME = "Нұрланова Әсел Қайратқызы"
PHONE = "+77071234567"
ADDRESS = "asel.nurlanova@mail.kz"
TEXT = "Ақсу көшесі 17-үйдің жанындағы балалар алаңында әткеншек сынған."
ADDED = "Әткеншектің шынжыры үзілген, балалар жарақат алуы мүмкін."
COMMENT = "Әлі күнге дейін жөнделмеді."
QUESTION_ANSWER = "Екінші подъездің қарсы жағында."
FILE = "AgACAgIAAxkBAAIBcitizenphoto"
ADDED_FILE = "BQACAgIAAxkBAAIBcitizendoc"
LAT, LON = 49.80417, 73.10938
TOPIC = "Балалар алаңын жөндеу туралы сұрақ"
# Asked in advance of a meeting with residents (#13).
MEETING_QUESTION = "Біздің аулаға жарық қашан орнатылады, Әсел сұрайды?"
SECRETS = (NAME, PHONE, ADDRESS, TEXT, ADDED, COMMENT, QUESTION_ANSWER, FILE, ADDED_FILE, TOPIC,
           MEETING_QUESTION)  # fmt: skip
OTHER_TEXT = "Бөгде адамның өтініші: жол жөндеуді сұраймын."


# --- scanning a database for what is left of a person -------------------------------------


def leftovers(
    where: Path | str,
    texts: Iterable[str],
    numbers: Iterable[int] = (),
    floats: Iterable[float] = (),
) -> list[str]:
    """Every cell of every table (found in the database's catalog, not listed by hand) that
    still holds one of `texts`, one of `numbers` (an id: as a value, or inside a text) or
    `floats`. `where`: a SQLite file, or the bot's DATABASE_URL (either backend)."""
    texts, numbers, floats = list(texts), list(numbers), list(floats)
    cells = e2edb.every_cell(where if isinstance(where, str) else f"sqlite:///{where}")
    assert {"appeals", "outbox"} <= {table for table, _column, _value in cells}
    return [
        f"{table}.{column} = {str(value)[:120]!r}"
        for table, column, value in cells
        if _holds(value, texts, numbers, floats)
    ]


def _holds(value: Any, texts: list[str], numbers: list[int], floats: list[float]) -> bool:
    if value is None:
        return False
    if isinstance(value, int):
        return value in numbers
    if isinstance(value, float):
        return value in floats
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    folded = text.casefold()
    return (
        any(t.casefold() in folded for t in texts)
        or any(str(n) in text for n in numbers)
        or any(repr(f) in text for f in floats)
    )


def raw_leftovers(path: Path, texts: Iterable[str], floats: Iterable[float] = ()) -> list[str]:
    """What of `texts` (UTF-8) or `floats` (as SQLite stores a REAL: 8 bytes, big-endian) the
    database file and its WAL still hold anywhere, free pages and slack space included."""
    found = []
    for file in (path, path.with_name(path.name + "-wal")):
        data = file.read_bytes() if file.exists() else b""
        found += [f"{file.name}: {t!r}" for t in texts if t.encode() in data]
        found += [f"{file.name}: {f!r}" for f in floats if struct.pack(">d", f) in data]
    return found


# --- the database ---------------------------------------------------------------------------


async def seed(db: Any, repo: Repository) -> dict[str, int]:
    """A citizen with everything the bot can know of them, and a bystander."""
    await repo.set_language(CITIZEN, "kk")
    await repo.set_consent(CITIZEN, NOW)
    mine, _ = await repo.create_appeal(new_appeal(
        "mine", CITIZEN, text=TEXT, contact_name=NAME, contact_phone=PHONE,
        contact_address=ADDRESS, contact_address_kind="email",
        attachments=[Attachment("photo", FILE)], latitude=LAT, longitude=LON,
    ))  # fmt: skip
    unsent, _ = await repo.create_appeal(
        new_appeal("unsent", CITIZEN, text=TEXT, contact_name=NAME, contact_phone=PHONE)
    )
    await repo.create_appeal(new_appeal("other", BYSTANDER, text=OTHER_TEXT))
    # Subscribed to announcements for two places (#13); the bystander to one.
    subscriptions = store("subscriptions", db)
    await subscriptions.subscribe(CITIZEN, "351010000", NOW)
    await subscriptions.subscribe(CITIZEN, "351610000", NOW)
    await subscriptions.subscribe(BYSTANDER, "351010000", NOW)
    # Said they come to a meeting (with a wheelchair) and asked in advance; so did the bystander.
    meeting = await seed_meeting(db)
    meetings = store("meetings", db)
    for who in (CITIZEN, BYSTANDER):
        await meetings.register(meeting, who, ["wheelchair"], NOW)
    await meetings.ask(meeting, CITIZEN, 0, MEETING_QUESTION, NOW)
    await meetings.ask(meeting, BYSTANDER, None, OTHER_TEXT + " (кездесу)", NOW)
    # Both got a poll and voted in it (#13).
    await seed_poll(db)
    lifecycle = store("lifecycle", db)
    question = await lifecycle.add_question(
        mine.id, 900, "Асқар", "Әткеншек қай жерде?", None, NOW, {Status.REGISTERED}
    )
    assert question is not None
    for key, text, files, question_id in (
        ("a1", ADDED, (Attachment("document", ADDED_FILE, "act.pdf"),), None),
        ("a2", QUESTION_ANSWER, (), question.id),
    ):
        await lifecycle.add(NewAddition(mine.id, key, text, files, question_id),
                            f"citizen:{CITIZEN}", NOW, {Status.REGISTERED})  # fmt: skip
    await repo.transition(
        mine.id, frozenset({Status.REGISTERED}), Status.ANSWERED, "official:900", NOW,
        note="extended to 2026-12-20: Нұрланова Әсел ханымның үйін тексеру керек",
        actor_name="Асқар",
        answer_text=f"Құрметті Әсел Қайратқызы! Сізге {PHONE} арқылы хабарластық. Жөнделеді.",
        extension_reason="Әсел ханымның үйін тексеру керек (тел. 8 707 123 45 67)",
    )  # fmt: skip
    await repo.transition(mine.id, frozenset({Status.ANSWERED}), Status.IN_PROGRESS,
                          f"citizen:{CITIZEN}", NOW, note="not solved", solved="no")  # fmt: skip
    await repo.update_fields(mine.id, feedback=COMMENT)
    prompts = store("prompts", db)
    prompt = await prompts.add(
        NewPrompt(CHAT, 50, mine.id, PromptAction.ANSWER, 900, "Асқар"), NOW, NOW + timedelta(1)
    )
    await prompts.set_draft(prompt.id, f"Құрметті {NAME}!", None, NOW + timedelta(1))
    await prompts.set_preview_message(prompt.id, 51)
    ids = await seed_outbox(store("outbox", db), mine.id, unsent.id)
    await store("erasure", db).record_copy(mine.id, CHAT, [60, 61], NOW)
    await store("fsm", db).set_data(
        StorageKey(bot_id=7, chat_id=CITIZEN, user_id=CITIZEN), {"text": TEXT, "name": NAME}
    )
    places = store("bookings", db)
    booked = await places.book(
        draft_key="b1", citizen_id=CITIZEN, reception="deputy",
        slot_start=datetime(2026, 11, 25, 5, tzinfo=UTC), session_day=date(2026, 11, 25),
        capacity=5, topic=TOPIC, appeal_id=mine.id, access=["wheelchair"],
        access_other="Көмекші ит", contact_name=NAME, contact_phone=PHONE, language="kk", now=NOW,
    )  # fmt: skip
    assert booked.ok
    assert await places.join_waitlist(CITIZEN, "deputy", date(2026, 12, 2), NOW)
    return {"mine": mine.id, "unsent": unsent.id, **ids}


async def seed_outbox(outbox: Any, mine: int, unsent: int) -> dict[str, int]:
    """The messages the bot sent (or has queued) about the appeals."""

    async def row(chat: int, method: str, payload: dict[str, Any], **kw: Any) -> int:
        return int(await outbox.add(chat, method, payload, now=NOW, **kw))

    card = await row(CHAT, "sendMessage", {"text": f"🆕 {TEXT}"}, purpose=card_purpose(mine))
    photo = await row(CHAT, "sendPhoto", {"photo": FILE}, purpose=personal_purpose(mine))
    album = await row(CHAT, "sendMediaGroup", {"media": [{"type": "photo", "media": FILE}] * 2},
                      purpose=personal_purpose(mine))  # fmt: skip
    edit = await row(CHAT, "editMessageText", {"message_id": 10, "text": TEXT},
                     purpose=card_edit_purpose(mine))  # fmt: skip
    # A long comment went out in two parts; only the last one carries the purpose.
    part1 = await row(CHAT, "sendMessage", {"text": COMMENT}, dedupe_key="comment:1:x#1")
    part2 = await row(CHAT, "sendMessage", {"text": COMMENT}, dedupe_key="comment:1:x#2",
                      purpose=personal_purpose(mine))  # fmt: skip
    pin = await row(CHAT, "sendLocation", {"latitude": LAT, "longitude": LON},
                    purpose=personal_purpose(mine))  # fmt: skip
    pending_card = await row(CHAT, "sendMessage", {"text": f"🆕 {TEXT}"},
                             purpose=card_purpose(unsent))  # fmt: skip
    to_citizen = await row(CITIZEN, "sendMessage", {"text": f"Құрметті {NAME}"})
    await row(CITIZEN, "sendMessage", {"text": "Еске салу"}, purpose="booking:1")
    await outbox.mark_sent(card, 10, NOW)
    await outbox.mark_sent(photo, 11, NOW)
    await outbox.mark_sent(album, 12, NOW, [12, 13])
    await outbox.mark_sent(edit, 10, NOW)
    await outbox.mark_sent(part1, 14, NOW)
    await outbox.mark_sent(part2, 15, NOW)
    await outbox.mark_sent(to_citizen, 3, NOW)
    return {"pin": pin, "pending_card": pending_card, "card": card}


# /forget on each backend; the checks of SQLite's own files and pragmas on SQLite.
pytestmark = pytest.mark.every_backend


@pytest.fixture
async def files(backend: Backend, tmp_path: Path) -> tuple[Any, Repository, Path]:
    """The database, its repository, and (on SQLite) its file."""
    db = await backend.open()
    return db, backend.repository(db), tmp_path / "test.db"


async def table_leftovers(
    db: Any, texts: Iterable[str], numbers: Iterable[int] = (), floats: Iterable[float] = ()
) -> list[str]:
    """`leftovers` through the database's own connection, on either backend: every cell of
    every table the schema has (not listed by hand)."""
    texts, numbers, floats = list(texts), list(numbers), list(floats)
    if isinstance(db, PostgresDatabase):
        listed = await db.fetchall(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        listed = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    tables = [r[0] for r in listed]
    assert "appeals" in tables and "outbox" in tables
    found: list[str] = []
    for table in tables:
        for row in await db.fetchall(f'SELECT * FROM "{table}"'):
            for column, value in zip(row.keys(), row, strict=True):
                if _holds(value, texts, numbers, floats):
                    found.append(f"{table}.{column} = {str(value)[:120]!r}")
    return found


async def test_erase_leaves_nothing_of_the_citizen_in_any_table_or_file(
    files: tuple[Any, Repository, Path],
) -> None:
    db, repo, path = files
    ids = await seed(db, repo)
    assert await table_leftovers(db, SECRETS, [CITIZEN], [LAT])  # the scan sees them before

    seen: list[ErasedAppeal] = []

    def plan(erased: Sequence[ErasedAppeal]) -> Cleanup:
        seen.extend(erased)
        return Cleanup(cards={row_id: {"text": "🆕 erased card"} for e in erased
                              for row_id, _chat in e.unsent_cards})  # fmt: skip

    erased = await store("erasure", db).erase(CITIZEN, NOW, redact, plan)

    assert [e.appeal.id for e in erased] == [ids["mine"], ids["unsent"]]
    assert [e.appeal.id for e in seen] == [ids["mine"], ids["unsent"]]
    assert await table_leftovers(db, SECRETS, [CITIZEN], [LAT, LON]) == []
    if isinstance(db, SQLiteDatabase):
        assert leftovers(path, SECRETS, [CITIZEN], [LAT, LON]) == []
        # Nothing readable in the files either: deleted cells are zeroed, the WAL truncated.
        # (On PostgreSQL the erasure vacuums the tables; the server's files are not ours.)
        assert raw_leftovers(path, (*SECRETS, repr(LAT), repr(LON)), [LAT, LON]) == []
    # The bystander keeps everything, their subscription included.
    assert await table_leftovers(db, [OTHER_TEXT], [BYSTANDER])
    assert await store("subscriptions", db).districts_of(BYSTANDER) == ["351010000"]
    assert await store("subscriptions", db).districts_of(CITIZEN) == []
    # Their meeting registration and question are gone; the bystander's stay.
    [figures] = await store("meetings", db).upcoming(NOW, 10)
    assert figures.coming == 1 and figures.access == {"wheelchair": 1}
    assert [q.text for q in figures.questions] == [OTHER_TEXT + " (кездесу)"]
    assert await store("meetings", db).attendance(figures.meeting.id, CITIZEN) is None
    # Their vote and the record of their poll are gone; the bystander's stay.
    polls = store("polls", db)
    assert await polls.recipient(f"tg-{CITIZEN}") is None
    assert await polls.recipient(f"tg-{BYSTANDER}") is not None
    [poll_id] = await polls.due(NOW + timedelta(days=2))
    results = await polls.results(poll_id)
    assert results is not None and results.votes == (("351010000", 1, 1),)


async def seed_poll(db: Any) -> None:
    """A poll to the subscribers of 351010000, sent to the citizen and the bystander (the
    sender recorded each Telegram poll), and their votes."""
    outbox, polls = store("outbox", db), store("polls", db)

    async def write(conn: Any, poll: Any, who: Sequence[Any]) -> int:
        rows = [
            Outgoing(s.citizen_id, [NewMessage("sendPoll", {"question": "Саябақ керек пе?"},
                     f"announce:{poll.id}:{s.citizen_id}", f"announce:{poll.id}")], NOW,
                     bulk=True)
            for s in who
        ]  # fmt: skip
        ids = await outbox.write_in(conn, rows)
        await polls.record_sends(conn, poll.id, list(zip(who, ids, strict=True)))
        for row_id, subscriber in zip(ids, who, strict=True):
            sent.append((row_id, subscriber.citizen_id))
        return len(ids)

    sent: list[tuple[int, int]] = []
    new = NewAnnouncement(
        "poll", "poll", ("351010000",), "Саябақ керек пе?", "Нужен ли парк?", CHAT, None, 900,
        "Асқар", NOW, poll=PollDetails(("Иә", "Жоқ"), ("Да", "Нет"), NOW + timedelta(days=1)),
    )  # fmt: skip
    await store("announcements", db).create(new, write)
    for row_id, citizen in sent:
        await outbox.mark_sent(row_id, 70, NOW, poll_id=f"tg-{citizen}")
        recipient = await polls.recipient(f"tg-{citizen}")
        assert recipient is not None
        assert await polls.cast(recipient, 0 if citizen == CITIZEN else 1, NOW)


async def seed_meeting(db: Any) -> int:
    """A meeting with residents a day after NOW, to nobody (no subscriber of its district)."""

    async def write(conn: Any, announcement: Any, who: Sequence[Any]) -> int:
        return 0

    new = NewAnnouncement(
        "meeting", "meeting", ("351010000",), "Кездесу мәтіні.", "Текст встречи.", CHAT, None,
        900, "Асқар", NOW,
        MeetingDetails("Аким", "Мәдениет үйі", NOW + timedelta(days=1), ("Жарық", "Жол")),
    )  # fmt: skip
    meeting, _ = await store("announcements", db).create(new, write)
    return int(meeting.id)


async def test_what_erase_keeps_and_reports(
    files: tuple[Any, Repository, Path],
) -> None:
    db, repo, _path = files
    ids = await seed(db, repo)
    [mine, unsent] = await store("erasure", db).erase(
        CITIZEN, NOW, redact,
        lambda erased: Cleanup(cards={r: {"text": "🆕 erased"} for e in erased
                                      for r, _ in e.unsent_cards}),
    )  # fmt: skip
    # What was posted in the chat comes back to be cleaned: the card, its files (an album as
    # all its messages), both parts of the comment, the copies; not an edit, not what never
    # went out.
    kinds = sorted((p.kind, p.message_ids) for p in mine.posted)
    assert kinds == [
        ("card", (10,)), ("media", (11,)), ("media", (12, 13)),
        ("text", (14,)), ("text", (15,)), ("text", (60,)), ("text", (61,)),
    ]  # fmt: skip
    assert unsent.unsent_cards == ((ids["pending_card"], CHAT),)
    assert [(p.chat_id, p.message_id) for p in mine.previews] == [(CHAT, 51)]
    # Anonymous figures and the akimat's own words stay, without the person.
    appeal = mine.appeal
    assert appeal.erased and appeal.text is None and appeal.latitude is None
    assert (appeal.kind, appeal.district, appeal.status, appeal.solved) == (
        "complaint", "354800000", Status.IN_PROGRESS, "no")  # fmt: skip
    assert appeal.answer_text == "Құрметті *** ***! Сізге *** арқылы хабарластық. Жөнделеді."
    assert appeal.extension_reason == "*** ханымның үйін тексеру керек (тел. ***)"
    actors = {r[0] for r in await db.fetchall("SELECT actor FROM status_history")}
    assert actors == {"citizen", "official:900", f"citizen:{BYSTANDER}"}
    states = "SELECT id, payload, sent_at IS NOT NULL, dropped_at IS NOT NULL FROM outbox"
    outbox = {r[0]: tuple(r)[1:] for r in await db.fetchall(states)}
    assert outbox[ids["card"]] == ("{}", 1, 0)  # sent: the record stays, its text not
    assert outbox[ids["pin"]] == ("{}", 0, 1)  # never sent: dropped, nothing in it
    assert json.loads(outbox[ids["pending_card"]][0]) == {"text": "🆕 erased"}
    assert outbox[ids["pending_card"]][1:] == (0, 0)  # still goes out, erased
    prompts = await db.fetchall("SELECT state, draft_text FROM official_prompts")
    assert [tuple(r) for r in prompts] == [("void", None)]
    [booking] = await db.fetchall("SELECT citizen_id, access, appeal_id FROM bookings")
    assert tuple(booking) == (None, '["wheelchair"]', ids["mine"])


async def test_secure_delete_is_set_on_every_connection(tmp_path: Path) -> None:
    first = await SQLiteDatabase.open(tmp_path / "a.db")
    second = await SQLiteDatabase.open(tmp_path / "a.db")
    for db in (first, second):
        row = await db.fetchone("PRAGMA secure_delete")
        assert row is not None and row[0] == 1
        await db.close()


RU_COMMENT = "💬 Комментарий гражданина к обращению"
KK_COMMENT = "өтініш бойынша азаматтың пікірі"


async def test_the_checkpoint_never_waits_for_another_process(tmp_path: Path) -> None:
    """A backup reading the file keeps the WAL from being emptied: the checkpoint says so at
    once instead of holding the bot for the busy timeout; once the reader is gone it works."""
    db = await SQLiteDatabase.open(tmp_path / "a.db", busy_timeout=30)
    await db.execute("INSERT INTO counters (name, value) VALUES ('x', 1)")
    reader = sqlite3.connect(tmp_path / "a.db", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT * FROM counters").fetchall()  # a snapshot before the next write
    await db.execute("UPDATE counters SET value = 2")
    assert await db.checkpoint() is False
    row = await db.fetchone("PRAGMA busy_timeout")
    assert row is not None and row[0] == 30_000  # restored for everything else
    reader.execute("COMMIT")
    reader.close()
    assert await db.checkpoint() is True
    assert (tmp_path / "a.db-wal").stat().st_size == 0
    await db.close()


async def test_old_messages_get_their_purpose_from_the_migration(tmp_path: Path) -> None:
    """Rows written before migration 0015 had a purpose on the card only."""
    db = await SQLiteDatabase.open(tmp_path / "old.db", migrate_to=13)
    repo = SQLiteRepository(db)
    appeal, _ = await repo.create_appeal(new_appeal("old", CITIZEN))
    await SQLiteLifecycleStore(db).add(NewAddition(appeal.id, "k", ADDED, ()), "citizen:1", NOW,
                                 {Status.REGISTERED})  # fmt: skip
    a = appeal.id
    rows = [  # (dedupe_key, method, payload, purpose, message_id) as the bot wrote them then
        (f"card:{a}:{CHAT}", "sendMessage", {"text": "🆕"}, f"card:{a}", 10),
        (f"photos:{a}:{CHAT}", "sendPhoto", {"photo": FILE}, None, 11),
        (f"doc:{a}:0:{CHAT}", "sendDocument", {"document": FILE}, None, 12),
        (f"pin:{a}:{CHAT}", "sendLocation", {"latitude": LAT, "longitude": LON}, None, 13),
        ("addition:1", "sendMessage", {"text": ADDED}, None, 14),
        ("addition:1:photos", "sendPhoto", {"photo": FILE}, None, 15),
        (None, "editMessageText", {"message_id": 10, "text": "card"}, None, 10),
        (None, "sendMessage", {"text": f"{RU_COMMENT} № {appeal.reference}:\n…"}, None, 16),
        (None, "sendMessage", {"text": f"💬 № {appeal.reference} {KK_COMMENT}:\n…"}, None, 17),
        (None, "sendMessage", {"text": "Дайджест"}, None, 18),
        (None, "editMessageText", {"message_id": 18, "text": "Дайджест"}, None, 18),
    ]  # fmt: skip
    for key, method, payload, purpose, message_id in rows:
        await db.execute(
            "INSERT INTO outbox (chat_id, method, payload, dedupe_key, purpose, created_at, "
            "not_before, scheduled_at, sent_at, message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (CHAT, method, json.dumps(payload, ensure_ascii=False), key, purpose, NOW.isoformat(),
             NOW.isoformat(), NOW.isoformat(), NOW.isoformat(), message_id),
        )  # fmt: skip
    await db.migrate()
    got = [r[0] for r in await db.fetchall("SELECT purpose FROM outbox ORDER BY id")]
    personal, edit = personal_purpose(a), card_edit_purpose(a)
    assert got == [card_purpose(a), personal, personal, personal, personal, personal, edit,
                   personal, personal, None, None]  # fmt: skip
    await db.close()


# --- the texts the akimat keeps ---------------------------------------------------------------

WHO = Identifiers(
    names=("Иванов Иван Иванович", "Нұрланова Әсел"),
    phones=("+77012345678",),
    addresses=("100000, г. Караганда, ул. Бухар жырау, 47, кв. 12", "Ivanov@Mail.kz"),
)


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("Уважаемый Иван Иванович!", "Уважаемый *** ***!"),
        ("Ответ направлен Иванову И. И.", "Ответ направлен *** И. И."),
        ("Құрметті Әсел ханым, Нұрлановаға хабарланды", "Құрметті *** ханым, *** хабарланды"),
        ("Звонили на +7 701 234 56 78 и 8 (701) 234-56-78.", "Звонили на *** и ***."),
        ("по адресу 100000, г. Караганда, ул. Бухар жырау, 47, кв. 12", "по адресу ***"),
        ("Письмо на ivanov@mail.kz отправлено", "Письмо на *** отправлено"),
        # What does not name the person stays as written.
        ("Заменён 12.12.2026, заявка 77012345", "Заменён 12.12.2026, заявка 77012345"),
        ("extended to 2026-12-20: нужна экспертиза", "extended to 2026-12-20: нужна экспертиза"),
        ("question 12 asked", "question 12 asked"),
    ],
)  # fmt: skip
def test_redact_takes_the_person_out_of_a_kept_text(text: str, kept: str) -> None:
    assert redact(text, WHO) == kept


# --- the officials' chats ---------------------------------------------------------------------


def erased_appeal(**changes: Any) -> Appeal:
    fields: dict[str, Any] = {
        "id": 5, "reference": "2026-00005", "citizen_id": None, "kind": "complaint",
        "category": "roads", "region": "350000000", "district": "354800000", "text": None,
        "language": "kk", "status": Status.IN_PROGRESS, "created_at": NOW,
        "registered_on": NOW.date(), "due_at": NOW + timedelta(days=20),
        "officials_chat_id": CHAT,
    }  # fmt: skip
    fields.update(changes)
    return Appeal(**fields)


def test_the_erased_card_has_no_applicant_text_or_contact(catalog: Catalog) -> None:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale("ru"):
        text = card_text(erased_appeal(), catalog, "ru")
        labels = [b.text for row in card_keyboard(erased_appeal(), catalog, CHAT).inline_keyboard
                  for b in row]  # fmt: skip
    assert "🗑 Гражданин удалил свои персональные данные." in text
    assert "Заявитель" not in text
    assert "✍️ Ответить" in labels
    assert not {"👤 Показать контакт", "❓ Задать вопрос гражданину"} & set(labels)


async def test_the_chat_is_cleaned_by_deleting_what_is_recent_and_editing_what_is_not(
    repo: Repository, catalog: Catalog
) -> None:
    clock = FrozenClock(NOW + timedelta(hours=50))
    officials, _ = service(repo, catalog, clock, {})
    outbox = Outbox(beside("outbox", repo), clock)

    async def no_places(citizen_id: int) -> None:
        return None

    erasure = CitizenErasure(
        beside("erasure", repo), officials, outbox, no_places, ErasureNotices(outbox)
    )
    old, recent = NOW, NOW + timedelta(hours=49, minutes=30)
    posted = (
        Posted(CHAT, (10,), "card", old),
        Posted(CHAT, (11, 12), "media", old),  # an album sent 50 hours ago
        Posted(CHAT, (13,), "location", old),
        Posted(CHAT, (14,), "text", old),
        Posted(CHAT, (20,), "media", recent),
        Posted(CHAT, (21,), "location", recent),
        Posted(CHAT, (22,), "text", recent),
    )
    cleanup = erasure.cleanup([ErasedAppeal(erased_appeal(), posted, ((99, CHAT),))])
    done = [(m.method, m.payload) for row in cleanup.rows for m in row.messages]
    methods = [method for method, _ in done]
    assert methods == ["editMessageText", "deleteMessages", "editMessageCaption",
                       "editMessageCaption", "editMessageText", "sendMessage"]  # fmt: skip
    card, delete, caption, _, text, note = (payload for _, payload in done)
    assert card["message_id"] == 10
    assert "🗑 Гражданин удалил свои персональные данные." in card["text"]  # officials: ru
    assert delete == {"message_ids": [20, 21, 22]}
    assert caption["message_id"] == 11 and "Пожалуйста, удалите этот файл" in caption["caption"]
    tombstone = "🗑 <b>№ 2026-00005</b>: Гражданин удалил свои персональные данные."
    assert text == {"message_id": 14, "parse_mode": "HTML", "text": tombstone}
    # Two photos and a pin stay: the chat is told under the card.
    assert note["reply_parameters"]["message_id"] == 10
    assert "в течение 48 часов): 3." in note["text"]
    assert cleanup.cards[99]["text"].startswith("🆕 <b>№ 2026-00005</b>")
