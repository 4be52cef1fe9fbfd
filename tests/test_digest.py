"""The officials' daily digest: its numbers, its text in both languages, and that the daily one
goes out exactly once per chat and day, across restarts and concurrent instances."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from html import unescape
from typing import Any

import pytest

from bot.delivery.scheduler import Ticker
from bot.domain.catalog import Catalog
from bot.domain.deadlines import WorkCalendar
from bot.domain.digest import LIST_LIMIT, DigestData, DueSoonItem, OverdueItem
from bot.services.digest import DigestService, officials_chats
from bot.views.digest import DigestView, render_digest
from i18n.core import PoI18n
from i18n.formatting import long_date
from storage.base import Repository
from storage.digest import local_day_bounds
from storage.models import NewAppeal, Status
from storage.outbox import NewMessage, Outgoing
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.digest import SQLiteDigestQueries
from tests.backends import Backend, store
from tests.conftest import ALMATY, FrozenClock

CHAT = -1001  # the default officials chat (OFFICIALS_CHAT_ID)
OTHER = -1002  # a chat the catalog routes some appeals to
KARKARALY = "354800000"
KARAGANDA = "351000000"
DAY = date(2026, 11, 23)  # Monday: the day the digest reports on
SENT_DAY = date(2026, 11, 24)  # Tuesday: the morning it is sent


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ALMATY)


def on(day_of_month: int, hour: int, minute: int = 0) -> datetime:
    return local(date(2026, 11, day_of_month), hour, minute)


NOW = on(24, 9, 0).astimezone(UTC)


@dataclass
class Sent:
    chat_id: int
    text: str
    dedupe_key: str | None
    purpose: str | None


class Recorder:
    """Stands in for bot.delivery.outbox.Outbox; deliberately does not dedupe, so a second
    send shows."""

    def __init__(self, fail: int = 0) -> None:
        self.sent: list[Sent] = []
        self.fail = fail

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> list[int]:
        await asyncio.sleep(0)  # a real outbox writes to the database: let others interleave
        if self.fail:
            self.fail -= 1
            raise RuntimeError("outbox is down")
        self.sent.append(Sent(chat_id, text, dedupe_key, purpose))
        return [len(self.sent)]

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> Outgoing:
        message = NewMessage("sendMessage", {"text": text}, dedupe_key, purpose)
        return Outgoing(chat_id, [message], NOW)

    async def queue_in(self, conn: Any, batches: Sequence[Outgoing]) -> list[int]:
        """Inside the claim's transaction: a failure here must take the claim back with it."""
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise RuntimeError("outbox is down")
        for batch in batches:
            for message in batch.messages:
                text = message.payload["text"]
                self.sent.append(Sent(batch.chat_id, text, message.dedupe_key, message.purpose))
        return [len(self.sent)]

    def poke(self) -> None:
        return None


@pytest.fixture(scope="module")
def i18n() -> PoI18n:
    return PoI18n()


# The numbers and the once-a-day claim on each backend; SQLite's query plans on SQLite.
pytestmark = pytest.mark.every_backend


@pytest.fixture
async def db(backend: Backend) -> Any:
    return await backend.open()


def make_service(
    db: Any,
    sender: Recorder,
    catalog: Catalog,
    i18n: PoI18n,
    *,
    chats: Iterable[int] = (CHAT,),
    lang: str = "ru",
) -> DigestService:
    return DigestService(
        store("digest", db),
        sender,
        DigestView(catalog, i18n, lang),
        WorkCalendar.from_catalog(catalog),
        ALMATY,
        time(9, 0),
        lang,
        lambda: list(chats),
        default_chat_id=CHAT,
    )


_seq = iter(range(1, 1_000_000))


async def add(
    db: Any,
    created: datetime,
    *,
    category: str = "roads",
    district: str = KARKARALY,
    chat: int | None = CHAT,
    status: Status = Status.REGISTERED,
    due: datetime | None = None,
    answered: datetime | None = None,
    rating: int | None = None,
    department: str | None = None,
) -> str:
    """An appeal as the wizard files it, then moved by SQL to where the test needs it."""
    repo: Repository = store("repository", db)
    appeal, _created = await repo.create_appeal(
        NewAppeal(
            draft_key=f"d{next(_seq)}",
            citizen_id=1,
            kind="application",
            category=category,
            region="350000000",
            district=district,
            text="Текст обращения для проверки",
            contact_name="Айгүл",
            contact_phone="+77012345678",
            language="kk",
            created_at=created,
            registered_on=created.astimezone(ALMATY).date(),
            due_at=due or created + timedelta(days=30),
        )
    )
    await repo.update_fields(
        appeal.id, officials_chat_id=chat, status=status, answered_at=answered, rating=rating,
        department=department,
    )  # fmt: skip
    return appeal.reference


async def dataset(db: Any) -> dict[str, str]:
    """Monday 23 November 2026 in Almaty (UTC+5), seen on Tuesday at 09:00."""
    refs: dict[str, str] = {}
    # Yesterday's new appeals. Local midnight is 19:00 UTC the day before, and 23:30 local is
    # still Monday, while 00:30 on Tuesday is 19:30 UTC on Monday: only local days count.
    refs["midnight"] = await add(db, on(23, 0, 0))
    refs["late"] = await add(db, on(23, 23, 30), district=KARAGANDA)
    refs["lighting"] = await add(
        db, on(23, 10), category="lighting", district=KARAGANDA, status=Status.IN_PROGRESS
    )
    refs["answered"] = await add(
        db, on(23, 12), status=Status.ANSWERED, answered=on(23, 15), rating=5
    )
    refs["no_chat"] = await add(db, on(23, 16), category="waste", district=KARAGANDA, chat=None)
    refs["other_chat"] = await add(db, on(23, 14), chat=OTHER)
    refs["before"] = await add(db, on(22, 23, 59))
    refs["after"] = await add(db, on(24, 0, 30))
    # Older appeals: overdue, answered, rated, due soon.
    refs["overdue6"] = await add(db, on(2, 10), due=on(18, 18, 30), department="Отдел ЖКХ <A&B>")
    refs["overdue4"] = await add(
        db, on(4, 10), due=on(20, 18, 30), status=Status.IN_PROGRESS, chat=None
    )
    refs["overdue1"] = await add(
        db, on(6, 10), due=on(23, 18, 30), status=Status.FORWARDED, department="Акимат"
    )
    refs["late_answer"] = await add(
        db, on(3, 10), due=on(20, 18, 30), status=Status.ANSWERED, answered=on(23, 11), rating=3
    )
    refs["rated"] = await add(
        db, on(5, 10), due=on(20, 18, 30), status=Status.CLOSED, answered=on(14, 10), rating=4
    )
    refs["rated_long_ago"] = await add(
        db,
        local(date(2026, 10, 1), 10),
        due=on(10, 18, 30),
        status=Status.CLOSED,
        answered=local(date(2026, 10, 15), 10),
        rating=1,
    )
    refs["withdrawn"] = await add(db, on(9, 10), due=on(10, 18, 30), status=Status.WITHDRAWN)
    refs["due_today"] = await add(
        db,
        on(10, 10),
        due=on(24, 18, 30),
        status=Status.IN_PROGRESS,
        department="Отдел КСП",
    )
    refs["due_thursday"] = await add(db, on(11, 10), due=on(26, 18, 30))
    refs["due_next_monday"] = await add(db, on(12, 10), due=on(30, 18, 30))
    refs["other_overdue"] = await add(db, on(1, 10), due=on(19, 18, 30), chat=OTHER)
    return refs


# storage and numbers


def test_local_day_is_converted_to_a_utc_range() -> None:
    start, end = local_day_bounds(DAY, ALMATY)
    assert start.astimezone(UTC) == datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


async def test_day_boundaries_follow_the_local_day(db: Any) -> None:
    await add(db, on(22, 23, 59))  # Sunday local, 18:59 UTC Sunday
    await add(db, on(23, 0, 0))  # Monday local, though 19:00 UTC on Sunday
    await add(db, on(23, 23, 30))  # Monday local, 18:30 UTC Monday
    await add(db, on(24, 0, 30))  # Tuesday local, though 19:30 UTC on Monday
    start, end = local_day_bounds(DAY, ALMATY)
    counts = await store("digest", db).day_counts(CHAT, start, end)
    assert counts.total == 2


async def test_digest_numbers_for_the_default_chat(db: Any, catalog: Catalog, i18n: PoI18n) -> None:
    refs = await dataset(db)
    data = await make_service(db, Recorder(), catalog, i18n).collect(CHAT, DAY, NOW)

    assert data.day == DAY
    # Appeals without a chat of their own belong to the default chat; the other chat's do not.
    assert data.new_total == 5
    assert dict(data.by_category) == {"roads": 3, "lighting": 1, "waste": 1}
    assert dict(data.by_district) == {KARKARALY: 2, KARAGANDA: 3}
    assert dict(data.by_status) == {"registered": 3, "in_progress": 1, "answered": 1}
    assert (data.answered, data.answered_on_time, data.on_time_rate) == (2, 1, 0.5)
    # Ratings of the last 30 days only: 5, 3 and 4, not the one of 15 October.
    assert (data.rating_average, data.rating_count) == (4.0, 3)
    # Open and past due only: not the answered, closed or withdrawn ones; most overdue first.
    assert [(i.reference, i.days_overdue, i.department) for i in data.overdue] == [
        (refs["overdue6"], 6, "Отдел ЖКХ <A&B>"),
        (refs["overdue4"], 4, None),
        (refs["overdue1"], 1, "Акимат"),
    ]
    assert data.overdue_total == 3
    # Today and the next 3 working days (Wednesday to Friday); not next Monday.
    assert [(i.reference, i.due_on) for i in data.due_soon] == [
        (refs["due_today"], date(2026, 11, 24)),
        (refs["due_thursday"], date(2026, 11, 26)),
    ]
    assert data.due_soon_total == 2


async def test_a_routed_chat_sees_only_its_own_appeals(
    db: Any, catalog: Catalog, i18n: PoI18n
) -> None:
    refs = await dataset(db)
    data = await make_service(db, Recorder(), catalog, i18n).collect(OTHER, DAY, NOW)
    assert (data.new_total, dict(data.by_category)) == (1, {"roads": 1})
    assert [(i.reference, i.days_overdue) for i in data.overdue] == [(refs["other_overdue"], 5)]
    assert (data.answered, data.rating_count, data.due_soon_total) == (0, 0, 0)
    assert data.rating_average is None and data.on_time_rate is None


async def test_long_lists_are_cut_in_sql_but_counted_in_full(db: Any) -> None:
    for i in range(20):
        await add(db, on(1, 10), due=on(2 + i % 10, 18, 30))
    found = await store("digest", db).open_due(
        CHAT, statuses={Status.REGISTERED}, before=NOW, limit=LIST_LIMIT
    )
    assert (len(found.rows), found.total) == (LIST_LIMIT, 20)
    dues = [r.due_at for r in found.rows]
    assert dues == sorted(dues) and dues[0] == on(2, 18, 30)


class PlanRecorder:
    """Passes queries through to the database, keeping SQLite's plan for each."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.plans: list[tuple[str, list[str]]] = []

    async def _plan(self, sql: str, params: Iterable[Any]) -> None:
        rows = await self.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        self.plans.append((sql, [r["detail"] for r in rows]))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        await self._plan(sql, params)
        return await self.db.fetchall(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        await self._plan(sql, params)
        return await self.db.fetchone(sql, params)


@pytest.mark.sqlite_only  # SQLite's query plans
@pytest.mark.parametrize("chat", [CHAT, OTHER])
async def test_queries_search_indexes_never_scan_the_history(
    db: Any, catalog: Catalog, i18n: PoI18n, chat: int
) -> None:
    await dataset(db)
    await db.execute("ANALYZE")
    recorder = PlanRecorder(db)
    service = make_service(db, Recorder(), catalog, i18n)
    service.queries = SQLiteDigestQueries(recorder)  # type: ignore[arg-type]
    await service.collect(chat, DAY, NOW)
    # Each query reads a range of its own index: the day's, or the open ones by due time.
    expected = {
        "created_at": ("appeals_by_chat_created", "appeals_by_created"),
        "answered_at": ("appeals_by_answered",),
        "status IN": ("appeals_by_status_due",),
    }
    assert len(recorder.plans) == 5
    for sql, details in recorder.plans:
        assert not [d for d in details if d.startswith("SCAN appeals")], (sql, details)
        searches = [
            d for d in details
            if d.startswith(("SEARCH appeals USING INDEX", "SEARCH appeals USING COVERING INDEX"))
        ]  # fmt: skip
        indexes = next(v for k, v in expected.items() if f"WHERE {k}" in sql)
        assert searches and all(any(i in d for i in indexes) for d in searches), (sql, details)


# the text


def visible_lines(text: str) -> list[str]:
    return [unescape(re.sub(r"</?b>", "", line)) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("lang", "names", "status"),
    [
        ("ru", ["Дороги", "Уличное освещение", "Каркаралинский район"], "Зарегистрировано"),
        ("kk", ["Жолдар", "Көше жарығы", "Қарқаралы ауданы"], "Тіркелді"),
    ],
)
async def test_rendered_digest(
    db: Any,
    catalog: Catalog,
    i18n: PoI18n,
    lang: str,
    names: list[str],
    status: str,
) -> None:
    refs = await dataset(db)
    text = await make_service(db, Recorder(), catalog, i18n, lang=lang).build(CHAT, DAY, NOW)
    lines = visible_lines(text)

    assert long_date(DAY, lang) in lines[0]
    assert text.startswith("<b>") and text.count("<b>") == text.count("</b>")
    assert not re.search(r"<(?!/?b>)", text), "only <b> tags, everything else escaped"
    # Counts right-aligned before the names, catalog names in the chosen language.
    assert "3 · " + names[0] in lines and "1 · " + names[1] in lines
    assert "2 · " + names[2] in lines
    assert "3 · " + status in lines
    assert lines[1] == "" and lines[2].endswith(": 5"), "new appeals, under the heading"
    assert any("1" in line and "2" in line and "50" in line and "%" in line for line in lines)
    assert any("4,0" in line and "3" in line for line in lines)
    # Overdue most first, the department escaped in HTML, the missing one still a line.
    order = [text.index(refs[k]) for k in ("overdue6", "overdue4", "overdue1")]
    assert order == sorted(order)
    assert "Отдел ЖКХ &lt;A&amp;B&gt;" in text and "<A&B>" not in text
    overdue6 = next(line for line in lines if refs["overdue6"] in line)
    assert " 6 " in overdue6 and overdue6.endswith("Отдел ЖКХ <A&B>")
    due_today = next(line for line in lines if refs["due_today"] in line)
    assert long_date(date(2026, 11, 24), lang) in due_today
    assert due_today.endswith("Отдел КСП")
    for absent in ("due_next_monday", "other_overdue", "withdrawn", "rated", "before"):
        assert refs[absent] not in text
    assert max(len(line) for line in lines) <= 60, "short lines for a phone"


def test_long_lists_are_capped_and_sorted(catalog: Catalog, i18n: PoI18n) -> None:
    overdue = tuple(OverdueItem(f"2026-{i:05d}", i, None) for i in range(1, 21))
    due_soon = tuple(
        DueSoonItem(f"2027-{i:05d}", date(2026, 11, 24) + timedelta(days=i % 3), "X")
        for i in range(1, 18)
    )
    data = DigestData(
        day=DAY,
        new_total=40,
        by_category=(*((c.code, 2) for c in catalog.categories[:15]), ("x", 12), ("y", 1)),
        by_district=((KARKARALY, 40),),
        by_status=(("registered", 40),),
        overdue=overdue,
        overdue_total=25,
        due_soon=due_soon,
        due_soon_total=17,
    )
    with i18n.context(), i18n.use_locale("ru"):
        lines = visible_lines(render_digest(data, catalog, "ru"))
    overdue_lines = [line for line in lines if line.startswith("№ 2026-")]
    assert len(overdue_lines) == LIST_LIMIT
    assert overdue_lines[0].startswith("№ 2026-00020") and overdue_lines[-1].startswith(
        "№ 2026-00006"
    )
    # 25 overdue in all, 15 shown.
    assert lines[lines.index(overdue_lines[-1]) + 1].endswith("ещё 10")
    assert len([line for line in lines if line.startswith("№ 2027-")]) == LIST_LIMIT
    # Counts wider than one digit push the single digits right with figure spaces.
    assert "12 · x" in lines
    assert len([line for line in lines if line.startswith("\u20072 · ")]) == LIST_LIMIT - 1
    # The 16th and 17th categories, 2 + 1 appeals, fold into one line.
    assert any(line.startswith("\u20073 · ") and line.endswith("ещё 2") for line in lines)


def test_an_empty_day_is_one_line(catalog: Catalog, i18n: PoI18n) -> None:
    for lang in ("ru", "kk"):
        with i18n.context(), i18n.use_locale(lang):
            text = render_digest(DigestData(day=DAY), catalog, lang)
        heading, line = text.split("\n")
        assert long_date(DAY, lang) in heading and line


async def test_a_day_without_new_appeals_still_lists_what_is_overdue(
    db: Any, catalog: Catalog, i18n: PoI18n
) -> None:
    ref = await add(db, on(1, 10), due=on(20, 18, 30))
    text = await make_service(db, Recorder(), catalog, i18n).build(CHAT, DAY, NOW)
    lines = visible_lines(text)
    assert ref in text and "4" in next(line for line in lines if ref in line)
    # No breakdowns when there is nothing to break down: one line says so.
    assert not [line for line in lines if " · " in line and ref not in line]


# exactly once


async def test_the_daily_digest_goes_out_once(db: Any, catalog: Catalog, i18n: PoI18n) -> None:
    await dataset(db)
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n)

    assert await service.tick(on(24, 8, 59)) == []
    assert sender.sent == []
    assert await service.tick(on(24, 9, 0)) == [CHAT]
    assert await service.tick(on(24, 9, 1)) == []
    restarted = make_service(db, sender, catalog, i18n)
    assert await restarted.tick(on(24, 9, 30)) == []

    assert len(sender.sent) == 1
    sent = sender.sent[0]
    assert (sent.chat_id, sent.dedupe_key) == (CHAT, "digest:-1001:2026-11-23")
    assert long_date(DAY, "ru") in sent.text
    assert await service.queries.claimed(CHAT, DAY)


async def test_each_chat_gets_its_own(db: Any, catalog: Catalog, i18n: PoI18n) -> None:
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n, chats=[CHAT, OTHER, CHAT])
    assert await service.tick(on(24, 9, 0)) == [CHAT, OTHER]
    assert await service.tick(on(24, 10, 0)) == []
    assert [s.dedupe_key for s in sender.sent] == [
        "digest:-1001:2026-11-23",
        "digest:-1002:2026-11-23",
    ]


async def test_a_bot_started_late_catches_up(db: Any, catalog: Catalog, i18n: PoI18n) -> None:
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n)
    assert await service.tick(on(24, 11, 0)) == [CHAT]
    assert [s.dedupe_key for s in sender.sent] == ["digest:-1001:2026-11-23"]


async def test_a_missed_day_is_not_sent_the_morning_after(
    db: Any, catalog: Catalog, i18n: PoI18n
) -> None:
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n)
    # Down all Tuesday: Wednesday morning sends neither Monday's report nor anything early.
    assert await service.tick(on(25, 8, 0)) == []
    assert sender.sent == []
    assert not await service.queries.claimed(CHAT, DAY)
    assert await service.tick(on(25, 9, 0)) == [CHAT]
    assert [s.dedupe_key for s in sender.sent] == ["digest:-1001:2026-11-24"]


async def test_concurrent_instances_send_one(
    db: Any, backend: Backend, catalog: Catalog, i18n: PoI18n
) -> None:
    await dataset(db)
    second = await backend.open()  # another process's own connection
    try:
        sender = Recorder()
        services = [
            make_service(db, sender, catalog, i18n),
            make_service(second, sender, catalog, i18n),
            make_service(db, sender, catalog, i18n),
        ]
        results = await asyncio.gather(*(s.tick(on(24, 9, 0)) for s in services))
    finally:
        await second.close()
    assert sorted(results) == [[], [], [CHAT]]
    assert len(sender.sent) == 1


async def test_a_failed_send_is_retried_on_the_next_tick(
    db: Any, catalog: Catalog, i18n: PoI18n, caplog: pytest.LogCaptureFixture
) -> None:
    sender = Recorder(fail=1)
    service = make_service(db, sender, catalog, i18n)
    with caplog.at_level(logging.ERROR, logger="bot.services.digest"):
        assert await service.tick(on(24, 9, 0)) == []
    assert "outbox is down" in caplog.text
    assert not await service.queries.claimed(CHAT, DAY)
    assert await service.tick(on(24, 9, 1)) == [CHAT]
    assert len(sender.sent) == 1


async def test_send_now_does_not_claim(db: Any, catalog: Catalog, i18n: PoI18n) -> None:
    await dataset(db)
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n)
    assert await service.send_now(CHAT, on(24, 8, 0)) == [1]
    assert await service.send_now(CHAT, on(24, 8, 5)) == [2]
    assert [s.dedupe_key for s in sender.sent] == [None, None]
    assert long_date(DAY, "ru") in sender.sent[0].text
    assert not await service.queries.claimed(CHAT, DAY)
    assert await service.tick(on(24, 9, 0)) == [CHAT]
    assert len(sender.sent) == 3


def test_officials_chats_are_the_default_and_the_routed_ones(catalog: Catalog) -> None:
    routed = Catalog(
        kinds=catalog.kinds,
        categories=catalog.categories,
        territory=catalog.territory,
        route_categories={"health": OTHER, "roads": CHAT},
        route_districts={KARKARALY: -1003},
    )
    assert officials_chats(CHAT, routed) == [CHAT, -1003, OTHER]
    assert officials_chats(None, catalog) == []


# the ticker


class TickCounter:
    def __init__(self, *, fail: bool = False, seconds: float = 0.0) -> None:
        self.calls: list[datetime] = []
        self.ticked = asyncio.Event()
        self.finished = 0
        self.fail = fail
        self.seconds = seconds

    async def tick(self, now: datetime) -> None:
        self.calls.append(now)
        self.ticked.set()
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise RuntimeError("tick broke")
        self.finished += 1


async def test_ticker_first_tick_is_immediate() -> None:
    # With a 30 s interval any tick within a second can only be the one at start.
    service = TickCounter()
    ticker = Ticker(service, FrozenClock(NOW), ALMATY, interval=30)
    ticker.start()
    try:
        await asyncio.wait_for(service.ticked.wait(), 1)
    finally:
        await ticker.stop()
    assert service.calls == [NOW]


async def test_ticker_ticks_on_interval_and_stops() -> None:
    service = TickCounter()
    ticker = Ticker(service, FrozenClock(NOW), ALMATY, interval=0.1)
    ticker.start()
    assert ticker.running
    await asyncio.sleep(0.35)
    await ticker.stop()
    assert not ticker.running
    count = len(service.calls)
    assert count >= 3 and set(service.calls) == {NOW}
    await asyncio.sleep(0.25)
    assert len(service.calls) == count, "no tick after stop"
    await ticker.stop()  # a second stop is harmless


async def test_ticker_survives_failing_ticks(caplog: pytest.LogCaptureFixture) -> None:
    service = TickCounter(fail=True)
    ticker = Ticker(service, FrozenClock(NOW), ALMATY, interval=0.1)
    with caplog.at_level(logging.ERROR, logger="bot.delivery.scheduler"):
        ticker.start()
        await asyncio.sleep(0.25)
        await ticker.stop()
    assert len(service.calls) >= 2
    assert caplog.text.count("tick broke") >= 2


async def test_ticker_stop_lets_the_running_tick_finish() -> None:
    service = TickCounter(seconds=0.2)
    ticker = Ticker(service, FrozenClock(NOW), ALMATY, interval=0.1)
    ticker.start()
    await asyncio.sleep(0.05)
    await ticker.stop()
    assert (len(service.calls), service.finished) == (1, 1)


async def test_ticker_drives_the_digest_exactly_once(
    db: Any, catalog: Catalog, i18n: PoI18n
) -> None:
    sender = Recorder()
    service = make_service(db, sender, catalog, i18n)
    clock = FrozenClock(on(24, 9, 0).astimezone(UTC))
    ticker = Ticker(service, clock, ALMATY, interval=0.05)
    ticker.start()
    await asyncio.sleep(0.3)
    await ticker.stop()
    assert [s.dedupe_key for s in sender.sent] == ["digest:-1001:2026-11-23"]
