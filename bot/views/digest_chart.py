"""The weekly chart of the officials' digest, as a PNG: appeals per category over the last
weeks (stacked bars) and the share answered in time (a line in a panel of its own).

Two halves, on purpose. `DigestChartView` words everything (titles, axes, legend, category
names, the caption) in the officials' language through the catalogs; it runs on the event
loop and is cheap. `draw_png` only draws those words and numbers: it imports matplotlib
(Agg, no pyplot and so no global figure state) the first time a chart is drawn, so start-up
never pays for it, and it runs off the event loop: in the bot, in the report worker's
process (`bot.services.report_worker`; why not a thread: README → Performance).
matplotlib's bundled DejaVu Sans has every Kazakh letter.

The outbox stores the numbers and draws the picture when it sends the row
(`bot.delivery.sender.OutboxSender`, `Outbox.rendered`): nothing big is stored, and a retry
or a restart draws it again.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal, format_percent

from bot.domain.catalog import Catalog
from bot.domain.digest import WeeklyChart
from i18n.core import PoI18n
from i18n.formatting import long_date

# Categories drawn with a colour of their own, the largest over the weeks first; the others
# share one bar segment, "other categories".
SHOWN_CATEGORIES = 7
WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.4, 100  # 1000 × 640 px: sharp on a phone, ~60 KB
# Colour-blind-safe (Okabe–Ito), then a neutral grey for the folded rest.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
OTHER_COLOUR = "#A0A0A0"
LINE_COLOUR = "#1B1B1B"


@dataclass(frozen=True, slots=True)
class ChartText:
    """Everything the picture says, already in the chat's language, plus its numbers: all
    `draw_png` needs (plain values, so it can run in a thread or another process)."""

    title: str
    counts_title: str
    counts_axis: str
    share_title: str
    share_axis: str
    no_answers: str
    week_labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[int, ...]], ...]  # legend name, count per week
    on_time: tuple[float | None, ...]  # share per week, None when nothing was answered
    answered: tuple[int, ...]


# Runs `draw(text)` off the event loop and returns its bytes: the bot hands in its report
# worker's `run` (another process); `render_off_loop` is a thread.
DrawOffLoop = Callable[[Callable[[ChartText], bytes], ChartText], Awaitable[bytes]]


class DigestChartView:
    """Words the chart in the officials' language, and draws it off the event loop."""

    def __init__(
        self, catalog: Catalog, i18n: PoI18n, *, draw_off_loop: DrawOffLoop | None = None
    ) -> None:
        self.catalog = catalog
        self.i18n = i18n
        self.draw_off_loop = draw_off_loop or render_off_loop

    def text(self, chart: WeeklyChart, lang: str) -> ChartText:
        with self.i18n.context(), self.i18n.use_locale(lang):
            return chart_text(chart, self.catalog, lang)

    def caption(self, chart: WeeklyChart, lang: str) -> str:
        with self.i18n.context(), self.i18n.use_locale(lang):
            return chart_caption(chart, lang)

    async def __call__(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The outbox's renderer for CHART_KIND rows: `data` as `Outbox.rendered` stored it
        ({"chart": WeeklyChart.to_payload(), "lang": …}); returns sendPhoto's photo and
        caption. Raises if the row is not a chart or drawing fails."""
        lang = str(data.get("lang") or "ru")
        chart = WeeklyChart.from_payload(data["chart"])
        text = self.text(chart, lang)
        # Looked up at each call, so a test can break the drawing.
        png = await self.draw_off_loop(draw_png, text)
        name = f"digest-{chart.weeks[-1].isoformat() if chart.weeks else 'chart'}.png"
        return {"photo": BufferedInputFile(png, name), "caption": self.caption(chart, lang)}


async def render_off_loop(draw: Callable[[ChartText], bytes], text: ChartText) -> bytes:
    """In a thread of this process: for tests and scripts. The bot draws in its report
    worker instead: in a thread matplotlib holds the GIL long enough to stall the event loop
    for a quarter of a second, and the first chart's import for most of half a second, where
    the worker's process stalls it by a few milliseconds (README → Performance,
    `bench.chart`)."""
    return await asyncio.to_thread(draw, text)


def _week_label(monday: date) -> str:
    """Monday to Sunday, as short as stays clear: 05–11.10, 26.10–01.11."""
    sunday = monday + timedelta(days=6)
    if monday.month == sunday.month:
        return f"{monday:%d}–{sunday:%d.%m}"
    return f"{monday:%d.%m}–{sunday:%d.%m}"


def chart_text(chart: WeeklyChart, catalog: Catalog, lang: str) -> ChartText:
    """The chart's words in the current gettext locale (the caller sets it; `lang` picks
    catalog names and number formats, so pass the same language)."""
    ranked = sorted(chart.by_category, key=lambda item: (-sum(item[1]), item[0]))
    ranked = [item for item in ranked if sum(item[1])]
    shown, rest = ranked[:SHOWN_CATEGORIES], ranked[SHOWN_CATEGORIES:]
    if len(rest) == 1:  # one more category is shown under its own name, not as "others"
        shown, rest = ranked, []
    series: list[tuple[str, tuple[int, ...]]] = []
    for code, counts in shown:
        category = catalog.category(code)
        series.append((category.name(lang) if category else code, counts))
    if rest:
        weeks = len(chart.weeks)
        folded = tuple(sum(counts[i] for _code, counts in rest) for i in range(weeks))
        series.append((_("Other categories ({n})").format(n=len(rest)), folded))
    first, last = chart.weeks[0], chart.weeks[-1] + timedelta(days=6)
    return ChartText(
        title=_("Appeals by week, {first_day} – {last_day}").format(
            first_day=long_date(first, lang), last_day=long_date(last, lang)
        ),
        counts_title=_("New appeals by category"),
        counts_axis=_("Appeals"),
        share_title=_("Answered on time: share of the week's answers"),
        share_axis=_("On time"),
        no_answers=_("no answers"),
        week_labels=tuple(_week_label(w) for w in chart.weeks),
        series=tuple(series),
        on_time=chart.on_time_rates,
        answered=chart.answered,
    )


def chart_caption(chart: WeeklyChart, lang: str) -> str:
    """One short line under the picture: the weeks, new appeals, answers and those on time."""
    answered = sum(chart.answered)
    line = _("📈 {start} – {end}: new appeals — {created}, answered — {answered}").format(
        start=f"{chart.weeks[0]:%d.%m}",
        end=f"{chart.weeks[-1] + timedelta(days=6):%d.%m.%Y}",
        created=format_decimal(sum(chart.created), locale=lang),
        answered=format_decimal(answered, locale=lang),
    )
    if answered:
        share = format_percent(sum(chart.on_time) / answered, locale=lang)
        line += ", " + _("on time — {percent}").format(percent=share)
    return line


def draw_png(text: ChartText) -> bytes:
    """The chart as PNG bytes. Imports matplotlib on first use; safe in any thread (an Agg
    canvas of its own, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    counts, share = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1.3))
    figure.suptitle(text.title, fontsize=14, fontweight="bold")
    x = list(range(len(text.week_labels)))

    bottom = [0] * len(x)
    for index, (name, values) in enumerate(text.series):
        other = index == SHOWN_CATEGORIES and len(text.series) > SHOWN_CATEGORIES
        colour = OTHER_COLOUR if other else COLOURS[index % len(COLOURS)]
        counts.bar(x, values, 0.7, bottom=bottom, label=name, color=colour, edgecolor="white")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for xi, total in zip(x, bottom, strict=True):
        if total:
            counts.annotate(
                str(total), (xi, total), textcoords="offset points", xytext=(0, 2),
                ha="center", va="bottom", fontsize=9,
            )  # fmt: skip
    counts.set_title(text.counts_title, loc="left", fontsize=11)
    counts.set_ylabel(text.counts_axis)
    counts.yaxis.set_major_locator(MaxNLocator(integer=True))
    counts.set_ylim(0, max([*bottom, 1]) * 1.15)
    counts.grid(axis="y", alpha=0.3)
    counts.spines[["top", "right"]].set_visible(False)
    if text.series:
        counts.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)

    points = [(xi, r * 100) for xi, r in zip(x, text.on_time, strict=True) if r is not None]
    if points:
        share.plot(
            [p[0] for p in points], [p[1] for p in points], color=LINE_COLOUR, marker="o",
            linewidth=2,
        )  # fmt: skip
    for xi, rate in zip(x, text.on_time, strict=True):
        label = f"{rate * 100:.0f}%" if rate is not None else text.no_answers
        y = rate * 100 if rate is not None else 50
        share.annotate(
            label, (xi, y), textcoords="offset points", xytext=(0, 7), ha="center",
            fontsize=9, color=LINE_COLOUR if rate is not None else OTHER_COLOUR,
        )  # fmt: skip
    share.set_title(text.share_title, loc="left", fontsize=11)
    share.set_ylabel(text.share_axis)
    share.set_ylim(0, 119)
    share.set_yticks([0, 50, 100])
    share.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:.0f}%"))
    share.grid(axis="y", alpha=0.3)
    share.spines[["top", "right"]].set_visible(False)
    share.set_xticks(x, text.week_labels, fontsize=8.5)

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()
