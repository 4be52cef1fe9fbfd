"""Storage at scale: N appeals over two years in SQLite, and what each query then costs.

Fills a database with N appeals (and their history, citizens, bookings), then times what
officials and citizens ask of it (the digest, /my, /stats, /export, /receptions, filing one
appeal) and prints the database size and the query plans, to see which costs follow the day's
rows and which the whole history.

    .venv/bin/python -m bench.storage                                  # N = 10k and 100k
    .venv/bin/python -m bench.storage --sizes 10000,100000,1000000     # the full run
    .venv/bin/python -m bench.storage --sizes 1000000 --keep /tmp/storage-bench

N over a fixed two years means the day's volume grows with N as well: the main chat's digest
has ~N/730 new appeals a day to count. Two ways to tell the day's rows from the history's:
a department chat gets the same few appeals a day whatever N is, and --recent-per-day holds
the last 90 days (all the digest and /stats 30 read) at a fixed volume:

    .venv/bin/python -m bench.storage --sizes 10000,100000,1000000 --recent-per-day 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from statistics import median
from time import perf_counter
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import asyncpg

from bench import databases
from bot.delivery.outbox import Outbox
from bot.domain.catalog import Catalog, Kind, load_catalog
from bot.domain.deadlines import DeadlinePolicy, WorkCalendar
from bot.domain.digest import DigestData
from bot.domain.receptions import Reception, SlotPlanner, load_receptions
from bot.domain.reports import ExportPeriod, Stats
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.digest import DigestService
from bot.services.reports import compute_stats
from bot.views.booking_notices import BookingNotices
from bot.views.digest import DigestView
from bot.views.reports import export_xlsx, render_stats
from handlers.my_appeals import render_page
from handlers.official_receptions import session_keyboard, session_text
from i18n.core import PoI18n
from storage.base import Repository
from storage.codec import decode_instant, encode_instant
from storage.models import NewAppeal, Outcome, Status
from storage.outbox import Outgoing
from storage.postgres.bookings import PostgresBookingStore
from storage.postgres.database import PostgresDatabase
from storage.postgres.digest import PostgresDigestQueries
from storage.postgres.outbox import PostgresOutboxStore
from storage.postgres.reports import PostgresReportQueries
from storage.postgres.repository import PostgresRepository
from storage.reports import ReportQueries
from storage.sqlite.bookings import SQLiteBookingStore
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.digest import SQLiteDigestQueries
from storage.sqlite.outbox import SQLiteOutboxStore
from storage.sqlite.reports import SQLiteReportQueries
from storage.sqlite.repository import SQLiteRepository

SPAN = timedelta(days=730)
MAIN_CHAT = -100500  # the default officials chat: most appeals, and those without a chat
DEPT_CHAT = -100600  # a department's chat: the same few appeals a day whatever N is
# Everything the digest and /stats 30 read was filed within this: what was answered in the
# last 30 days (filed up to ~70 days ago: 20 working days, plus late answers), what is open.
RECENT = timedelta(days=90)
NO_CHAT_DAYS = 60  # the history's first months, before an officials chat was configured
CITIZEN = 42  # the citizen with exactly CITIZEN_APPEALS appeals, for /my
CITIZEN_APPEALS = 50
CITIZEN_BASE = 1_000_000  # everyone else: ids from here on
CHUNK = 50_000  # appeals generated and committed at a time: bounds memory at any N
TZ = ZoneInfo("Asia/Almaty")  # Settings.timezone's default
LANG = "ru"  # Settings.officials_language's default
DAYS = 30  # /stats 30, /export 30

# Plain strings, as the repository's rows hold them.
REGISTERED = Status.REGISTERED.value
IN_PROGRESS = Status.IN_PROGRESS.value
ANSWERED = Status.ANSWERED.value
CLOSED = Status.CLOSED.value
WITHDRAWN = Status.WITHDRAWN.value
DUPLICATE = Status.DUPLICATE.value
APPEAL_COLUMNS = (
    "id", "reference", "draft_key", "citizen_id", "kind", "category", "region", "district",
    "text", "latitude", "longitude", "contact_name", "contact_phone", "language", "status",
    "created_at", "registered_on", "due_at", "department", "answer_text", "answer_outcome",
    "answered_at", "rating", "officials_chat_id", "taken_by", "taken_by_name", "answered_by",
    "answered_by_name", "solved",
)  # fmt: skip
HISTORY_COLUMNS = ("appeal_id", "old_status", "new_status", "actor", "at", "note")
BOOKING_COLUMNS = (
    "draft_key", "citizen_id", "reception", "slot_start", "session_day", "status", "topic",
    "appeal_id", "access", "access_other", "contact_name", "contact_phone", "language",
    "created_at", "cancelled_at",
)  # fmt: skip

SAMPLE = (
    "во дворе дома не горит уличное освещение уже две недели просим принять меры яма на "
    "дороге возле школы мешает проезду автобусов жители обращались ранее но ответа не "
    "получили вывоз мусора задерживается контейнеры переполнены прошу сообщить сроки ремонта "
    "крыши подъезда и восстановления отопления аула ауданы көше жолы жөндеу қажет"
)
WORDS = SAMPLE.split()  # appeal texts are drawn from these, so their length is realistic
FIRST_NAMES = ("Айгерим", "Нурлан", "Елена", "Ержан", "Динара", "Сергей", "Асель", "Марат")
SURNAMES = ("Ахметова", "Садыков", "Иванова", "Жумабаев", "Ким", "Петров", "Нургалиева")
OFFICIALS = ((5001, "Касымова А."), (5002, "Ким С."), (5003, "Садыков Н."), (5004, "Иванова Е."))
DEPARTMENTS = ("Отдел ЖКХ", "Отдел строительства", "Отдел образования", "Отдел занятости")
OUTCOMES = (Outcome.SATISFIED, Outcome.PARTLY, Outcome.REFUSED, Outcome.EXPLAINED)
OUTCOME_WEIGHTS = (45, 20, 10, 25)
RATING_WEIGHTS = (5, 5, 10, 30, 50)  # ratings 1..5: citizens who bother to rate are mostly glad
KIND_WEIGHTS = {"application": 50, "complaint": 25, "proposal": 15, "info_request": 10}


def parse_sizes(text: str) -> list[int]:
    sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    if not sizes or sizes[0] < 1000:
        raise argparse.ArgumentTypeError("sizes are comma-separated counts of at least 1000")
    return sizes


def spread(i: int, n: int, count: int) -> bool:
    """True for exactly `count` of the indices 0..n-1, evenly spaced: the same share of every
    period gets one, without a random draw that would change the count."""
    return (i + 1) * count // n > i * count // n


@dataclass
class Dataset:
    """What the fill made: the counts for the table, and where the operations look: a SQLite
    file (`path`) or a PostgreSQL schema (`url`)."""

    path: Path | None
    url: str = ""
    out: Path = Path("export.xlsx")  # where /export's file goes
    database: str = "sqlite"
    appeals: int = 0
    history: int = 0
    bookings: int = 0
    citizens: int = 0
    dept_appeals: int = 0
    per_day: str = ""
    fill_seconds: float = 0.0
    size_mib: float = 0.0
    session_day: date = date.min


class Filler:
    """Generates the rows the repository would have written over two years, as they would
    look after officials worked on them: same columns, same text formats (`encode_instant`
    of storage.codec for instants, ISO dates), inserted by executemany in large transactions.
    Filing 1M appeals one by one through create_appeal would take hours."""

    def __init__(self, catalog: Catalog, now: datetime, n: int, args: argparse.Namespace) -> None:
        self.catalog = catalog
        self.now = now
        self.n = n
        self.rng = random.Random(args.seed)
        self.start = now - SPAN
        self.citizens = max(n // 20, args.bookings + 1)
        # With --recent-per-day the last RECENT days get that many appeals a day at any N and
        # the rest of N goes to the older history: the day's rows stay put while N grows.
        self.recent = min(args.recent_per_day * RECENT.days, n // 2)
        self.older = n - self.recent
        self.older_span = SPAN - RECENT if self.recent else SPAN
        # The department chat gets the same appeals a day in either part, whatever N is.
        self.dept_older = min(args.dept_per_day * self.older_span.days, self.older // 4)
        self.dept_recent = min(args.dept_per_day * RECENT.days, self.recent // 4)
        self.dept_count = self.dept_older + self.dept_recent
        self.stale_count = min(args.stale, n // 100)
        # The forgotten ones come from the older history's indices created before the last
        # NO_CHAT_DAYS (long overdue by now), spread over them: the same count at every N.
        gap = NO_CHAT_DAYS - (RECENT.days if self.recent else 0)
        self.stale_upto = self.older * (self.older_span.days - gap) // self.older_span.days
        self.bookings_on_day = args.bookings
        self.policy = DeadlinePolicy(catalog, TZ)
        self.deadlines: dict[tuple[str, date, bool], tuple[date, datetime]] = {}
        self.kinds = list(catalog.kinds)
        self.kind_weights = [KIND_WEIGHTS.get(k.code, 10) for k in self.kinds]
        self.categories = [c.code for c in catalog.categories]
        self.places = [
            (region.code, district.code)
            for region in catalog.territory.regions
            for district in catalog.territory.districts_of(region.code)
        ]
        rng = self.rng
        sizes = (8, 15, 25, 40, 60, 90, 140, 220)  # words: from a line to a long letter
        self.texts = [self._words(rng.choice(sizes)) for _ in range(256)]
        self.answers = [self._words(rng.choice(sizes[:5])) for _ in range(64)]
        self.sequences: dict[int, int] = {}  # reference numbers by registration year

    def _words(self, count: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(count)).capitalize() + "."

    def _phone(self) -> str:
        return f"+7 70{self.rng.randrange(10**8):08d}"

    def _name(self) -> str:
        return f"{self.rng.choice(SURNAMES)} {self.rng.choice(FIRST_NAMES)}"

    def deadline(self, kind: Kind, created: datetime) -> tuple[date, datetime]:
        # DeadlinePolicy walks the calendar day by day; the answer depends only on the kind,
        # the local day and whether working hours were over, so a cache makes 1M rows cheap.
        local = created.astimezone(TZ)
        key = (kind.code, local.date(), local.time() < self.catalog.working_time.end)
        if key not in self.deadlines:
            found = self.policy.deadline(kind, created)
            self.deadlines[key] = (found.registered_on, found.due_at)
        return self.deadlines[key]

    def citizen_rows(self) -> Iterator[tuple[Any, ...]]:
        joined = encode_instant(self.start - timedelta(days=1))
        yield (CITIZEN, LANG, joined, self._name(), self._phone())
        for k in range(self.citizens):
            language = "ru" if k % 5 < 3 else "kk"
            yield (CITIZEN_BASE + k, language, joined, self._name(), self._phone())

    def appeal_chunks(self) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Appeals in the order they arrived (ids follow created_at, as in real life), with
        their status history; CHUNK at a time."""
        n, rng = self.n, self.rng
        no_chat_until = self.start + timedelta(days=NO_CHAT_DAYS)
        for low in range(0, n, CHUNK):
            high = min(n, low + CHUNK)
            kinds = rng.choices(self.kinds, weights=self.kind_weights, k=high - low)
            appeals: list[tuple[Any, ...]] = []
            history: list[tuple[Any, ...]] = []
            for i, kind in zip(range(low, high), kinds, strict=True):
                appeal_id = i + 1
                if i < self.older:
                    created = self.start + self.older_span * ((i + rng.random()) / self.older)
                    to_dept = spread(i, self.older, self.dept_older)
                else:
                    place = (i - self.older + rng.random()) / self.recent
                    created = self.now - RECENT + RECENT * place
                    to_dept = spread(i - self.older, self.recent, self.dept_recent)
                if spread(i, n, CITIZEN_APPEALS):
                    citizen = CITIZEN
                else:
                    citizen = CITIZEN_BASE + rng.randrange(self.citizens)
                if to_dept:
                    chat: int | None = DEPT_CHAT
                elif created < no_chat_until:
                    chat = None
                else:
                    chat = MAIN_CHAT
                # A fixed backlog of forgotten appeals, the same count at every N: the overdue
                # list then has entries without the backlog itself growing with the history.
                stale = i < self.stale_upto and spread(i, self.stale_upto, self.stale_count)
                registered_on, due = self.deadline(kind, created)
                year = registered_on.year
                self.sequences[year] = self.sequences.get(year, 0) + 1
                region, district = rng.choice(self.places)
                located = rng.random() < 0.2
                life, events = self._life(appeal_id, created, due, f"citizen:{citizen}", stale)
                appeals.append(
                    (
                        appeal_id,
                        f"{year}-{self.sequences[year]:05d}",
                        f"{rng.getrandbits(128):032x}",  # a uuid4().hex, as the dialog sets
                        citizen,
                        kind.code,
                        rng.choice(self.categories),
                        region,
                        district,
                        rng.choice(self.texts),
                        rng.uniform(41.0, 55.0) if located else None,
                        rng.uniform(47.0, 87.0) if located else None,
                        self._name(),
                        self._phone(),
                        "ru" if rng.random() < 0.6 else "kk",
                        life[0],
                        encode_instant(created),
                        registered_on.isoformat(),
                        encode_instant(due),
                        *life[1:6],
                        chat,
                        *life[6:],
                    )
                )
                history += events
            yield appeals, history

    def _life(
        self, appeal_id: int, created: datetime, due: datetime, citizen: str, stale: bool
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """The appeal's status and officials' fields as of `now`, and its history rows: most
        are taken within two days and answered by the deadline, a few late, a few withdrawn;
        those whose next step is still ahead of `now` are open."""
        rng, now = self.rng, self.now
        events: list[tuple[Any, ...]] = [
            (appeal_id, None, REGISTERED, citizen, encode_instant(created), None)
        ]
        status = REGISTERED
        department = answer = outcome = answered_at = rating = None
        taken_by = taken_name = answered_by = answered_name = solved = None

        def result() -> tuple[Any, ...]:
            return (
                status, department, answer, outcome, answered_at, rating,
                taken_by, taken_name, answered_by, answered_name, solved,
            )  # fmt: skip

        official_id, official_name = rng.choice(OFFICIALS)
        official = f"official:{official_id}"
        roll = rng.random()
        if not stale and roll < 0.05:
            at = created + timedelta(hours=rng.uniform(1, 96))
            if at <= now:
                status, actor = (WITHDRAWN, citizen) if roll < 0.03 else (DUPLICATE, official)
                events.append((appeal_id, REGISTERED, status, actor, encode_instant(at), None))
            return result(), events
        first = created + timedelta(hours=rng.uniform(0.5, 48)) if rng.random() < 0.72 else None
        if first is not None and first <= now:
            events.append(
                (appeal_id, REGISTERED, IN_PROGRESS, official, encode_instant(first), None)
            )
            status, taken_by, taken_name = IN_PROGRESS, official_id, official_name
            department = rng.choice(DEPARTMENTS) if rng.random() < 0.6 else None
        if stale:
            return result(), events
        if rng.random() < 0.92:
            answered = created + (due - created) * rng.uniform(0.15, 1.0)
        else:
            answered = due + timedelta(hours=rng.uniform(1, 240))
        if first is not None:
            answered = max(answered, first + timedelta(hours=1))
        if answered > now:
            return result(), events
        outcome = rng.choices(OUTCOMES, weights=OUTCOME_WEIGHTS)[0].value
        events.append((appeal_id, status, ANSWERED, official, encode_instant(answered), outcome))
        status, answered_at, answer = ANSWERED, encode_instant(answered), rng.choice(self.answers)
        answered_by, answered_name = official_id, official_name
        taken_name = taken_name or official_name
        if rng.random() < 0.4:
            rating = rng.choices(range(1, 6), weights=RATING_WEIGHTS)[0]
        closed = answered + timedelta(hours=rng.uniform(1, 72))
        if rng.random() < 0.45 and closed <= now:
            solved = "yes" if rng.random() < 0.7 else "partly"
            events.append(
                (appeal_id, ANSWERED, CLOSED, citizen, encode_instant(closed), f"solved: {solved}")
            )
            status = CLOSED
        return result(), events

    def booking_rows(
        self, planner: SlotPlanner, reception: Reception, day: date
    ) -> Iterator[tuple[Any, ...]]:
        """A crowded session on `day` (the one /receptions shows) and, in proportion to N,
        past sessions of the two years, so the session query has a history to skip."""
        statuses, weights = ("booked", "attended", "no_show", "cancelled"), (55, 25, 5, 15)
        for k in range(self.bookings_on_day):
            yield self._booking(planner, reception, day, CITIZEN_BASE + k, statuses, weights)
        days = [
            self.start.date() + timedelta(days=d)
            for d in range(SPAN.days)
            if planner.sits_on(reception, self.start.date() + timedelta(days=d))
        ]
        days = [d for d in days if d < day]
        past = ("attended", "no_show", "cancelled", "booked"), (70, 10, 15, 5)
        for k in range(self.n // 100):
            # Citizens never repeat (N/100 < N/20 of them): the one-booking-per-session
            # unique index cannot object.
            citizen = CITIZEN_BASE + (self.bookings_on_day + k) % self.citizens
            yield self._booking(planner, reception, days[k % len(days)], citizen, *past)

    def _booking(
        self,
        planner: SlotPlanner,
        reception: Reception,
        day: date,
        citizen: int,
        statuses: tuple[str, ...],
        weights: tuple[int, ...],
    ) -> tuple[Any, ...]:
        rng = self.rng
        slots = planner.slots(reception, day)
        start = rng.choice(slots).start
        status = rng.choices(statuses, weights=weights)[0]
        made = datetime.combine(day, time(9), tzinfo=TZ) - timedelta(hours=rng.uniform(2, 600))
        access = ["wheelchair"] if rng.random() < 0.08 else []
        if rng.random() < 0.03:
            access.append("sign_language")
        about_appeal = rng.random() < 0.2
        return (
            uuid4().hex,
            citizen,
            reception.code,
            encode_instant(start),
            day.isoformat(),
            status,
            None if about_appeal else rng.choice(self.texts)[:200],
            rng.randrange(1, self.n + 1) if about_appeal else None,
            json.dumps(access),
            "нужен стул" if rng.random() < 0.02 else None,
            self._name(),
            self._phone(),
            "ru" if rng.random() < 0.6 else "kk",
            encode_instant(made),
            encode_instant(made + timedelta(hours=rng.uniform(1, 48)))
            if status == "cancelled"
            else None,
        )


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def session_day(planner: SlotPlanner, reception: Reception, today: date) -> date:
    """The latest session up to today: /receptions with marks to show."""
    for back in range(366):
        day = today - timedelta(days=back)
        if planner.sits_on(reception, day):
            return day
    raise SystemExit(f"reception {reception.code} sits on no day of the past year")


Batch = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]  # table, columns, rows


def batches(
    dataset: Dataset, n: int, now: datetime, catalog: Catalog, args: Any
) -> Iterator[Batch]:
    """The rows of the fill, table by table, CHUNK appeals (with their history) at a time; the
    dataset's counts are set as they go."""
    filler = Filler(catalog, now, n, args)
    receptions = load_receptions(catalog)
    reception = next((r for r in receptions.receptions if r.weekdays), None)
    if reception is None:
        raise SystemExit("the catalog has no weekly reception to book")
    planner = SlotPlanner(receptions, WorkCalendar.from_catalog(catalog), TZ)
    day = session_day(planner, reception, now.astimezone(TZ).date())
    citizens = list(filler.citizen_rows())
    dataset.citizens = len(citizens)
    yield "citizens", ("id", "language", "created_at", "full_name", "phone"), citizens
    for appeals, history in filler.appeal_chunks():
        yield "appeals", APPEAL_COLUMNS, appeals
        yield "status_history", HISTORY_COLUMNS, history
        dataset.appeals += len(appeals)
        dataset.history += len(history)
        print(f"  filled {dataset.appeals:,} of {n:,} appeals", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    # The repository numbers appeals from these counters: without them the next
    # create_appeal would reuse 2026-00001 and hit the reference's UNIQUE index.
    counters = [(f"appeal:{y}", v) for y, v in filler.sequences.items()]
    yield "counters", ("name", "value"), counters
    bookings = list(filler.booking_rows(planner, reception, day))
    dataset.bookings = len(bookings)
    yield "bookings", BOOKING_COLUMNS, bookings
    dataset.dept_appeals = filler.dept_count
    older_rate = filler.older / filler.older_span.days
    recent_rate = filler.recent / RECENT.days
    dataset.per_day = (
        f"{older_rate:,.0f} · {recent_rate:,.0f}" if filler.recent else f"{older_rate:,.0f}"
    )
    dataset.session_day = day


def fill(dataset: Dataset, n: int, now: datetime, catalog: Catalog, args: Any) -> None:
    """SQLite: the rows inserted by executemany in large transactions."""
    assert dataset.path is not None
    started = perf_counter()
    conn = sqlite3.connect(dataset.path, isolation_level=None)
    # A loader, not the bot's write path: a crash here only costs a rerun, so no fsyncs, and
    # a big cache keeps the random-order indexes (citizen, draft key) off the disk.
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("PRAGMA foreign_keys=ON")
    for table, columns, rows in batches(dataset, n, now, catalog, args):
        conn.execute("BEGIN")
        conn.executemany(insert_sql(table, columns), rows)
        conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    dataset.fill_seconds = perf_counter() - started
    dataset.size_mib = db_size(dataset.path) / 2**20


async def fill_postgres(
    dataset: Dataset, n: int, now: datetime, catalog: Catalog, args: Any
) -> None:
    """PostgreSQL: the same rows, turned from SQLite's stored forms into the column's types,
    by COPY; then the identity counters moved past the ids given, and ANALYZE, which
    autovacuum would run on its own soon after such a load (unlike SQLite, the server keeps
    statistics without being asked: the plans shown are with them)."""
    started = perf_counter()
    conn = await asyncpg.connect(dataset.url, server_settings={"TimeZone": "UTC"})
    try:
        types = {
            (r["table_name"], r["column_name"]): r["data_type"]
            for r in await conn.fetch(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = current_schema()"
            )
        }
        for table, columns, rows in batches(dataset, n, now, catalog, args):
            convert = [CONVERT.get(types[(table, c)]) for c in columns]
            records = [
                tuple(
                    v if f is None or v is None else f(v) for f, v in zip(convert, row, strict=True)
                )
                for row in rows
            ]
            await conn.copy_records_to_table(table, records=records, columns=list(columns))
        for table in ("appeals", "status_history", "bookings"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
            )
        await conn.execute("ANALYZE")
        dataset.size_mib = await conn.fetchval(POSTGRES_SIZE) / 2**20
    finally:
        await conn.close()
    dataset.fill_seconds = perf_counter() - started


# From SQLite's stored forms (storage/codec.py) to the PostgreSQL column's type.
CONVERT: dict[str, Callable[[Any], Any]] = {
    "timestamp with time zone": decode_instant,
    "date": date.fromisoformat,
    "boolean": bool,
}
POSTGRES_SIZE = (
    "SELECT COALESCE(SUM(pg_total_relation_size(format('%I.%I', schemaname, tablename))), 0) "
    "FROM pg_tables WHERE schemaname = current_schema()"
)


def db_size(path: Path) -> int:
    files = (path, path.with_name(path.name + "-wal"))
    return sum(f.stat().st_size for f in files if f.exists())


class NullSender:
    """The digest's outbox: collect never sends, and the bench must not queue anything."""

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> list[int]:
        return []

    def text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Any = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> Outgoing:
        return Outgoing(chat_id, [], datetime.now(UTC))

    async def queue_in(self, conn: Any, batches: Sequence[Outgoing]) -> list[int]:
        return []

    def poke(self) -> None:
        pass


@dataclass
class Query:
    caller: str  # the storage method that ran it
    sql: str
    params: tuple[Any, ...]
    seconds: float = 0.0


class PlanRecorder:
    """Stands in for SQLiteDatabase and keeps every read query with its parameters, the
    storage method that ran it and its time, so the plans shown are of the exact SQL the bot
    runs and the digest's time can be split by query."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self.db = db
        self.queries: list[Query] = []

    async def _run(self, read: Callable[..., Awaitable[Any]], sql: str, params: Any) -> Any:
        # Two frames up: past fetchall/fetchone to the storage method that called it.
        query = Query(sys._getframe(2).f_code.co_name, sql, tuple(params))
        started = perf_counter()
        result = await read(sql, query.params)
        query.seconds = perf_counter() - started
        self.queries.append(query)
        return result

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        rows: list[Any] = await self._run(self.db.fetchall, sql, params)
        return rows

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return await self._run(self.db.fetchone, sql, params)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        return await self.db.execute(sql, params)

    async def fetchall_as(
        self, sql: str, params: Iterable[Any], convert: Callable[[Any], Any]
    ) -> list[Any]:
        rows: list[Any] = await self._run(
            lambda q, p: self.db.fetchall_as(q, p, convert), sql, params
        )
        return rows

    def transaction(self) -> Any:
        return self.db.transaction()


class PostgresPlanRecorder:
    """PlanRecorder's counterpart over PostgresDatabase (whose reads take `*args`)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        self.queries: list[Query] = []

    async def _run(self, read: Callable[..., Awaitable[Any]], sql: str, params: Any) -> Any:
        query = Query(sys._getframe(2).f_code.co_name, sql, tuple(params))
        started = perf_counter()
        result = await read(sql, *query.params)
        query.seconds = perf_counter() - started
        self.queries.append(query)
        return result

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._run(self.db.fetchall, sql, args)
        return rows

    async def fetchone(self, sql: str, *args: Any) -> Any:
        return await self._run(self.db.fetchone, sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run(self.db.fetchval, sql, args)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self.db.execute(sql, *args)

    def transaction(self) -> Any:
        return self.db.transaction()

    def connection(self) -> Any:
        return self.db.connection()

    async def explain(self, sql: str, params: tuple[Any, ...]) -> list[str]:
        rows = await self.db.fetchall(f"EXPLAIN {sql}", *params)
        return [str(r[0]) for r in rows]


Recorder = PlanRecorder | PostgresPlanRecorder


async def period_stats(queries: ReportQueries, days: int, now: datetime) -> Stats:
    """/stats's reading and counting in this process: the bot does the same in its report
    worker (`python -m bench.reports` compares the two); here they are timed, and the
    recorder sees their SQL."""
    rows = await queries.period(now - timedelta(days=days), now + timedelta(seconds=1))
    return await asyncio.to_thread(compute_stats, rows, days)


async def period_export(
    queries: ReportQueries, catalog: Catalog, now: datetime
) -> tuple[int, bytes]:
    """/export's reading and writing in this process, as `period_stats`."""
    since, until = now - timedelta(days=DAYS), now + timedelta(seconds=1)
    rows = await queries.period(since, until)
    today = now.astimezone(TZ).date()
    period = ExportPeriod(
        (since.astimezone(TZ).date(), today),
        (today - timedelta(days=DAYS), today + timedelta(days=31)),
    )
    booked = await queries.bookings(period.bookings[0].isoformat(), period.bookings[1].isoformat())
    content = await asyncio.to_thread(export_xlsx, rows, catalog, LANG, TZ, period, booked)
    return len(rows), content


class LoopStall:
    """The longest time the event loop could not run a 1 ms heartbeat: how long every
    citizen's update would have waited while an official's report was built."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.001)
            self.longest = max(self.longest, loop.time() - before - 0.001)

    async def __aenter__(self) -> LoopStall:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


# Each store the benchmark uses, on each backend: (SQLite's class, PostgreSQL's class).
STORES: dict[str, tuple[Any, Any]] = {
    "repository": (SQLiteRepository, PostgresRepository),
    "outbox": (SQLiteOutboxStore, PostgresOutboxStore),
    "bookings": (SQLiteBookingStore, PostgresBookingStore),
    "digest": (SQLiteDigestQueries, PostgresDigestQueries),
    "reports": (SQLiteReportQueries, PostgresReportQueries),
}


@dataclass
class Services:
    """The bot's objects as bot/app.py wires them, over `db` (the database or a recorder) of
    the dataset's backend."""

    db: Any
    catalog: Catalog
    i18n: PoI18n
    now: datetime
    dataset: Dataset
    out: Path
    repo: Repository = field(init=False)
    appeals: AppealService = field(init=False)
    bookings: BookingService = field(init=False)
    digests: DigestService = field(init=False)
    reports: ReportQueries = field(init=False)
    stalls: dict[str, float] = field(default_factory=dict)  # longest loop stall per report

    def store(self, kind: str) -> Any:
        sqlite, postgres = STORES[kind]
        return (sqlite if self.dataset.path is not None else postgres)(self.db)

    def __post_init__(self) -> None:
        calendar = WorkCalendar.from_catalog(self.catalog)
        self.repo = self.store("repository")
        self.appeals = AppealService(
            self.repo, self.catalog, DeadlinePolicy(self.catalog, TZ), self.clock
        )
        receptions = load_receptions(self.catalog)
        outbox_store = self.store("outbox")
        self.bookings = BookingService(
            self.store("bookings"),
            SlotPlanner(receptions, calendar, TZ),
            receptions,
            Outbox(outbox_store, self.clock),
            outbox_store,
            self.clock,
            BookingNotices(self.i18n, TZ),
            self.i18n.default_locale,
            TZ,
        )
        self.digests = DigestService(
            self.store("digest"),
            NullSender(),
            DigestView(self.catalog, self.i18n, LANG),
            calendar,
            TZ,
            time(9, 0),
            LANG,
            lambda: [MAIN_CHAT, DEPT_CHAT],
            default_chat_id=MAIN_CHAT,
            today_section=self.bookings.digest_section,
        )
        self.reports = self.store("reports")

    def clock(self) -> datetime:
        # Frozen at the fill's "now": every run of an operation reads the same rows.
        return self.now

    async def digest(self, chat_id: int) -> DigestData:
        # The morning tick's query half (DigestService.build adds the rendering).
        return await self.digests.collect(chat_id, self.digests.report_day(self.now), self.now)

    async def chart(self, chat_id: int) -> int:
        """The weekly chart's numbers as the Monday digest reads them (two statements);
        how many appeals it counts."""
        today = self.now.astimezone(TZ).date()
        chart = await self.digests.weekly_chart(chat_id, today)
        return sum(chart.created)

    async def my_page(self) -> bool:
        """handlers/my_appeals.py's first page: count, one page of the list, the text."""
        with self.i18n.context(), self.i18n.use_locale(LANG):
            return await render_page(CITIZEN, 0, self.appeals, self.catalog) is not None

    async def stats(self) -> int:
        """/stats's work in this process, minus the sending (the bot: in its worker)."""
        async with LoopStall() as stall:
            with self.i18n.context(), self.i18n.use_locale(LANG):
                computed = await period_stats(self.reports, DAYS, self.now)
                render_stats(computed, self.catalog, LANG)
        self.stalls["/stats"] = max(self.stalls.get("/stats", 0.0), stall.longest)
        return computed.total

    async def export(self) -> tuple[int, int]:
        """/export's work in this process: the bytes go to a file instead of Telegram."""
        async with LoopStall() as stall:
            with self.i18n.context(), self.i18n.use_locale(LANG):
                rows, content = await period_export(self.reports, self.catalog, self.now)
        self.stalls["/export"] = max(self.stalls.get("/export", 0.0), stall.longest)
        self.out.write_bytes(content)
        return rows, len(content)

    async def receptions(self) -> int:
        """handlers/official_receptions.py for one day, minus the sending: the sessions, the
        appeal number of each booking about one, the text and the marking keyboard."""
        day, today = self.dataset.session_day, self.now.astimezone(TZ).date()
        shown = 0
        with self.i18n.context(), self.i18n.use_locale(LANG):
            sessions = await self.bookings.sessions_on(day)
            # As references_in there: one read for every appeal the listed places name.
            references = await self.repo.appeal_references(
                {b.appeal_id for _, booked in sessions for b in booked if b.appeal_id}
            )
            for reception, booked in sessions:
                session_text(reception, booked, day, LANG, TZ, references)
                session_keyboard(reception, booked, day, today, TZ)
                shown += len(booked)
        return shown

    async def insert(self) -> None:
        """One citizen's confirm: AppealService's deadline, then the repository's insert."""
        kind = self.catalog.kinds[0]
        deadline = self.appeals.policy.deadline(kind, self.now)
        region = self.catalog.territory.regions[0].code
        await self.repo.create_appeal(
            NewAppeal(
                draft_key=uuid4().hex,
                citizen_id=CITIZEN_BASE,  # not /my's citizen: that one keeps exactly 50
                kind=kind.code,
                category=self.catalog.categories[0].code,
                region=region,
                district=self.catalog.territory.districts_of(region)[0].code,
                text="Во дворе не горит освещение, просим принять меры.",
                contact_name="Ахметова Айгерим",
                contact_phone="+7 7001234567",
                language=LANG,
                created_at=self.now,
                registered_on=deadline.registered_on,
                due_at=deadline.due_at,
            )
        )


async def timed(run: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of `repeat` runs, after one untimed run: the first pays for
    reading pages into the cache, which the bot's own earlier queries would have done."""
    result = await run()
    samples = []
    for _ in range(repeat):
        started = perf_counter()
        await run()
        samples.append(perf_counter() - started)
    return median(samples) * 1000, result


def digest_rows(data: DigestData) -> str:
    return (
        f"{data.new_total}/{data.answered}/{data.rating_count}/"
        f"{data.overdue_total}/{data.due_soon_total}"
    )


@dataclass
class Plan:
    op: str
    caller: str
    sql: str
    lines: list[str]


def operations(services: Services) -> list[tuple[str, Callable[[], Awaitable[Any]]]]:
    """What is timed and planned, by the table's keys; the insert is timed, not planned."""
    return [
        ("digest", lambda: services.digest(MAIN_CHAT)),
        ("digest dept", lambda: services.digest(DEPT_CHAT)),
        ("chart", lambda: services.chart(MAIN_CHAT)),
        ("chart dept", lambda: services.chart(DEPT_CHAT)),
        ("/my", services.my_page),
        ("/stats", services.stats),
        ("/export", services.export),
        ("/receptions", services.receptions),
    ]


async def plans(
    services: Services, recorder: Recorder, counts: dict[str, int] | None = None
) -> list[Plan]:
    """EXPLAIN QUERY PLAN of each distinct read query the operations run, under the first
    operation that ran it (/export's period query is listed under /stats). `counts` gets
    how many statements each operation ran."""
    found: list[Plan] = []
    seen: set[str] = set()
    for op, run in operations(services):
        recorder.queries.clear()
        await run()
        if counts is not None:
            counts[op] = len(recorder.queries)
        for query in recorder.queries:
            caller, sql = query.caller, query.sql
            # Without statistics the plan depends on the text, not on the values bound.
            if sql in seen:
                continue
            seen.add(sql)
            if isinstance(recorder, PostgresPlanRecorder):
                lines = await recorder.explain(sql, query.params)
                found.append(Plan(op, caller, sql, lines))
                continue
            rows = await recorder.db.fetchall(f"EXPLAIN QUERY PLAN {sql}", query.params)
            depth: dict[int, int] = {0: -1}
            lines = []
            for row in rows:
                depth[row["id"]] = depth.get(row["parent"], -1) + 1
                lines.append("  " * depth[row["id"]] + row["detail"])
            found.append(Plan(op, caller, sql, lines))
    return found


async def digest_queries(services: Services, recorder: Recorder, repeat: int) -> dict[str, float]:
    """Median milliseconds of each of the digest's queries, for both chats: which one grows."""
    samples: dict[str, list[float]] = {}
    for chat, name in ((MAIN_CHAT, "main"), (DEPT_CHAT, "department")):
        for _ in range(repeat + 1):
            recorder.queries.clear()
            await services.digest(chat)
            for query in recorder.queries:
                label = f"{name} chat · {query.caller}"
                if query.caller == "open_due":
                    soon = re.search(r"due_at >= (\?|\$\d)", query.sql)
                    label += " (due soon)" if soon else " (overdue)"
                samples.setdefault(label, []).append(query.seconds * 1000)
    # The first run of each is the untimed warm-up, as in timed().
    return {label: median(values[1:]) for label, values in samples.items()}


def verdict(line: str, equalities: list[str]) -> str:
    detail = line.strip()
    if "cost=" in detail:  # PostgreSQL's EXPLAIN
        node = detail.removeprefix("->").strip()
        if node.startswith("Seq Scan on ") and node.split()[3] in TABLES:
            return "FULL SCAN"
        if node.startswith("Sort "):
            return "sort"
        return "ok" if " Scan " in f" {node}" and "Seq Scan" not in node else ""
    scanned = detail.startswith("SCAN ") and detail.split()[1] in TABLES
    if scanned and "USING" not in detail:
        return "FULL SCAN"
    if scanned:
        return "index scan"  # every entry of an index: the whole history, in index order
    if detail.startswith("SEARCH"):
        # An index searched on fewer columns than the query pins reads every row of the
        # wider range: e.g. a reception's bookings of all time for one session day.
        used = detail[detail.rfind("(") :]
        left = [c for c in equalities if c not in used and not (c == "id" and "rowid" in used)]
        return f"partial: {', '.join(left)}" if left else "ok"
    if "TEMP B-TREE" in detail:
        return "sort"
    return ""


TABLES = ("appeals", "status_history", "bookings", "citizens", "a", "h", "b")


def equalities(sql: str) -> list[str]:
    """Columns a single-table query pins with `col = ?`; a unary + (`+col = ?`) is the
    query's own request to leave that column out of the index choice."""
    text = where(sql)
    if " JOIN " in sql or "SELECT" in text:
        return []
    return list(dict.fromkeys(re.findall(r"(?<![+.\w])(\w+) = \?", text)))


def print_plans(found: list[Plan]) -> None:
    for plan in found:
        print(f"  {OP_NAMES[plan.op]} · {plan.caller}: {where(plan.sql)[:100]}")
        pinned = equalities(plan.sql)
        for line in plan.lines:
            tag, _, why = verdict(line, pinned).partition(": ")
            note = f"   <- {why} not in the search" if why else ""
            print(f"    {('[' + tag + ']') if tag else '':<13}{line}{note}")


def where(sql: str) -> str:
    text = " ".join(sql.split())
    cut = text.find(" WHERE ")
    return text[cut + 1 :] if cut >= 0 else text


@dataclass
class Result:
    n: int
    cells: dict[str, str]
    times: dict[str, float]
    plans: list[Plan]
    objects: list[tuple[str, int]]
    by_query: dict[str, float] = field(default_factory=dict)
    # After ANALYZE (largest N only): the plans that changed, and their operations re-timed.
    analyzed: list[Plan] = field(default_factory=list)
    retimed: dict[str, float] = field(default_factory=dict)
    database: str = "sqlite"


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:,.0f}"


async def measure(
    dataset: Dataset, now: datetime, catalog: Catalog, i18n: PoI18n, args: Any, *, last: bool
) -> Result:
    db: SQLiteDatabase | PostgresDatabase
    recorder: Recorder
    if dataset.path is not None:
        db = await SQLiteDatabase.open(dataset.path)
        recorder = PlanRecorder(db)
    else:
        db = await PostgresDatabase.open(dataset.url)
        recorder = PostgresPlanRecorder(db)
    out = dataset.out
    services = Services(db, catalog, i18n, now, dataset, out)
    planned = Services(recorder, catalog, i18n, now, dataset, out)
    statements: dict[str, int] = {}
    found = await plans(planned, recorder, statements)
    cells: dict[str, str] = {}
    times: dict[str, float] = {}
    outcome: dict[str, Any] = {}
    for key, action in operations(services):
        repeat = args.export_repeat if key == "/export" else args.repeat
        times[key], outcome[key] = await timed(action, repeat)
        cells[key] = ms(times[key])
    times["insert"], _ = await timed(services.insert, args.repeat)
    cells["insert"] = ms(times["insert"])
    rows, size = outcome["/export"]
    cells.update(
        {
            "/stats stall": ms(services.stalls["/stats"] * 1000),
            "/export stall": ms(services.stalls["/export"] * 1000),
            "digest rows": digest_rows(outcome["digest"]),
            "digest dept rows": digest_rows(outcome["digest dept"]),
            "chart rows": f"{outcome['chart']:,} · {statements['chart']}",
            "chart dept rows": f"{outcome['chart dept']:,} · {statements['chart dept']}",
            "/my rows": f"{await services.repo.count_citizen_appeals(CITIZEN)}",
            "/stats rows": f"{outcome['/stats']:,}",
            "/export rows": f"{rows:,} · {size / 1024:,.0f}",
            "/receptions rows": f"{outcome['/receptions']} · {statements['/receptions']}",
        }
    )
    objects = []
    if args.objects and isinstance(db, SQLiteDatabase):
        space = await db.fetchall(
            "SELECT name, SUM(pgsize) AS size FROM dbstat GROUP BY name ORDER BY size DESC"
        )
        objects = [(r["name"], int(r["size"])) for r in space]
    elif args.objects:
        space_pg = await db.fetchall(
            "SELECT c.relname AS name, pg_relation_size(c.oid) AS size FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 't') "
            "ORDER BY size DESC"
        )
        objects = [(r["name"], int(r["size"])) for r in space_pg]
    result = Result(dataset.appeals, cells, times, found, objects, database=dataset.database)
    result.by_query = await digest_queries(planned, recorder, args.repeat)
    # PostgreSQL's plans were made with statistics already (fill_postgres).
    if last and args.analyze and isinstance(db, SQLiteDatabase):
        # The tests run ANALYZE before checking plans; the bot never does. With statistics
        # SQLite may choose other indexes: show which, and what that is worth.
        await db.execute("ANALYZE")
        before = {p.sql: p.lines for p in found}
        result.analyzed = [p for p in await plans(planned, recorder) if before[p.sql] != p.lines]
        changed = {p.op for p in result.analyzed}
        for key, action in operations(services):
            if key in changed:
                repeat = args.export_repeat if key == "/export" else args.repeat
                result.retimed[key], _ = await timed(action, repeat)
    await db.close()
    out.unlink(missing_ok=True)
    cells.update(
        {
            "fill": f"{dataset.fill_seconds:.1f}",
            "rows": f"{dataset.appeals:,} · {dataset.history:,} · {dataset.bookings:,}",
            "size": f"{dataset.size_mib:,.1f}",
            "per day": dataset.per_day,
            "dept": f"{dataset.dept_appeals:,}",
        }
    )
    return result


OP_NAMES = {
    "digest": "digest",
    "digest dept": "digest (department chat)",
    "chart": "weekly chart",
    "chart dept": "weekly chart (department chat)",
    "/my": "/my",
    "/stats": f"/stats {DAYS}",
    "/export": f"/export {DAYS}",
    "/receptions": "/receptions",
}


ROWS = (
    ("fill, s", "fill"),
    ("  appeals · history · bookings", "rows"),
    ("DB size, MiB", "size"),
    (f"appeals a day (older · last {RECENT.days} days)", "per day"),
    ("digest collect, main chat, ms", "digest"),
    ("  new/answered/rated 30d/overdue/due soon", "digest rows"),
    ("digest collect, department chat, ms", "digest dept"),
    ("  its appeals in 2 years", "dept"),
    ("  new/answered/rated 30d/overdue/due soon", "digest dept rows"),
    ("weekly chart's numbers, main chat, ms", "chart"),
    ("  appeals in its 8 weeks · SQL statements", "chart rows"),
    ("weekly chart's numbers, department chat, ms", "chart dept"),
    ("  appeals in its 8 weeks · SQL statements", "chart dept rows"),
    ("/my first page, ms", "/my"),
    ("  the citizen's appeals", "/my rows"),
    (f"/stats {DAYS}, ms", "/stats"),
    ("  appeals in the period", "/stats rows"),
    ("  loop stall if built in-process, ms", "/stats stall"),
    (f"/export {DAYS} to a file, ms", "/export"),
    ("  rows · xlsx KiB", "/export rows"),
    ("  loop stall if built in-process, ms", "/export stall"),
    ("/receptions day, ms", "/receptions"),
    ("  bookings shown · SQL statements", "/receptions rows"),
    ("create_appeal (one insert), ms", "insert"),
)


def report(results: list[Result], now: datetime, args: Any) -> None:
    """One table, a column per N and database (side by side at each N); then, per database,
    the growth from the smallest N to the largest and the plans at the largest."""
    width = max(len(label) for label, _ in ROWS)
    cols = [
        max(12, len(r.database) + 2, *(len(r.cells.get(k, "")) + 2 for _, k in ROWS))
        for r in results
    ]
    print(
        f"\nstorage at scale: appeals over {SPAN.days} days up to {now:%Y-%m-%d %H:%M} UTC; "
        f"median of {args.repeat} runs (/export: {args.export_repeat})"
    )
    if args.recent_per_day:
        print(f"  the last {RECENT.days} days held at {args.recent_per_day} appeals a day")
    print(f"  {'N':<{width}}" + "".join(f"{r.n:>{c},}" for r, c in zip(results, cols, strict=True)))
    if len({r.database for r in results}) > 1:
        names = "".join(f"{r.database:>{c}}" for r, c in zip(results, cols, strict=True))
        print(f"  {'database':<{width}}{names}")
    for label, key in ROWS:
        values = "".join(f"{r.cells.get(key, ''):>{c}}" for r, c in zip(results, cols, strict=True))
        print(f"  {label:<{width}}{values}")
    print("\ndigest by query, median ms")
    labels = list(dict.fromkeys(label for r in results for label in r.by_query))
    for label in labels:
        values = "".join(
            f"{ms(r.by_query.get(label, 0.0)):>{c}}" for r, c in zip(results, cols, strict=True)
        )
        print(f"  {label:<{width}}{values}")
    for database in dict.fromkeys(r.database for r in results):
        report_database([r for r in results if r.database == database], args)


def report_database(results: list[Result], args: Any) -> None:
    database = results[-1].database
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"\n{database}: largest N ({large.n:,}) against smallest ({small.n:,}); "
            "target within 1.5x"
        )
        for label, key, limit in (
            ("digest, main chat", "digest", 200.0),
            ("digest, department chat", "digest dept", 200.0),
            ("/my page", "/my", 5.0),
        ):
            ratio = large.times[key] / small.times[key]
            print(
                f"  {label:<24} {ratio:6.2f}x   {large.times[key]:8.2f} ms at {large.n:,} "
                f"(target < {limit:.0f} ms at 1,000,000)"
            )
    largest = results[-1]
    analyzed = "no ANALYZE, as the bot runs" if database == "sqlite" else "after ANALYZE"
    print(f"\n{database}: query plans at N = {largest.n:,} ({analyzed})")
    print_plans(largest.plans)
    for result in results[:-1]:
        theirs = {p.sql: p.lines for p in result.plans}
        changed = [p.caller for p in largest.plans if shape(theirs.get(p.sql)) != shape(p.lines)]
        note = "the same" if not changed else f"different for {', '.join(changed)}"
        print(f"  plans at N = {result.n:,}: {note}")
    tests: tuple[tuple[str, Callable[[str], bool]], ...] = (
        ("full scans", lambda mark: mark == "FULL SCAN"),
        ("partial index searches", lambda mark: mark.startswith("partial")),
    )
    for title, test in tests:
        hits = [
            (p, line)
            for p in largest.plans
            for line in p.lines
            if test(verdict(line, equalities(p.sql)))
        ]
        print(f"  {title}: {len(hits)}")
        for plan, line in hits:
            print(f"    {OP_NAMES[plan.op]} · {plan.caller}: {line.strip()}")
    if args.analyze and database == "sqlite":
        print(f"\nafter ANALYZE at N = {largest.n:,}: {len(largest.analyzed)} plans change")
        print_plans(largest.analyzed)
        for key, value in largest.retimed.items():
            print(f"  {OP_NAMES[key]}: {ms(largest.times[key])} ms -> {ms(value)} ms")
    if largest.objects:
        total = sum(size for _, size in largest.objects) or 1
        source = "dbstat" if database == "sqlite" else "pg_relation_size"
        print(f"\n{database}: space by table and index at N = {largest.n:,} ({source})")
        for name, size in largest.objects[:14]:
            print(f"  {name:<32}{size / 2**20:10.1f} MiB {100 * size / total:5.1f} %")


def shape(lines: list[str] | None) -> list[str] | None:
    """A plan's lines without PostgreSQL's estimates (cost, rows), which change with N."""
    if lines is None:
        return None
    return [re.sub(r"\s*\(cost=[^)]*\)", "", line) for line in lines]


def fresh_path(folder: Path, n: int) -> Path:
    """Where N's database goes; a kept one from an earlier run is refilled, since its "now"
    has passed and the digest's yesterday would be empty."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"storage-{n}.db"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return path


async def run(args: argparse.Namespace) -> None:
    catalog = load_catalog()
    i18n = PoI18n(default_locale=LANG)
    now = datetime.now(UTC)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            last = n == args.sizes[-1]
            for database in args.databases:
                results.append(await run_one(database, n, now, catalog, i18n, args, tmp, last))
    report(results, now, args)


async def run_one(
    database: str,
    n: int,
    now: datetime,
    catalog: Catalog,
    i18n: PoI18n,
    args: argparse.Namespace,
    tmp: str,
    last: bool,
) -> Result:
    name = databases.label(database)
    folder = Path(args.keep or tmp)
    if name == "sqlite":
        path = fresh_path(folder, n) if database == "sqlite" else None
        async with databases.fresh(database, folder, f"storage-{n}") as url:
            path = path or Path(url.removeprefix("sqlite:///"))
            print(f"N = {n:,}: filling {path}", file=sys.stderr)
            db = await SQLiteDatabase.open(path)  # the schema, by the bot's own migrations
            await db.close()
            dataset = Dataset(path, url, path.with_suffix(".xlsx"), name)
            fill(dataset, n, now, catalog, args)
            print(f"N = {n:,}: filled in {dataset.fill_seconds:.1f} s, measuring", file=sys.stderr)
            return await measure(dataset, now, catalog, i18n, args, last=last)
    async with databases.fresh(database, folder, f"storage_{n}") as url:
        print(f"N = {n:,}: filling PostgreSQL ({url.rpartition('=')[2]})", file=sys.stderr)
        db_pg = await PostgresDatabase.open(url)  # the schema, by the bot's own migrations
        await db_pg.close()
        dataset = Dataset(None, url, folder / f"storage-{n}-pg.xlsx", name)
        await fill_postgres(dataset, n, now, catalog, args)
        print(f"N = {n:,}: filled in {dataset.fill_seconds:.1f} s, measuring", file=sys.stderr)
        return await measure(dataset, now, catalog, i18n, args, last=last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("10000,100000"),
        help="appeal counts, comma-separated (full run: 10000,100000,1000000; any more works)",
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per operation")
    parser.add_argument("--export-repeat", type=int, default=3, help="timed runs of /export")
    parser.add_argument("--keep", type=Path, help="fill the databases here and keep them")
    parser.add_argument("--bookings", type=int, default=300, help="bookings on the shown day")
    parser.add_argument(
        "--dept-per-day", type=int, default=3, help="appeals a day in the department chat"
    )
    parser.add_argument(
        "--recent-per-day",
        type=int,
        default=0,
        help=f"hold the last {RECENT.days} days at this many appeals a day at every N, at most "
        "half of N (0: N spread evenly)",
    )
    parser.add_argument("--stale", type=int, default=100, help="forgotten overdue appeals")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--databases",
        type=databases.parse,
        default=["sqlite"],
        help="comma-separated: sqlite (default), postgres, or DATABASE_URLs, each run at every "
        "N and shown side by side (bench/databases.py: PostgreSQL in a schema of its own)",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="skip the plans after ANALYZE at the largest N",
    )
    parser.add_argument(
        "--no-objects", dest="objects", action="store_false", help="skip the dbstat breakdown"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
