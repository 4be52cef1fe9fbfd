"""The digest's weekly chart: how long drawing it takes, and how long the event loop stalls
meanwhile, drawn where the bot draws it (a thread) and the other ways it could be.

    .venv/bin/python -m bench.chart                       # times and stalls, 10 charts each way
    .venv/bin/python -m bench.chart --pictures docs       # docs/digest-chart-{ru,kk}.png

A ticker sleeps 5 ms at a time on the event loop and records the longest gap beyond that
(bench.reports' Ticker): every citizen's update that arrived meanwhile waited at least that
long. Each chart is drawn from the same realistic numbers (a city's 8 weeks, `SAMPLE`):

- process: the bot's way: its report worker (`bot.services.report_worker`), a fork of a
  server that imported matplotlib when it started (with `bot.app.REPORT_MODULES`, as the
  bot's does); "first" is the bot's first chart or report, which starts that server;
- thread: `bot.views.digest_chart.render_off_loop`, in this process; "first" imports
  matplotlib (so the thread rows run before anything else imports it);
- on the loop: drawn right in the coroutine, for comparison.

`--pictures DIR` writes the chart of `SAMPLE` in both languages, as the officials' chat gets
it (README → What officials see).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from bench.reports import TICK, Ticker
from bot.app import REPORT_MODULES
from bot.domain.catalog import load_catalog
from bot.domain.digest import WeeklyChart
from bot.services.report_worker import ReportWorker
from bot.views.digest_chart import ChartText, DigestChartView, draw_png, render_off_loop
from i18n.core import PoI18n

# Eight weeks of a regional city's appeals (about 190 a week), shaped like the real flow:
# utilities rising into the heating season, roads falling after the autumn repairs, lighting
# rising as the days shorten; answers on time dip in the busiest weeks.
WEEKS = tuple(date(2026, 10, 5) + timedelta(weeks=i) for i in range(8))
SAMPLE = WeeklyChart(
    weeks=WEEKS,
    by_category=(
        ("utilities", (38, 41, 47, 55, 63, 71, 78, 84)),
        ("roads", (44, 40, 36, 29, 24, 19, 15, 13)),
        ("lighting", (9, 11, 14, 17, 19, 22, 24, 23)),
        ("landscaping", (21, 18, 15, 11, 8, 6, 4, 4)),
        ("waste", (17, 16, 18, 15, 17, 19, 16, 18)),
        ("transport", (12, 14, 11, 13, 15, 12, 14, 13)),
        ("housing", (10, 9, 12, 11, 10, 13, 12, 14)),
        ("social", (7, 8, 6, 9, 8, 7, 9, 10)),
        ("health", (5, 4, 6, 5, 7, 6, 5, 6)),
        ("education", (4, 5, 3, 4, 5, 4, 3, 4)),
        ("land", (3, 2, 4, 3, 2, 3, 4, 2)),
    ),
    answered=(152, 161, 158, 170, 166, 181, 179, 190),
    on_time=(141, 150, 143, 149, 139, 147, 152, 171),
)


async def measure(
    draw: Callable[[], Awaitable[Any]], repeat: int
) -> tuple[list[float], list[float]]:
    seconds, stalls = [], []
    for _ in range(repeat):
        async with Ticker() as ticker:
            started = time.perf_counter()
            await draw()
            seconds.append(time.perf_counter() - started)
            # A draw that held the loop ends before the ticker's late wake-up: let it wake.
            await asyncio.sleep(TICK * 4)
        stalls.append(ticker.longest)
    return seconds, stalls


def row(name: str, figures: tuple[list[float], list[float]]) -> str:
    seconds, stalls = figures
    took = f"{median(seconds) * 1000:,.0f} ({max(seconds) * 1000:,.0f})"
    stalled = f"{median(stalls) * 1000:.1f} ({max(stalls) * 1000:.1f})"
    return f"  {name:<26}{took:>20}{stalled:>28}"


async def run(args: argparse.Namespace) -> None:
    view = DigestChartView(load_catalog(), PoI18n())
    text = view.text(SAMPLE, "ru")
    if "matplotlib" in sys.modules:
        raise SystemExit("matplotlib is imported already: the first chart would not pay for it")

    async def in_thread() -> bytes:
        return await render_off_loop(draw_png, text)

    async def on_loop() -> bytes:
        return draw_png(text)

    worker = ReportWorker(preload=REPORT_MODULES)

    async def in_process() -> bytes:
        return await worker.run(draw_png, text)

    results = [("thread, first (imports)", await measure(in_thread, 1))]
    results.append(("thread", await measure(in_thread, args.repeat)))
    results.append(("on the loop", await measure(on_loop, args.repeat)))
    results.append(("process, first (server)", await measure(in_process, 1)))
    results.append(("process (report worker)", await measure(in_process, args.repeat)))
    worker.close()
    png = await in_thread()
    print(f"\nweekly chart, {len(png) / 1024:.0f} KiB PNG; median (worst) of {args.repeat}")
    print(f"  {'':<26}{'time, ms':>20}{'longest loop stall, ms':>28}")
    for name, figures in results:
        print(row(name, figures))


def pictures(folder: Path) -> None:
    view = DigestChartView(load_catalog(), PoI18n())
    folder.mkdir(parents=True, exist_ok=True)
    for lang in ("ru", "kk"):
        text: ChartText = view.text(SAMPLE, lang)
        path = folder / f"digest-chart-{lang}.png"
        path.write_bytes(draw_png(text))
        print(f"{path}: {view.caption(SAMPLE, lang)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--pictures", type=Path, help="write the sample chart here instead")
    args = parser.parse_args()
    if args.pictures:
        pictures(args.pictures)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
