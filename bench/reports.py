"""How long citizens wait while officials ask for /stats 30 and /export 30 on a big database.

A ticker task sleeps 5 ms at a time on the bot's event loop and records the longest gap
beyond that: every citizen's update that arrived meanwhile waited at least that long. Each
report runs both ways, in one sitting on the same database:

- in-process: as before issue #14: the rows read on the database's thread (aiosqlite), the
  figures and the workbook built in a thread of the bot (`asyncio.to_thread`);
- worker: as the bot does now: `OfficialsReports` with its report worker (a process per
  job, its own read-only connection).

    .venv/bin/python -m bench.reports --fill 1000000     # fills a database in the temp folder first
    .venv/bin/python -m bench.reports --db /tmp/storage-bench/storage-1000000.db
      (a database kept by `python -m bench.storage --sizes 1000000 --keep /tmp/storage-bench`)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from time import perf_counter
from typing import Any

from bench.storage import LANG, TZ, Dataset, fill, fresh_path
from bot.app import REPORT_MODULES
from bot.domain.catalog import load_catalog
from bot.domain.receptions import load_receptions
from bot.domain.reports import ExportPeriod
from bot.services.officials_reports import OfficialsReports
from bot.services.report_worker import ReportWorker
from bot.services.reports import compute_stats
from bot.views.reports import export_xlsx, render_stats
from i18n.core import PoI18n
from storage.codec import decode_instant
from storage.reports import EVERYTHING
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.reports import SQLiteReportQueries, SQLiteReportReader

DAYS = 30
TICK = 0.005  # the ticker's sleep


class Ticker:
    """The longest time beyond TICK between two ticks while the block ran."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            self.longest = max(self.longest, loop.time() - before - TICK)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass
class Figures:
    seconds: list[float]
    stalls: list[float]


async def measure(run: Callable[[], Awaitable[Any]], repeat: int) -> Figures:
    figures = Figures([], [])
    for _ in range(repeat):
        async with Ticker() as ticker:
            started = perf_counter()
            await run()
            figures.seconds.append(perf_counter() - started)
        figures.stalls.append(ticker.longest)
    return figures


async def run(args: argparse.Namespace) -> None:
    catalog = load_catalog()
    receptions = load_receptions(catalog)
    if args.fill:
        path = fresh_path(args.folder, args.fill)
        print(f"filling {path} with {args.fill:,} appeals", file=sys.stderr)
        db = await SQLiteDatabase.open(path)  # the schema, by the bot's own migrations
        await db.close()
        fill_args = argparse.Namespace(
            seed=1, recent_per_day=0, dept_per_day=3, bookings=300, stale=100
        )
        fill(Dataset(path), args.fill, datetime.now(UTC), catalog, fill_args)
    else:
        path = args.db
    db = await SQLiteDatabase.open(path)
    row = await db.fetchone("SELECT MAX(created_at) AS last, COUNT(*) AS n FROM appeals")
    assert row is not None and row["last"], "an empty database"
    now = decode_instant(row["last"]) + timedelta(seconds=1)
    queries = SQLiteReportQueries(db)
    i18n = PoI18n(default_locale=LANG)
    reports = OfficialsReports(
        queries, catalog, receptions, TZ, lambda: now,
        reader=SQLiteReportReader(path.resolve()),
        # A job's process imports this script again as its __main__ (multiprocessing does
        # that): with what it imports preloaded, that costs milliseconds.
        worker=ReportWorker(preload=(*REPORT_MODULES, "bench.storage")),
    )  # fmt: skip

    async def stats_in_process() -> None:
        rows = await queries.period(now - timedelta(days=DAYS), now + timedelta(seconds=1))
        render_stats(await asyncio.to_thread(compute_stats, rows, DAYS), catalog, LANG)

    async def export_in_process() -> None:
        since, until = now - timedelta(days=DAYS), now + timedelta(seconds=1)
        rows = await queries.period(since, until)
        today = now.astimezone(TZ).date()
        period = ExportPeriod(
            (since.astimezone(TZ).date(), today),
            (today - timedelta(days=DAYS), today + timedelta(days=31)),
        )
        booked = await queries.bookings(period.bookings[0].isoformat(),
                                        period.bookings[1].isoformat())  # fmt: skip
        await asyncio.to_thread(
            lambda: export_xlsx(rows, catalog, LANG, TZ, period, booked, receptions=receptions)
        )

    async def stats_in_worker() -> None:
        render_stats(await reports.stats(DAYS, EVERYTHING), catalog, LANG)

    async def export_in_worker() -> None:
        await reports.export(DAYS, EVERYTHING, LANG, workbook=export_xlsx)

    with i18n.context(), i18n.use_locale(LANG):
        # The worker's first job starts its fork server (seconds of imports, once per bot).
        started = perf_counter()
        await reports.stats(1, EVERYTHING)
        first = perf_counter() - started
        results = {}
        for name, action in (
            (f"/stats {DAYS}, in-process", stats_in_process),
            (f"/stats {DAYS}, worker", stats_in_worker),
            (f"/export {DAYS}, in-process", export_in_process),
            (f"/export {DAYS}, worker", export_in_worker),
        ):
            print(f"measuring {name}", file=sys.stderr)
            results[name] = await measure(action, args.repeat)
    period = await queries.period(now - timedelta(days=DAYS), now + timedelta(seconds=1))
    await reports.close()
    await db.close()
    print(
        f"\nreports at {row['n']:,} appeals ({len(period):,} in the last {DAYS} days); "
        f"median of {args.repeat} runs, longest of them in brackets; ticker every "
        f"{TICK * 1000:.0f} ms"
    )
    print(f"  the worker's first job (fork server start-up): {first:.1f} s")
    print(f"  {'':<28}{'time, s':>16}{'longest loop stall, ms':>30}")
    for name, figures in results.items():
        seconds = f"{median(figures.seconds):.2f} ({max(figures.seconds):.2f})"
        stalls = f"{median(figures.stalls) * 1000:.1f} ({max(figures.stalls) * 1000:.1f})"
        print(f"  {name:<28}{seconds:>16}{stalls:>30}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", type=Path, help="a database filled by bench.storage --keep")
    source.add_argument("--fill", type=int, help="fill a database with this many appeals")
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir(), "bench-reports"))
    parser.add_argument("--repeat", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
