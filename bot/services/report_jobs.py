"""What /stats and /export do in the report worker's process (`bot.services.report_worker`):
read the period through a connection of its own and compute the figures or write the
workbook. A job is a frozen dataclass and its function a module-level one: both are pickled
to the worker, which returns plain values (the figures, the file's bytes)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.domain.catalog import Catalog
from bot.domain.receptions import ReceptionCatalog
from bot.domain.reports import ExportPeriod, Stats
from bot.services.notifiers import WorkbookRenderer
from bot.services.reports import compute_meeting_stats, compute_stats, period_bounds
from i18n.core import PoI18n
from storage.polls import PollResults
from storage.reports import PeriodReader, ReportScope


@dataclass(frozen=True)
class StatsJob:
    reader: PeriodReader
    days: int
    now: datetime
    scope: ReportScope


@dataclass(frozen=True)
class BuiltStats:
    stats: Stats
    pid: int  # the process that computed them (the log says where reports run)


def build_stats(job: StatsJob) -> BuiltStats:
    since, until = period_bounds(job.days, job.now)
    rows = job.reader.read(since, until, job.scope, meetings=(since, until))
    stats = compute_stats(rows.appeals, job.days)
    stats = replace(stats, meetings=compute_meeting_stats(rows.meetings or []))
    return BuiltStats(stats, os.getpid())


@dataclass(frozen=True)
class ExportJob:
    reader: PeriodReader
    catalog: Catalog
    receptions: ReceptionCatalog
    tz: ZoneInfo
    lang: str  # the officials' language: headers, titles and the catalog's names
    days: int
    now: datetime
    scope: ReportScope
    full: bool  # whole names and phones instead of masked ones
    workbook: WorkbookRenderer  # `bot.views.reports.export_xlsx`, handed in by the caller
    # The polls of the period with their results, read beforehand (a sheet of their own).
    polls: Sequence[PollResults] = ()


@dataclass(frozen=True)
class BuiltExport:
    content: bytes  # the .xlsx workbook
    appeal_ids: list[int]  # the appeals it lists, in order
    bookings: int  # bookings it lists (0 without a bookings sheet)
    since: datetime
    until: datetime
    pid: int


def build_export(job: ExportJob) -> BuiltExport:
    """The workbook of `/export days` within the job's scope: its appeals, and the bookings
    of the sessions from the period's start to a month ahead (where the scope has them)."""
    since, until = period_bounds(job.days, job.now)
    today = job.now.astimezone(job.tz).date()
    period = ExportPeriod(
        appeals=(since.astimezone(job.tz).date(), today),
        bookings=(today - timedelta(days=job.days), today + timedelta(days=31)),
        meetings=(since.astimezone(job.tz).date(), today + timedelta(days=31)),
        as_of=job.now,
    )
    # The meetings with residents from the period's start to a month ahead, as the bookings.
    meetings = (since, until + timedelta(days=31))
    # No bookings sheet outside the scope that has them: receptions belong to no department.
    days = (period.bookings[0].isoformat(), period.bookings[1].isoformat())
    rows = job.reader.read(
        since, until, job.scope, days if job.scope.bookings else None, meetings=meetings
    )
    i18n = _i18n()
    with i18n.context(), i18n.use_locale(job.lang):
        content = job.workbook(
            rows.appeals, job.catalog, job.lang, job.tz, period, rows.bookings,
            receptions=job.receptions, full=job.full, meetings=rows.meetings,
            polls=job.polls,
        )  # fmt: skip
    return BuiltExport(
        content,
        [int(a.row["id"]) for a in rows.appeals],
        len(rows.bookings or []),
        since,
        until,
        os.getpid(),
    )


@cache
def _i18n() -> PoI18n:
    """The catalogs, compiled once per worker process."""
    return PoI18n()
