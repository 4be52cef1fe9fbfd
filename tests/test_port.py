"""The port from SQLite to PostgreSQL (storage/port.py): a database with a few thousand rows of
every kind is copied whole and verified; what the bot reads afterwards is what it read before;
numbers and ids continue; a target with data of its own is refused, one an earlier port filled
is filled again from a newer copy."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey

from storage.lifecycle import NewAddition
from storage.models import Attachment, Status
from storage.outbox import NewMessage, Outgoing
from storage.outreach import (
    Announcement,
    MeetingDetails,
    NewAnnouncement,
    NewMeetingMove,
    PollDetails,
    Subscriber,
    announcement_purpose,
)
from storage.port import TABLES, PortRefused, main, port
from storage.postgres.database import PostgresDatabase
from storage.postgres.repository import PostgresRepository
from storage.prompts import NewPrompt, PromptAction
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.repository import SQLiteRepository
from tests.backends import fresh_schema, store
from tests.test_storage import NOW, new_appeal

ROOT = Path(__file__).resolve().parent.parent

APPEALS = 400  # with their files, history, questions, additions, outbox rows: thousands of rows
CHAT = -1001


@pytest.fixture
async def target(postgres_missing: str | None) -> AsyncIterator[str]:
    if postgres_missing:
        pytest.skip(postgres_missing)
    async with fresh_schema() as url:
        yield url


async def fill(path: Path, first: int, count: int) -> None:
    """Appeals `first` … of citizens 1-50 and everything that hangs off them, plus one row of
    every other kind."""
    db = await SQLiteDatabase.open(path)
    try:
        repo = SQLiteRepository(db)
        outbox, lifecycle = store("outbox", db), store("lifecycle", db)
        prompts, places = store("prompts", db), store("bookings", db)
        for n in range(first, first + count):
            citizen = 1 + n % 50
            at = NOW - timedelta(hours=n)
            appeal, _ = await repo.create_appeal(new_appeal(
                f"d{n}", citizen, created_at=at, text=f"Өтініш {n}: жол жөндеу керек",
                attachments=[Attachment("photo", f"p{n}"),
                             Attachment("document", f"f{n}", "a.pdf")],
            ))  # fmt: skip
            await repo.set_officials_chat(appeal.id, CHAT)
            ids = await outbox.add_outgoing([Outgoing(CHAT, [
                NewMessage("sendMessage", {"text": f"🆕 {n}"}, f"card:{n}", f"card:{appeal.id}"),
                NewMessage("sendPhoto", {"photo": f"p{n}"}, f"photos:{n}", f"appeal:{appeal.id}"),
            ], at)])  # fmt: skip
            await outbox.mark_sent(ids[0], 1000 + n, at, [1000 + n])
            if n % 4 == 0:
                await repo.transition(appeal.id, frozenset({Status.REGISTERED}),
                                      Status.IN_PROGRESS, "official:9", at, actor_name="Асқар",
                                      taken_by=9, taken_by_name="Асқар")  # fmt: skip
                question = await lifecycle.add_question(appeal.id, 9, "Асқар", "Қай үй?", None,
                                                        at, {Status.IN_PROGRESS})  # fmt: skip
                assert question is not None
                await lifecycle.add(NewAddition(appeal.id, f"a{n}", "№ 5", (), question.id),
                                    f"citizen:{citizen}", at, {Status.IN_PROGRESS})  # fmt: skip
                await prompts.add(NewPrompt(CHAT, 5000 + n, appeal.id, PromptAction.ANSWER, 9,
                                            "Асқар"), at, at + timedelta(hours=1))  # fmt: skip
                await repo.record_contact_view(appeal.id, 9, at)
            if n % 10 == 0:
                day = date(2026, 12, 2) + timedelta(days=7 * (n // 10 % 8))
                await places.book(
                    draft_key=f"b{n}", citizen_id=citizen, reception="deputy",
                    slot_start=datetime.combine(day, datetime.min.time(), UTC)
                    + timedelta(hours=5, minutes=n % 60),
                    session_day=day, capacity=10, topic="Сұрақ", appeal_id=appeal.id,
                    access=["wheelchair"], access_other=None, contact_name="Айгүл",
                    contact_phone="+77011112233", language="kk", now=at,
                )  # fmt: skip
                await places.join_waitlist(1 + (n + 1) % 50, "deputy", day, at)
            await repo.mark_update(10_000 + n, at)
            await store("fsm", db).set_data(
                StorageKey(bot_id=1, chat_id=citizen, user_id=citizen), {"draft": {"n": n}}
            )
        if first == 0:
            await repo.set_consent(1, NOW)
            await store("reports", db).record_contact_export(7, NOW, (NOW, NOW), [1, 2], 1)
            await store("erasure", db).record_copy(1, CHAT, [77], NOW)
            await store("digest", db).claim(CHAT, date(2026, 11, 22), NOW)
            await outbox.migrate_chat(-500, -1000500, NOW)
            await outbox.park_chat(-600, "Forbidden: bot was kicked", NOW)
            await places.cancel_session("deputy", date(2027, 3, 3), NOW)
            await places.add_session("deputy", date(2027, 3, 4), 7, NOW)
            await announce_to_subscribers(db, min(50, count))
    finally:
        await db.close()


async def announce_to_subscribers(db: SQLiteDatabase, citizens: int) -> None:
    """The citizens subscribed to a district or two, and an announcement queued to them."""
    subscriptions, outbox = store("subscriptions", db), store("outbox", db)
    for citizen in range(1, citizens + 1):
        await subscriptions.subscribe(citizen, "351010000", NOW)
        if citizen % 5 == 0:
            await subscriptions.subscribe(citizen, "351610000", NOW)

    async def write(conn: Any, announcement: Announcement, who: Sequence[Subscriber]) -> int:
        rows = [
            Outgoing(s.citizen_id, [NewMessage("sendMessage", {"text": "Хабарландыру"},
                     f"announce:{announcement.id}:{s.citizen_id}",
                     announcement_purpose(announcement.id))], NOW, bulk=True)
            for s in who
        ]  # fmt: skip
        return len(await outbox.write_in(conn, rows))

    new = NewAnnouncement("port", "notice", ("351010000", "351610000"), "Жиналыс ертең.",
                          "Собрание завтра.", CHAT, 77, 9, "Асқар", NOW)  # fmt: skip
    announcement, created = await store("announcements", db).create(new, write)
    assert created and announcement.total == citizens
    # A meeting with residents (#13): who comes, with what needs, and what they asked.
    meeting = NewAnnouncement(
        "port-meeting", "meeting", ("351010000",), "Кездесу ертең.", "Встреча завтра.", CHAT, 78,
        9, "Асқар", NOW, MeetingDetails("Аким", "Мәдениет үйі", NOW + timedelta(days=1),
                                        ("Жол", "Жарық")),
    )  # fmt: skip
    held, created = await store("announcements", db).create(meeting, write)
    assert created
    meetings = store("meetings", db)
    for citizen in range(1, min(citizens, 5) + 1):
        await meetings.register(held.id, citizen, ["wheelchair"] if citizen % 2 else [], NOW)
        await meetings.ask(held.id, citizen, citizen % 2 or None, f"Сұрақ {citizen}", NOW)
    # A poll (#13): who got which Telegram poll, and their votes.
    polls = store("polls", db)

    async def write_polls(conn: Any, poll: Announcement, who: Sequence[Subscriber]) -> int:
        rows = [
            Outgoing(s.citizen_id, [NewMessage("sendPoll", {"question": "Саябақ керек пе?"},
                     f"announce:{poll.id}:{s.citizen_id}", announcement_purpose(poll.id))],
                     NOW, bulk=True)
            for s in who
        ]  # fmt: skip
        ids = await outbox.write_in(conn, rows)
        await polls.record_sends(conn, poll.id, list(zip(who, ids, strict=True)))
        return len(ids)

    details = PollDetails(("Иә", "Жоқ"), ("Да", "Нет"), NOW + timedelta(days=1))
    new_poll = NewAnnouncement(
        "port-poll", "poll", ("351010000",), "Саябақ керек пе?", "Нужен ли парк?", CHAT, 79, 9,
        "Асқар", NOW, poll=details,
    )  # fmt: skip
    poll, created = await store("announcements", db).create(new_poll, write_polls)
    assert created
    sent = await db.fetchall(
        "SELECT id, chat_id FROM outbox WHERE purpose = ? ORDER BY id",
        (announcement_purpose(poll.id),),
    )
    for n, (row_id, chat_id) in enumerate(sent):
        await outbox.mark_sent(row_id, 500 + n, NOW, poll_id=f"poll-{chat_id}")
        recipient = await polls.recipient(f"poll-{chat_id}")
        assert recipient is not None and recipient.citizen_id == chat_id
        if n % 3:
            await polls.cast(recipient, n % 2, NOW)

    # Moved (#13, 0021): the move's record; the notices are nobody's business here.
    async def nobody_told(conn: Any, *_: Any) -> int:
        return 0

    move = NewMeetingMove(held.id, "port-move", NOW + timedelta(days=2), "Акимат", 9, "Асқар",
                          NOW)  # fmt: skip
    assert await meetings.move(move, nobody_told) is not None


async def counts_in_sqlite(path: Path) -> dict[str, int]:
    db = await SQLiteDatabase.open(path)
    try:
        return {t: int((await db.fetchall(f"SELECT count(*) FROM {t}"))[0][0]) for t in TABLES}
    finally:
        await db.close()


async def test_every_table_is_copied_verified_and_read_back_the_same(
    tmp_path: Path, target: str
) -> None:
    source = tmp_path / "bot.db"
    await fill(source, 0, APPEALS)
    expected = await counts_in_sqlite(source)
    assert all(expected.values()), expected  # a row of every kind
    assert sum(expected.values()) > 3000

    reports = await port(source, target)
    assert {r.table: r.rows for r in reports} == expected

    lite = SQLiteRepository(await SQLiteDatabase.open(source))
    pg = PostgresRepository(await PostgresDatabase.open(target))
    try:
        # What /my shows, and what an official's /find shows, is the same on both.
        for citizen in (1, 2, 50):
            count = await lite.count_citizen_appeals(citizen)
            assert count == await pg.count_citizen_appeals(citizen) == APPEALS // 50
            assert await pg.citizen_appeals(citizen, 5, 0) == await lite.citizen_appeals(
                citizen, 5, 0
            )
        for appeal_id in (1, 4, APPEALS):
            assert await pg.get_appeal(appeal_id) == await lite.get_appeal(appeal_id)
            assert await pg.status_history(appeal_id) == await lite.status_history(appeal_id)
        assert await pg.get_citizen(1) == await lite.get_citizen(1)
        for kind in ("subscriptions", "announcements"):
            assert type(store(kind, pg.db)).__name__.startswith("Postgres")
        assert await store("subscriptions", pg.db).districts_of(5) == ["351010000", "351610000"]
        ported = await store("announcements", pg.db).get(1)
        assert ported == await store("announcements", lite.db).get(1)
        assert ported is not None and ported.total == 50
        met = await store("meetings", pg.db).upcoming(NOW, 10)
        assert met == await store("meetings", lite.db).upcoming(NOW, 10)
        assert met[0].coming == 5 and met[0].access == {"wheelchair": 3}
        moved = await store("meetings", pg.db).move_of("port-move")
        assert moved is not None and moved == await store("meetings", lite.db).move_of("port-move")
        assert moved.new_place == "Акимат" and moved.old_place == "Мәдениет үйі"
        assert met[0].meeting.meeting is not None and met[0].meeting.meeting.topics == (
            "Жол",
            "Жарық",
        )
        assert await pg.update_seen(10_000)
        assert await store("outbox", pg.db).resolve_chat(-500) == -1000500
        # The broadcast's rows are still bulk: they give way to the others after the switch.
        broadcast = await pg.db.fetchval(
            "SELECT count(*) FROM outbox WHERE purpose LIKE 'announce:%'"
        )
        assert broadcast == 150  # the announcement's, the meeting's and the poll's
        # Each vote still finds its citizen through the poll Telegram named.
        polls = store("polls", pg.db)
        recipient = await polls.recipient("poll-2")
        assert recipient is not None and recipient.citizen_id == 2
        assert await pg.db.fetchval("SELECT count(*) FROM poll_votes") == expected["poll_votes"]
        assert await pg.db.fetchval("SELECT count(*) FROM outbox WHERE bulk") == broadcast
        assert await pg.db.fetchval("SELECT count(*) FROM outbox WHERE NOT bulk") == (
            expected["outbox"] - broadcast
        )
        # The numbers and ids continue where SQLite's ended.
        appeal, created = await pg.create_appeal(new_appeal("after the port", 1))
        assert created and appeal.id == APPEALS + 1
        assert appeal.reference == f"2026-{APPEALS + 1:05d}"
        assert (
            await store("outbox", pg.db).add(1, "sendMessage", {"text": "x"}, now=NOW)
            > (expected["outbox"])
        )
    finally:
        await lite.close()
        await pg.close()


async def test_a_newer_copy_is_ported_again_but_never_over_the_bots_own_data(
    tmp_path: Path, target: str
) -> None:
    source = tmp_path / "bot.db"
    await fill(source, 0, 20)
    await port(source, target)
    await fill(source, 20, 10)  # the bot ran on SQLite meanwhile
    reports = await port(source, target)
    assert {r.table: r.rows for r in reports} == await counts_in_sqlite(source)

    pg = PostgresRepository(await PostgresDatabase.open(target))
    try:
        await pg.create_appeal(new_appeal("written on PostgreSQL", 1))  # the bot switched
    finally:
        await pg.close()
    await fill(source, 30, 1)
    with pytest.raises(PortRefused, match="no earlier port wrote"):
        await port(source, target)
    pg = PostgresRepository(await PostgresDatabase.open(target))
    try:  # nothing of the refused port was written
        assert await pg.appeal_by_draft("written on PostgreSQL") is not None
        assert await pg.appeal_by_draft("d30") is None
    finally:
        await pg.close()


async def test_a_value_that_does_not_fit_writes_nothing(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bot.db"
    await fill(source, 0, 3)
    db = await SQLiteDatabase.open(source)
    await db.execute("UPDATE appeals SET due_at = 'next week' WHERE id = 2")
    await db.close()
    assert await _run_main(source, target) == 1
    assert "appeals.due_at (row 2): 'next week' is not a timestamp" in capsys.readouterr().err
    pg = await PostgresDatabase.open(target)
    try:
        assert await pg.fetchval("SELECT count(*) FROM citizens") == 0
    finally:
        await pg.close()


async def _run_main(source: Path, target: str) -> int:
    """The command line, on a thread: it runs its own event loop."""
    return await asyncio.to_thread(main, ["--from", f"sqlite:///{source}", "--to", target])


def test_the_command_line_takes_only_sqlite_to_postgresql(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--from", "postgresql://a/b", "--to", "sqlite:///x.db"])
    assert "--from takes sqlite:///path" in capsys.readouterr().err


async def test_python_m_bot_port_copies_the_database(tmp_path: Path, target: str) -> None:
    """The operator's command, as a process: `python -m bot port --from … --to …`, with no
    BOT_TOKEN or other setting around."""
    source = tmp_path / "bot.db"
    await fill(source, 0, 5)
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "port", "--from", f"sqlite:///{source}", "--to", target,
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert "Copied and verified." in out.decode()
    pg = await PostgresDatabase.open(target)
    try:
        assert await pg.fetchval("SELECT count(*) FROM appeals") == 5
    finally:
        await pg.close()
