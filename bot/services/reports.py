"""/stats and /export: figures for a period and the spreadsheet officials report from. The
figures are computed here; `bot.views.reports` renders them and writes the workbook."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from statistics import median
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog
from bot.domain.receptions import ReceptionCatalog
from bot.domain.reports import ExportPeriod, Stats
from bot.services.notifiers import WorkbookRenderer
from storage.models import Status
from storage.reports import EVERYTHING, PeriodAppeal, ReportQueries, ReportScope

MAX_DAYS = 366


def parse_days(args: str | None, default: int = 30) -> int | None:
    """`/stats`, `/stats 7`; None for anything that is not 1…366 days."""
    text = (args or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_DAYS:
        return None
    return int(text)


@dataclass(frozen=True)
class ExportArgs:
    days: int
    full: bool  # full names and phones instead of masked ones


def parse_export(args: str | None) -> ExportArgs | None:
    """`/export`, `/export 7`, `/export full`, `/export full 7` (or `7 full`); None for
    anything else."""
    words = (args or "").split()
    full = [w for w in words if w.lower() == "full"]
    rest = [w for w in words if w.lower() != "full"]
    if len(full) > 1 or len(rest) > 1:
        return None
    days = parse_days(rest[0] if rest else None)
    return ExportArgs(days, bool(full)) if days is not None else None


def compute_stats(appeals: list[PeriodAppeal], days: int) -> Stats:
    created = [datetime.fromisoformat(a.row["created_at"]) for a in appeals]
    first_actions = [a.first_action_at - c for a, c in zip(appeals, created, strict=True)
                     if a.first_action_at]  # fmt: skip
    answers = [a.answered_at - c for a, c in zip(appeals, created, strict=True) if a.answered_at]
    in_time = sum(
        1 for a in appeals
        if a.answered_at and a.answered_at <= datetime.fromisoformat(a.row["due_at"])
    )  # fmt: skip
    ratings = [a.row["rating"] for a in appeals if a.row["rating"]]
    return Stats(
        days=days,
        total=len(appeals),
        by_status=[
            (Status(s), n) for s, n in Counter(a.row["status"] for a in appeals).most_common()
        ],
        by_category=Counter(a.row["category"] for a in appeals).most_common(),
        median_first_action=median_duration(first_actions),
        median_answer=median_duration(answers),
        answered=len(answers),
        answered_in_time=in_time,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        ratings=len(ratings),
    )


def median_duration(durations: list[timedelta]) -> timedelta | None:
    """statistics.median works on timedeltas too, but is typed for numbers only."""
    if not durations:
        return None
    seconds = median(d.total_seconds() for d in durations)
    return timedelta(seconds=seconds)


async def period_appeals(
    queries: ReportQueries, days: int, now: datetime, scope: ReportScope = EVERYTHING
) -> list[PeriodAppeal]:
    return await queries.period(now - timedelta(days=days), now + timedelta(seconds=1), scope)


async def period_stats(
    queries: ReportQueries, days: int, now: datetime, scope: ReportScope = EVERYTHING
) -> Stats:
    rows = await period_appeals(queries, days, now, scope)
    # Off the event loop: at a big city's volume this is seconds of Python.
    return await asyncio.to_thread(compute_stats, rows, days)


async def period_export(
    queries: ReportQueries,
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    days: int,
    now: datetime,
    scope: ReportScope = EVERYTHING,
    *,
    workbook: WorkbookRenderer,
    receptions: ReceptionCatalog | None = None,
    full_contacts_for: int | None = None,
) -> tuple[int, bytes]:
    """The workbook of `/export days` within `scope`: its appeals, and the bookings of the
    sessions from the period's start to a month ahead (where the scope has bookings).
    Contacts are masked; with `full_contacts_for` (an administrator's id, whom the caller
    has let see them) they are whole, and the export is recorded as that person's contact
    view of every appeal it lists before the file leaves. Returns the number of appeals and
    the file. `workbook` writes it (`bot.views.reports.export_xlsx`)."""
    since, until = now - timedelta(days=days), now + timedelta(seconds=1)
    rows = await queries.period(since, until, scope)
    today = now.astimezone(tz).date()
    period = ExportPeriod(
        appeals=(since.astimezone(tz).date(), today),
        bookings=(today - timedelta(days=days), today + timedelta(days=31)),
    )
    booked = (
        await queries.bookings(period.bookings[0].isoformat(), period.bookings[1].isoformat())
        if scope.bookings
        else None  # no bookings sheet: receptions belong to no department
    )
    full = full_contacts_for is not None
    # Seconds of Python for a year of a city's appeals: in a thread, so the citizens' dialogs
    # go on meanwhile (to_thread keeps the caller's language context).
    content = await asyncio.to_thread(
        partial(workbook, receptions=receptions, full=full),
        rows, catalog, lang, tz, period, booked,
    )  # fmt: skip
    if full_contacts_for is not None:
        await queries.record_contact_export(
            full_contacts_for, now, (since, until),
            [int(a.row["id"]) for a in rows], len(booked or []),
        )  # fmt: skip
    return len(rows), content
