"""What the officials' commands read from the records: an appeal's history (/find), the
figures of a period (/stats) and its spreadsheet (/export). The clock, the catalog and the
time zone are the service's, so a command hands in only what the official asked for.

/stats and /export are built in a worker process (`bot.services.report_worker`), never on
the event loop, and one chat has at most one of each in preparation: `start_stats` and
`start_export` hand back the running job, or refuse with ReportBusy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.domain import history
from bot.domain.catalog import Catalog
from bot.domain.receptions import ReceptionCatalog
from bot.domain.reports import Stats
from bot.services.notifiers import WorkbookRenderer
from bot.services.report_jobs import (
    BuiltExport,
    BuiltStats,
    ExportJob,
    StatsJob,
    build_export,
    build_stats,
)
from bot.services.report_worker import ReportFailed, ReportWorker
from bot.services.reports import period_bounds
from storage.models import Appeal
from storage.polls import PollResults
from storage.reports import PeriodReader, ReportQueries, ReportScope

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
T = TypeVar("T")
J = TypeVar("J")
R = TypeVar("R")

__all__ = ["Export", "OfficialsReports", "ReportBusy", "ReportFailed"]


PollsOfPeriod = Callable[[datetime, datetime, ReportScope], Awaitable[Sequence[PollResults]]]


class ReportBusy(Exception):
    """This chat's report of that kind is still being prepared."""


@dataclass(frozen=True)
class Export:
    count: int  # appeals in the file
    content: bytes  # the .xlsx workbook
    made_at: datetime  # local time, for the file's name


class OfficialsReports:
    def __init__(
        self,
        queries: ReportQueries,
        catalog: Catalog,
        receptions: ReceptionCatalog,
        tz: ZoneInfo,
        clock: Clock,
        *,
        reader: PeriodReader,
        worker: ReportWorker,
        polls: PollsOfPeriod | None = None,
    ) -> None:
        """`polls`: the polls of a period with their results (`PollService.between`), for
        the workbook's sheet of polls."""
        self.polls = polls
        self.queries = queries
        self.catalog = catalog
        self.receptions = receptions
        self.tz = tz
        self.clock = clock
        self.reader = reader
        self.worker = worker
        # What the worker runs; a test wraps them (they are pickled by reference).
        self.stats_job: Callable[[StatsJob], BuiltStats] = build_stats
        self.export_job: Callable[[ExportJob], BuiltExport] = build_export
        self._preparing: dict[tuple[str, int], asyncio.Task[object]] = {}

    async def history(self, appeal: Appeal) -> list[history.Event]:
        """What happened to the appeal, oldest first, with the citizen's latest comment."""
        rows = await self.queries.history(appeal.id)
        return history.events(rows, appeal, await self.queries.citizen_comment(appeal.id))

    async def stats(self, days: int, scope: ReportScope) -> Stats:
        """The figures of the last `days`, computed in the worker."""
        job = StatsJob(self.reader, days, self.clock(), scope)
        started = perf_counter()
        built = await self._run(self.stats_job, job, "stats")
        log.info("stats for %d days built in process %d in %.1f s", days, built.pid,
                 perf_counter() - started)  # fmt: skip
        return built.stats

    async def export(
        self,
        days: int,
        scope: ReportScope,
        lang: str,
        *,
        workbook: WorkbookRenderer,
        full_contacts_for: int | None = None,
    ) -> Export:
        """The workbook of the last `days` (see `build_export`), written in `lang` by
        `workbook` (`bot.views.reports.export_xlsx`) in the worker; whole contacts only with
        `full_contacts_for`, whom the caller has let see them: the file is then recorded as
        that person's contact view of every appeal it lists, before it leaves."""
        now = self.clock()
        # A few polls' figures, read here: the worker reads only the appeals' period.
        polls = await self.polls(*period_bounds(days, now), scope) if self.polls else []
        job = ExportJob(
            self.reader, self.catalog, self.receptions, self.tz, lang, days, now, scope,
            full_contacts_for is not None, workbook, tuple(polls),
        )  # fmt: skip
        started = perf_counter()
        built = await self._run(self.export_job, job, "export")
        log.info("export of %d appeals built in process %d in %.1f s", len(built.appeal_ids),
                 built.pid, perf_counter() - started)  # fmt: skip
        if full_contacts_for is not None:
            await self.queries.record_contact_export(
                full_contacts_for, now, (built.since, built.until), built.appeal_ids,
                built.bookings,
            )  # fmt: skip
        return Export(len(built.appeal_ids), built.content, now.astimezone(self.tz))

    def start_stats(self, chat_id: int, days: int, scope: ReportScope) -> asyncio.Task[Stats]:
        """`stats` as a task of its own, unless this chat's figures are being counted."""
        return self._start("stats", chat_id, self.stats(days, scope))

    def start_export(
        self,
        chat_id: int,
        days: int,
        scope: ReportScope,
        lang: str,
        *,
        workbook: WorkbookRenderer,
        full_contacts_for: int | None = None,
    ) -> asyncio.Task[Export]:
        """`export` as a task of its own, unless this chat's export is being prepared."""
        return self._start(
            "export", chat_id,
            self.export(days, scope, lang, workbook=workbook, full_contacts_for=full_contacts_for),
        )  # fmt: skip

    def _start(self, kind: str, chat_id: int, work: Awaitable[T]) -> asyncio.Task[T]:
        key = (kind, chat_id)
        if key in self._preparing:
            if asyncio.iscoroutine(work):
                work.close()  # never started: no "never awaited" warning
            raise ReportBusy(kind)
        task: asyncio.Task[T] = asyncio.ensure_future(work)
        self._preparing[key] = task
        task.add_done_callback(lambda _: self._preparing.pop(key, None))
        return task

    async def _run(self, fn: Callable[[J], R], job: J, kind: str) -> R:
        try:
            return await self.worker.run(fn, job)
        except ReportFailed:
            log.exception("%s failed in the report worker", kind)
            raise

    async def close(self) -> None:
        """At shutdown: the reports in preparation stop, their processes killed."""
        tasks = list(self._preparing.values())
        for task in tasks:
            task.cancel()
        self.worker.close()
        await asyncio.gather(*tasks, return_exceptions=True)
