"""Rules behind issue #10's officials' items, without Telegram: an appeal's history read back
from what each action stored (names kept per row, old rows named by migration 0011), who may
export full contacts, /export's arguments, /stats durations, and the booked days ahead."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.domain import history
from bot.domain.catalog import Catalog
from bot.services.officials import Official
from bot.services.reports import ExportArgs, parse_export
from bot.views.reports import duration
from i18n.core import PoI18n
from storage.models import Outcome, Status
from storage.sqlite.bookings import SQLiteBookingStore
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.reports import SQLiteReportQueries
from storage.sqlite.repository import SQLiteRepository
from tests.conftest import FrozenClock
from tests.test_bookings import WED, book, slot
from tests.test_officials_service import CHAT, service
from tests.test_storage import NOW, new_appeal


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


async def test_every_action_is_read_back_with_its_officials_name(
    repo: SQLiteRepository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _ = service(repo, catalog, clock, {11: "member"})
    earlier, _ = await repo.create_appeal(new_appeal("earlier"))
    appeal, _ = await repo.create_appeal(new_appeal("a", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    aigul, bolat = Official(10, "Айгүл Серікова"), Official(11, "Болат")
    await officials.take(appeal.id, aigul)
    await officials.extend(appeal.id, aigul, date(2026, 12, 30), "экспертиза: ещё 2 недели")
    await officials.answer(appeal.id, bolat, Outcome.REFUSED, "Нет оснований")
    await officials.citizen_says_solved(appeal.id, 1, "no")
    await officials.citizen_comment(appeal.id, 1, "Ничего не изменилось")
    dup, _ = await repo.create_appeal(new_appeal("dup"))
    await officials.mark_duplicate(dup.id, bolat, earlier.reference, chat_id=CHAT)

    queries = SQLiteReportQueries(repo.db)
    current = await repo.get_appeal(appeal.id)
    assert current is not None
    found = history.events(
        await queries.history(appeal.id), current, await queries.citizen_comment(appeal.id)
    )
    assert [(e.kind, e.by_citizen, e.official) for e in found] == [
        (history.REGISTERED, True, None),
        (history.TAKEN, False, "Айгүл Серікова"),
        (history.EXTENDED, False, "Айгүл Серікова"),
        (history.ANSWERED, False, "Болат"),
        (history.REOPENED, True, None),
    ]
    assert (found[2].new_due, found[2].reason) == (date(2026, 12, 30), "экспертиза: ещё 2 недели")
    assert found[3].outcome == Outcome.REFUSED
    assert found[4].comment == "Ничего не изменилось"
    duplicate = await repo.get_appeal(dup.id)
    assert duplicate is not None
    [_, marked] = history.events(await queries.history(dup.id), duplicate)
    assert (marked.kind, marked.official, marked.original) == (
        history.DUPLICATE, "Болат", earlier.reference,
    )  # fmt: skip


async def test_a_comment_belongs_to_the_latest_reopening_only(
    repo: SQLiteRepository, catalog: Catalog, clock: FrozenClock
) -> None:
    """Reopened twice, the comment of the first time does not pass for the second's. (Today
    a re-answered appeal keeps `solved`, so the citizen cannot say «no» twice; the test clears
    it as a fix there would.)"""
    officials, _ = service(repo, catalog, clock, {})
    appeal, _ = await repo.create_appeal(new_appeal("a", language="ru"))
    await repo.set_officials_chat(appeal.id, CHAT)
    for answer in ("Первый ответ", "Второй ответ"):
        await officials.answer(appeal.id, Official(10, "Асель"), Outcome.SATISFIED, answer)
        await repo.update_fields(appeal.id, solved=None)
        assert (await officials.citizen_says_solved(appeal.id, 1, "no")).done
        if answer == "Первый ответ":
            await officials.citizen_comment(appeal.id, 1, "Всё ещё темно")
    queries = SQLiteReportQueries(repo.db)
    current = await repo.get_appeal(appeal.id)
    assert current is not None
    found = history.events(
        await queries.history(appeal.id), current, await queries.citizen_comment(appeal.id)
    )
    assert [e.comment for e in found if e.kind == history.REOPENED] == [None, None]


async def test_forward_and_close_notes(
    repo: SQLiteRepository, catalog: Catalog, clock: FrozenClock
) -> None:
    appeal, _ = await repo.create_appeal(new_appeal("a"))
    queries = SQLiteReportQueries(repo.db)
    await repo.transition(appeal.id, frozenset({Status.REGISTERED}), Status.FORWARDED,
                          "official:5", NOW, note="to employment", actor_name="Дана")  # fmt: skip
    await repo.transition(appeal.id, frozenset({Status.FORWARDED}), Status.ANSWERED,
                          "official:5", NOW, note="explained", actor_name="Дана")  # fmt: skip
    await repo.transition(appeal.id, frozenset({Status.ANSWERED}), Status.CLOSED,
                          "citizen:1", NOW, note="solved: partly")  # fmt: skip
    current = await repo.get_appeal(appeal.id)
    assert current is not None
    found = history.events(await queries.history(appeal.id), current)
    assert [(e.kind, e.department, e.outcome, e.solved) for e in found[1:]] == [
        (history.FORWARDED, "employment", None, None),
        (history.ANSWERED, None, "explained", None),
        (history.CLOSED, None, None, "partly"),
    ]


async def test_migration_0011_names_the_officials_of_older_rows(tmp_path: Path) -> None:
    """Rows written before names were kept get the taker's and the answerer's names, which
    the appeal kept with their ids, and the names of the officials' prompts."""
    db = await SQLiteDatabase.open(tmp_path / "old.db", migrate_to=10)
    # Written as the code of that time wrote it: today's repository knows later columns.
    await db.execute(
        "INSERT INTO appeals (reference, draft_key, citizen_id, kind, category, region, "
        "district, text, language, status, created_at, registered_on, due_at, taken_by, "
        "taken_by_name, answered_by, answered_by_name) VALUES ('2026-00001', 'old', NULL, "
        "'complaint', 'roads', '350000000', '354800000', 'Яма', 'kk', 'answered', ?, "
        "'2026-11-23', ?, 5, 'Ерлан', 6, 'Дана')",
        (NOW.isoformat(), NOW.isoformat()),
    )
    row = await db.fetchone("SELECT id FROM appeals WHERE draft_key = 'old'")
    assert row is not None
    appeal = SimpleNamespace(id=int(row["id"]))
    await db.execute(
        "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at) "
        "VALUES (?, NULL, 'registered', 'citizen:1', ?)",
        (appeal.id, NOW.isoformat()),
    )
    for actor, status in (("official:5", "in_progress"), ("official:6", "answered"),
                          ("official:7", "answered"), ("official:8", "answered")):  # fmt: skip
        await db.execute(
            "INSERT INTO status_history (appeal_id, old_status, new_status, actor, at) "
            "VALUES (?, 'registered', ?, ?, ?)",
            (appeal.id, status, actor, NOW.isoformat()),
        )
    await db.execute(
        "INSERT INTO official_prompts (chat_id, message_id, appeal_id, action, official_id, "
        "official_name, created_at, expires_at) VALUES (-1, 1, ?, 'extend', 7, 'Гүлнар', ?, ?)",
        (appeal.id, NOW.isoformat(), NOW.isoformat()),
    )
    await db.close()
    db = await SQLiteDatabase.open(tmp_path / "old.db")
    try:
        names = await db.fetchall("SELECT actor, actor_name FROM status_history ORDER BY id")
        assert [tuple(r) for r in names] == [
            ("citizen:1", None), ("official:5", "Ерлан"), ("official:6", "Дана"),
            ("official:7", "Гүлнар"), ("official:8", None),
        ]  # fmt: skip
    finally:
        await db.close()


async def test_full_contacts_only_for_an_administrator_in_private(
    repo: SQLiteRepository, catalog: Catalog, clock: FrozenClock
) -> None:
    officials, _ = service(repo, catalog, clock, {1: "member", 7: "administrator"})
    assert await officials.may_export_contacts(7, 7)  # ADMIN_IDS, in private
    assert not await officials.may_export_contacts(CHAT, 7)  # the same, in the group
    assert not await officials.may_export_contacts(CHAT, 1)
    assert not await officials.may_export_contacts(1, 1)  # not an administrator


@pytest.mark.parametrize(
    ("args", "parsed"),
    [(None, ExportArgs(30, False)), ("7", ExportArgs(7, False)),
     ("full", ExportArgs(30, True)), ("FULL 7", ExportArgs(7, True)),
     ("7 full", ExportArgs(7, True)), ("full full", None), ("7 8", None),
     ("full 0", None), ("all", None)],
)  # fmt: skip
def test_export_arguments(args: str | None, parsed: ExportArgs | None) -> None:
    assert parse_export(args) == parsed


@pytest.mark.parametrize(
    ("lang", "value", "text"),
    [("ru", timedelta(minutes=1), "1 минута"), ("ru", timedelta(minutes=2), "2 минуты"),
     ("ru", timedelta(minutes=35), "35 минут"), ("ru", timedelta(minutes=21), "21 минута"),
     ("ru", timedelta(seconds=20), "0 минут"), ("ru", timedelta(minutes=59, seconds=40), "1 час"),
     ("ru", timedelta(hours=5), "5 часов"), ("ru", timedelta(days=3), "3 дня"),
     ("kk", timedelta(minutes=35), "35 минут"), ("kk", timedelta(minutes=1), "1 минут"),
     ("kk", timedelta(hours=2), "2 сағат")],
)  # fmt: skip
def test_durations_under_an_hour_in_minutes(lang: str, value: timedelta, text: str) -> None:
    i18n = PoI18n()
    with i18n.context(), i18n.use_locale(lang):
        assert duration(value) == text


async def test_places_taken_in_the_sessions_ahead(repo: SQLiteRepository) -> None:
    store = SQLiteBookingStore(repo.db)
    later = await book(store, 3, slot(11))
    taken = await book(store, 1, slot(10))
    cancelled = await book(store, 2, slot(10, day=WED + timedelta(days=7)))
    assert cancelled.booking is not None and taken.booking and later.booking
    await store.cancel(cancelled.booking.id, 2, NOW)
    places = await store.places_between(WED - timedelta(days=2), WED + timedelta(days=28))
    assert [b.id for b in places] == [taken.booking.id, later.booking.id]  # in slot order
    assert await store.places_between(WED + timedelta(days=1), WED + timedelta(days=28)) == []


def test_lines_that_keep_the_status_are_read_by_their_note() -> None:
    """A question, an addition and an answer to a question keep the appeal's status; they
    are neither a reopening (which comes from «answered») nor a bare status line."""
    from storage.reports import HistoryRow

    work, answered = Status.IN_PROGRESS, Status.ANSWERED
    rows = [
        HistoryRow(work, work, "official:5", "Дана", NOW, "question 1 asked"),
        HistoryRow(
            work, work, "citizen:1", None, NOW, "answer to question 1: text 9 chars, 0 files"
        ),
        HistoryRow(work, work, "citizen:1", None, NOW, "addition 2: text 12 chars, 1 files"),
        HistoryRow(work, answered, "official:5", "Дана", NOW, "satisfied"),
        HistoryRow(answered, work, "citizen:1", None, NOW, "not solved"),
    ]
    appeal = SimpleNamespace(answer_outcome=None, taken_by=None, taken_by_name=None)
    found = history.events(rows, appeal, "Всё ещё темно")  # type: ignore[arg-type]
    assert [e.kind for e in found] == [
        history.ASKED,
        history.REPLIED,
        history.ADDED,
        history.ANSWERED,
        history.REOPENED,
    ]
    assert found[0].official == "Дана"
    assert [e.comment for e in found] == [None, None, None, None, "Всё ещё темно"]


def test_a_rating_line_is_read_back_with_its_stars() -> None:
    from datetime import UTC, datetime

    from storage.reports import HistoryRow

    at = datetime(2026, 11, 24, 5, tzinfo=UTC)
    row = HistoryRow(Status.CLOSED, Status.CLOSED, "citizen:1", None, at, "rating 4")
    appeal = SimpleNamespace(taken_by=None, taken_by_name=None, answer_outcome=None)
    [event] = history.events([row], appeal)  # type: ignore[arg-type]
    assert (event.kind, event.rating, event.by_citizen) == (history.RATED, 4, True)
