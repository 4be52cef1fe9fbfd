"""/stats and /export: figures for a period and the spreadsheet officials report from."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.catalog import Catalog
from bot.views.common import html
from bot.views.my_appeals import status_label
from i18n.core import ngettext
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
class Stats:
    days: int
    total: int
    by_status: list[tuple[Status, int]]
    by_category: list[tuple[str, int]]
    median_first_action: timedelta | None
    median_answer: timedelta | None
    answered: int
    answered_in_time: int
    average_rating: float | None
    ratings: int


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
        median_first_action=median(first_actions) if first_actions else None,
        median_answer=median(answers) if answers else None,
        answered=len(answers),
        answered_in_time=in_time,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        ratings=len(ratings),
    )


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    if hours < 48:
        return ngettext("{n} hour", "{n} hours", round(hours)).format(n=round(hours))
    days = round(hours / 24)
    return ngettext("{n} day", "{n} days", days).format(n=days)


def render_stats(stats: Stats, catalog: Catalog, lang: str) -> str:
    lines = [
        "<b>" + ngettext("Appeals for the last {n} day: {total}",
                         "Appeals for the last {n} days: {total}", stats.days).format(
            n=stats.days, total=stats.total) + "</b>",
    ]  # fmt: skip
    lines += [f"  {n} · {status_label(s)}" for s, n in stats.by_status]
    lines.append("")
    lines.append(_("Median time to the first action: {value}").format(
        value=duration(stats.median_first_action)))  # fmt: skip
    lines.append(_("Median time to the answer: {value}").format(
        value=duration(stats.median_answer)))  # fmt: skip
    if stats.answered:
        lines.append(_("Answered in time: {on_time} of {total}").format(
            on_time=stats.answered_in_time, total=stats.answered))  # fmt: skip
    if stats.average_rating is not None:
        rating = format_decimal(stats.average_rating, "0.0", locale=lang)
        lines.append(_("Average rating: {value} of 5 ({n})").format(value=rating, n=stats.ratings))
    if stats.by_category:
        lines += ["", _("<b>By category</b>")]
        for code, n in stats.by_category:
            category = catalog.category(code)
            lines.append(f"  {n} · {html(category.name(lang) if category else code)}")
    return "\n".join(lines)


COLUMNS = (
    "reference", "kind", "category", "region", "district", "status", "language",
    "created_at", "registered_on", "due_at", "first_action_at", "answered_at", "closed_at",
    "answer_outcome", "rating", "solved", "feedback", "department", "taken_by_name",
    "answered_by_name", "extension_reason", "duplicate_of", "contact_name", "contact_phone",
    "contact_address", "text", "answer_text",
)  # fmt: skip
TIMES = {"created_at", "due_at", "first_action_at", "answered_at", "closed_at"}
DAYS = {"registered_on"}
NAMED = {"kind", "category", "region", "district"}


BOOKING_COLUMNS = (
    "reception", "session_day", "slot_start", "status", "access", "access_other", "topic",
    "appeal_reference", "contact_name", "contact_phone", "language", "created_at",
    "cancelled_at",
)  # fmt: skip
BOOKING_TIMES = {"slot_start", "created_at", "cancelled_at"}
BOOKING_DAYS = {"session_day"}

# OWASP "CSV injection": a cell beginning with one of these is taken for a formula by Excel,
# LibreOffice and Google Sheets once it is edited, pasted or saved as CSV, and a formula can
# send the neighbouring cells (names, phones) to a stranger's server. Full-width forms too:
# an East Asian keyboard layout turns them into the ASCII sign.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Digits with + - ( ) . , and spaces can only ever be arithmetic, never a function call or a
# cell reference (both need letters): a phone such as +77011234567 stays as it was typed.
_ARITHMETIC_ONLY = re.compile(r"[\d\s+\-().,]*")
# Excel's own sign for "typed as text": it shows the apostrophe, and keeps it when the sheet
# is saved as CSV or pasted elsewhere, where a style flag (quotePrefix) would be lost.
INERT_PREFIX = "'"


def inert(value: str) -> str:
    """A value a person typed, as text that no spreadsheet will ever evaluate."""
    if value.startswith(FORMULA_STARTS) and not _ARITHMETIC_ONLY.fullmatch(value):
        return INERT_PREFIX + value
    return value


@dataclass(frozen=True)
class _Formats:
    bold: Any
    when: Any
    day: Any


def _cell(sheet: Any, y: int, x: int, value: Any, formats: _Formats) -> None:
    """Dates and numbers we generate as real ones; every string as a string, never a formula
    or a link, whoever typed it."""
    if value is None or value == "":
        return
    if isinstance(value, datetime):
        sheet.write_datetime(y, x, value, formats.when)
    elif isinstance(value, date):
        sheet.write_datetime(y, x, value, formats.day)
    elif isinstance(value, bool):
        sheet.write_boolean(y, x, value)
    elif isinstance(value, int | float):
        sheet.write_number(y, x, value)
    else:
        sheet.write_string(y, x, inert(str(value)))


def _local(value: datetime | str, tz: ZoneInfo) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(tz).replace(tzinfo=None)


def export_xlsx(
    appeals: list[PeriodAppeal],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    bookings: list[dict[str, Any]] | None = None,
) -> bytes:
    """One row per appeal, all fields and its history times, in local time; names as the
    officials read them, codes kept beside them for anyone who filters."""
    buffer = io.BytesIO()
    # No string becomes a formula or a link behind our back; _cell writes each type itself.
    options = {"in_memory": True, "remove_timezone": True,
               "strings_to_formulas": False, "strings_to_urls": False}  # fmt: skip
    book = xlsxwriter.Workbook(buffer, options)
    formats = _Formats(
        bold=book.add_format({"bold": True}),
        when=book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        day=book.add_format({"num_format": "yyyy-mm-dd"}),
    )
    sheet = book.add_worksheet(_("Appeals")[:31])
    sheet.write_row(0, 0, COLUMNS, formats.bold)
    sheet.freeze_panes(1, 0)
    for y, appeal in enumerate(appeals, start=1):
        values = dict(appeal.row)
        values.update(first_action_at=appeal.first_action_at, answered_at=appeal.answered_at,
                      closed_at=appeal.closed_at)  # fmt: skip
        for x, column in enumerate(COLUMNS):
            value = values.get(column)
            if column in TIMES and value:
                value = _local(value, tz)
            elif column in DAYS and value:
                value = date.fromisoformat(value)
            elif column in NAMED and value:
                value = _named(catalog, column, value, lang)
            _cell(sheet, y, x, value, formats)
    sheet.autofilter(0, 0, max(len(appeals), 1), len(COLUMNS) - 1)
    if bookings is not None:
        _bookings_sheet(book, bookings, tz, formats)
    book.close()
    return buffer.getvalue()


def _bookings_sheet(
    book: xlsxwriter.Workbook, bookings: list[dict[str, Any]], tz: ZoneInfo, formats: _Formats
) -> None:
    sheet = book.add_worksheet(_("Bookings")[:31])
    sheet.write_row(0, 0, BOOKING_COLUMNS, formats.bold)
    sheet.freeze_panes(1, 0)
    for y, row in enumerate(bookings, start=1):
        for x, column in enumerate(BOOKING_COLUMNS):
            value = row.get(column)
            if column in BOOKING_TIMES and value:
                value = _local(value, tz)
            elif column in BOOKING_DAYS and value:
                value = date.fromisoformat(value)
            _cell(sheet, y, x, value, formats)


def _named(catalog: Catalog, column: str, code: str, lang: str) -> str:
    if column == "kind":
        item = catalog.kind(code)
    elif column == "category":
        item = catalog.category(code)
    else:
        item = catalog.territory.place(code)
    return f"{item.name(lang)} ({code})" if item else code


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
) -> tuple[int, bytes]:
    """The workbook of `/export days` within `scope`: its appeals, and the bookings of the
    sessions from the period's start to a month ahead (where the scope has bookings).
    Returns the number of appeals and the file."""
    rows = await period_appeals(queries, days, now, scope)
    today = now.astimezone(tz).date()
    booked = (
        await queries.bookings(
            (today - timedelta(days=days)).isoformat(), (today + timedelta(days=31)).isoformat()
        )
        if scope.bookings
        else None  # no bookings sheet: receptions belong to no department
    )
    # Seconds of Python for a year of a city's appeals: in a thread, so the citizens' dialogs
    # go on meanwhile (to_thread keeps the caller's language context).
    content = await asyncio.to_thread(export_xlsx, rows, catalog, lang, tz, booked)
    return len(rows), content
