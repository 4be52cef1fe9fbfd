"""/stats and /export: figures for a period and the spreadsheet officials report from."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.domain.catalog import Catalog
from bot.domain.receptions import ReceptionCatalog
from bot.services.bookings import need_label
from bot.views.card import initials, masked_phone, outcome_label, solved_label
from bot.views.common import html
from bot.views.my_appeals import status_label
from i18n.core import ngettext
from i18n.formatting import long_date
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
        median_first_action=median_duration(first_actions),
        median_answer=median_duration(answers),
        answered=len(answers),
        answered_in_time=in_time,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        ratings=len(ratings),
    )


def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    # Under an hour in minutes: "0 hours" for an appeal taken within 20 minutes said nothing.
    minutes = round(value.total_seconds() / 60)
    if minutes < 60:
        return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
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


def appeal_columns() -> tuple[tuple[str, str], ...]:
    """The appeals sheet: (field, header in the current language), in the order an akimat's
    register reads them."""
    return (
        ("reference", _("Registration number")),
        ("kind", _("Kind")),
        ("category", _("Category")),
        ("region", _("Region")),
        ("district", _("District or city")),
        ("status", _("Status")),
        ("language", _("Language of the appeal")),
        ("created_at", _("Received")),
        ("registered_on", _("Registered on")),
        ("due_at", _("Deadline for reply")),
        ("first_action_at", _("First action")),
        ("answered_at", _("Answered at")),
        ("closed_at", _("Closed at")),
        ("answer_outcome", _("Outcome")),
        ("rating", _("Rating")),
        ("solved", _("Solved, in the citizen's words")),
        ("feedback", _("The citizen's comment")),
        ("department", _("Department")),
        ("taken_by_name", _("Taken by")),
        ("answered_by_name", _("Answered by")),
        ("extension_reason", _("Reason for the extension")),
        ("duplicate_of_reference", _("Duplicate of №")),
        ("contact_name", _("Applicant")),
        ("contact_phone", _("Phone")),
        ("contact_address", _("Address for a written answer")),
        ("text", _("Text of the appeal")),
        ("answer_text", _("Text of the answer")),
    )


def booking_columns() -> tuple[tuple[str, str], ...]:
    return (
        ("reception", _("Reception")),
        ("session_day", _("Day of the reception")),
        ("slot_start", _("Time")),
        ("status", _("Status")),
        ("access", _("Needed to attend")),
        ("access_other", _("Other needs, in the citizen's words")),
        ("topic", _("Question")),
        ("appeal_reference", _("About appeal №")),
        ("contact_name", _("Citizen")),
        ("contact_phone", _("Phone")),
        ("language", _("Language")),
        ("created_at", _("Booked at")),
        ("cancelled_at", _("Cancelled at")),
    )


TIMES = {"created_at", "due_at", "first_action_at", "answered_at", "closed_at"}
BOOKING_TIMES = {"slot_start", "created_at", "cancelled_at"}
# Widths in characters: the long texts wide, the rest as wide as their header needs.
WIDE = {"text", "answer_text", "feedback", "extension_reason", "topic", "access_other"}


@dataclass(frozen=True)
class ExportPeriod:
    """What a workbook covers, for its title rows: appeals registered from `appeals[0]` to
    `appeals[1]`, bookings of the sessions from `bookings[0]` to `bookings[1]` (local days)."""

    appeals: tuple[date, date]
    bookings: tuple[date, date]


def language_label(code: str | None) -> str:
    return {"kk": _("Kazakh"), "ru": _("Russian")}.get(code or "", code or "")


def booking_status_label(status: str) -> str:
    labels = {
        "booked": _("Expected"),
        "cancelled": _("Booking cancelled"),
        "attended": _("Came"),
        "no_show": _("Did not come"),
    }
    return labels.get(status, status)


def appeal_cells(
    appeal: PeriodAppeal, catalog: Catalog, lang: str, tz: ZoneInfo, *, full: bool
) -> dict[str, Any]:
    """An appeal as the sheet shows it: labels for codes, local times, real dates, and the
    contact masked unless `full`."""
    row = appeal.row
    values: dict[str, Any] = dict(row)
    values.update(first_action_at=appeal.first_action_at, answered_at=appeal.answered_at,
                  closed_at=appeal.closed_at)  # fmt: skip
    for column in TIMES:
        values[column] = _local(values[column], tz) if values.get(column) else None
    values["registered_on"] = date.fromisoformat(row["registered_on"])
    values["kind"] = _name(catalog.kind(row["kind"]), row["kind"], lang)
    values["category"] = _name(catalog.category(row["category"]), row["category"], lang)
    values["region"] = _name(catalog.territory.place(row["region"]), row["region"], lang)
    values["district"] = _name(catalog.territory.place(row["district"]), row["district"], lang)
    code = row.get("department")
    department = catalog.department(code) if code else None
    if code:
        values["department"] = _name(department, code, lang)
    # As the card and the citizen read it: a body outside the akimat is "another body".
    external = department is not None and department.external
    values["status"] = status_label(Status(row["status"]), external=external)
    values["language"] = language_label(row["language"])
    answer_outcome = row.get("answer_outcome")
    values["answer_outcome"] = outcome_label(answer_outcome) if answer_outcome else None
    values["solved"] = solved_label(row["solved"]) if row.get("solved") else None
    if not full:
        values.update(_masked(row))
    return values


def booking_cells(
    booking: dict[str, Any],
    receptions: ReceptionCatalog | None,
    lang: str,
    tz: ZoneInfo,
    *,
    full: bool,
) -> dict[str, Any]:
    values = dict(booking)
    for column in BOOKING_TIMES:
        values[column] = _local(values[column], tz) if values.get(column) else None
    values["session_day"] = date.fromisoformat(booking["session_day"])
    reception = receptions.get(booking["reception"]) if receptions else None
    values["reception"] = _name(reception, booking["reception"], lang)
    values["status"] = booking_status_label(booking["status"])
    needs = json.loads(booking.get("access") or "[]")
    values["access"] = ", ".join(need_label(code) for code in needs) or None
    values["language"] = language_label(booking.get("language"))
    if not full:
        values.update(_masked(booking))
    return values


def _masked(row: dict[str, Any]) -> dict[str, str | None]:
    """Initials and +7 7•• ••• •• 45, as on the card: enough to tell citizens apart. The
    address for a written answer is contact data too: only whether there is one."""
    name, phone = row.get("contact_name"), row.get("contact_phone")
    address = row.get("contact_address")
    return {
        "contact_name": initials(name) if name else None,
        "contact_phone": masked_phone(phone) if phone else None,
        "contact_address": "•••" if address else None,
    }


# OWASP "CSV injection": a cell beginning with one of these is taken for a formula by Excel,
# LibreOffice and Google Sheets once it is edited, pasted or saved as CSV, and a formula can
# send the neighbouring cells (names, phones) to a stranger's server. Full-width forms too:
# an East Asian keyboard layout turns them into the ASCII sign.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# Digits with + - ( ) . , and spaces can only ever be arithmetic, never a function call or a
# cell reference (both need letters): a phone such as +77011234567 stays as it was typed, and
# so does a masked one (+7 7•• ••• •• 45: the dots are no letters either).
_ARITHMETIC_ONLY = re.compile(r"[\d\s+\-().,•]*")
# Excel's own sign for "typed as text": it shows the apostrophe, and keeps it when the sheet
# is saved as CSV or pasted elsewhere, where a style flag (quotePrefix) would be lost.
INERT_PREFIX = "'"


def inert(value: str) -> str:
    """A value a person typed, as text that no spreadsheet will ever evaluate."""
    if value.startswith(FORMULA_STARTS) and not _ARITHMETIC_ONLY.fullmatch(value):
        return INERT_PREFIX + value
    return value


def median_duration(durations: list[timedelta]) -> timedelta | None:
    """statistics.median works on timedeltas too, but is typed for numbers only."""
    if not durations:
        return None
    seconds = median(d.total_seconds() for d in durations)
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class _Formats:
    bold: Any
    when: Any
    day: Any
    title: Any


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


def _name(item: Any, code: str, lang: str) -> str:
    """A catalog entry's name in `lang`; the code itself only for one the catalog dropped."""
    return item.name(lang) if item is not None else code


def export_xlsx(
    appeals: list[PeriodAppeal],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    period: ExportPeriod,
    bookings: list[dict[str, Any]] | None = None,
    *,
    receptions: ReceptionCatalog | None = None,
    full: bool = False,
) -> bytes:
    """A workbook an akimat can file as it is: one sheet per content (appeals; bookings where
    the scope has them), each with a title row naming its period, then headers in the
    officials' language, labels instead of codes, real dates and times in local time. The
    citizens' names and phones are masked unless `full`."""
    buffer = io.BytesIO()
    # No string becomes a formula or a link behind our back; _cell writes each type itself.
    options = {"in_memory": True, "remove_timezone": True,
               "strings_to_formulas": False, "strings_to_urls": False}  # fmt: skip
    book = xlsxwriter.Workbook(buffer, options)
    formats = _Formats(
        bold=book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
        when=book.add_format({"num_format": "dd.mm.yyyy hh:mm"}),
        day=book.add_format({"num_format": "dd.mm.yyyy"}),
        title=book.add_format({"bold": True, "font_size": 13}),
    )
    first, last = (long_date(d, lang) for d in period.appeals)
    _sheet(
        book, _("Appeals"),
        _("Appeals registered from {first} to {last}").format(first=first, last=last),
        appeal_columns(),
        [appeal_cells(a, catalog, lang, tz, full=full) for a in appeals],
        formats,
    )  # fmt: skip
    if bookings is not None:
        first, last = (long_date(d, lang) for d in period.bookings)
        _sheet(
            book, _("Bookings"),
            _("Bookings for receptions from {first} to {last}").format(first=first, last=last),
            booking_columns(),
            [booking_cells(b, receptions, lang, tz, full=full) for b in bookings],
            formats,
        )  # fmt: skip
    book.close()
    return buffer.getvalue()


def _sheet(
    book: xlsxwriter.Workbook,
    name: str,
    title: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[dict[str, Any]],
    formats: _Formats,
) -> None:
    """Row 1 the title, row 2 the headers (frozen, with filters), then one row per item."""
    sheet = book.add_worksheet(name[:31])
    sheet.write_string(0, 0, title, formats.title)
    for x, (field, header) in enumerate(columns):
        sheet.write_string(1, x, header, formats.bold)
        sheet.set_column(x, x, 50 if field in WIDE else max(12, min(len(header) + 2, 24)))
    sheet.freeze_panes(2, 0)
    for y, values in enumerate(rows, start=2):
        for x, (field, _header) in enumerate(columns):
            _cell(sheet, y, x, values.get(field), formats)
    sheet.autofilter(1, 0, max(len(rows), 1) + 1, len(columns) - 1)


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
    receptions: ReceptionCatalog | None = None,
    full_contacts_for: int | None = None,
) -> tuple[int, bytes]:
    """The workbook of `/export days` within `scope`: its appeals, and the bookings of the
    sessions from the period's start to a month ahead (where the scope has bookings).
    Contacts are masked; with `full_contacts_for` (an administrator's id, whom the caller
    has let see them) they are whole, and the export is recorded as that person's contact
    view of every appeal it lists before the file leaves. Returns the number of appeals and
    the file."""
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
        partial(export_xlsx, receptions=receptions, full=full),
        rows, catalog, lang, tz, period, booked,
    )  # fmt: skip
    if full_contacts_for is not None:
        await queries.record_contact_export(
            full_contacts_for, now, (since, until),
            [int(a.row["id"]) for a in rows], len(booked or []),
        )  # fmt: skip
    return len(rows), content
