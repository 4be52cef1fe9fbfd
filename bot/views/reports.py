"""/stats and /export as officials read them: the figures as Telegram HTML and the
workbook an akimat files (`bot.services.reports` computes what they show). Current locale
(the officials')."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.numbers import format_decimal

from bot.domain.catalog import Catalog
from bot.domain.receptions import ACCESS_NEEDS, ReceptionCatalog
from bot.domain.reports import ExportPeriod, MeetingStats, Stats
from bot.views.booking_notices import need_label
from bot.views.card import initials, masked_phone, outcome_label, solved_label
from bot.views.common import html
from bot.views.my_appeals import status_label
from bot.views.polls import poll_columns, poll_rows
from i18n.core import ngettext
from i18n.formatting import long_date
from storage.models import Status
from storage.polls import PollResults
from storage.reports import PeriodAppeal, PeriodMeeting

if TYPE_CHECKING:
    import xlsxwriter


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
    if stats.meetings is not None:
        lines += ["", *meeting_stats_lines(stats.meetings)]
    return "\n".join(lines)


def needs_summed(access: dict[str, int]) -> str:
    """«wheelchair: 2, with a companion: 1», in the order of the booking's needs."""
    order = [*ACCESS_NEEDS, *sorted(set(access) - set(ACCESS_NEEDS))]
    return ", ".join(f"{need_label(code)}: {access[code]}" for code in order if access.get(code))


def meeting_stats_lines(meetings: MeetingStats) -> list[str]:
    """/stats: the meetings with residents of the period (issue #13)."""
    lines = [
        _("<b>Meetings with residents</b>"),
        _("Held: {held} · cancelled: {cancelled}").format(
            held=meetings.held, cancelled=meetings.cancelled),
        _("Said they come: {count}").format(count=meetings.registered),
        _("Came: {count} (entered for {entered} of {held} meetings)").format(
            count=meetings.attended, entered=meetings.attended_entered, held=meetings.held),
        _("Needed to attend: {value}").format(value=needs_summed(meetings.access) or _("none")),
        _("Questions in advance: {count}").format(count=meetings.questions),
    ]  # fmt: skip
    for topic, n in meetings.by_topic:
        lines.append(f"  {n} · {html(topic) if topic is not None else _('Another topic')}")
    return lines


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


def meeting_columns() -> tuple[tuple[str, str], ...]:
    """The meetings with residents sheet (issue #13): one row per meeting."""
    return (
        ("id", _("Meeting №")),
        ("districts", _("Districts")),
        ("who", _("Who met the residents")),
        ("place", _("Where")),
        ("at", _("When")),
        ("status", _("Status")),
        ("moves", _("Times moved")),
        ("registered", _("Said they come")),
        ("attended", _("How many came")),
        ("attended_by", _("Entered by")),
        ("access", _("Needed to attend")),
        ("questions", _("Questions in advance")),
    )


TIMES = {"created_at", "due_at", "first_action_at", "answered_at", "closed_at"}
BOOKING_TIMES = {"slot_start", "created_at", "cancelled_at"}
# Widths in characters: the long texts wide, the rest as wide as their header needs.
WIDE = {"text", "answer_text", "feedback", "extension_reason", "topic", "access_other", "who",
        "place", "question", "option"}  # fmt: skip


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


def meeting_status_label(row: dict[str, Any], as_of: datetime | None) -> str:
    if row.get("meeting_cancelled_at"):
        return _("Cancelled")
    at = datetime.fromisoformat(row["meeting_at"])
    if row.get("meeting_attended") is not None or (as_of is not None and at <= as_of):
        return _("Held")
    return _("Planned")


def meeting_cells(
    meeting: PeriodMeeting, catalog: Catalog, lang: str, tz: ZoneInfo, as_of: datetime | None
) -> dict[str, Any]:
    """A meeting as the sheet shows it: the districts by name, the local time, the figures as
    numbers; who and where as the official typed them (written inert by `_cell`)."""
    row = meeting.row
    districts = json.loads(row["districts"] or "[]")
    return {
        "id": row["id"],
        "districts": ", ".join(
            _name(catalog.territory.place(code), code, lang) for code in districts
        ),
        "who": row["meeting_who"],
        "place": row["meeting_place"],
        "at": _local(row["meeting_at"], tz),
        "status": meeting_status_label(row, as_of),
        "moves": int(row.get("moves") or 0),
        "registered": meeting.registered,
        "attended": row.get("meeting_attended"),
        "attended_by": row.get("meeting_attended_by_name"),
        "access": needs_summed(meeting.access) or None,
        "questions": sum(meeting.questions.values()),
    }


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
    meetings: list[PeriodMeeting] | None = None,
    polls: Sequence[PollResults] = (),
) -> bytes:
    """A workbook an akimat can file as it is: one sheet per content (appeals; bookings where
    the scope has them; the polls of the period, where there are any), each with a title row
    naming its period, then headers in the officials' language, labels instead of codes,
    real dates and times in local time. The citizens' names and phones are masked unless
    `full`."""
    # Imported by the first /export (in the report worker, which preloads it), not by
    # `python -m bot` at start-up (tests/test_startup_imports.py).
    import xlsxwriter

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
    if meetings:  # only where the period has meetings with residents
        _meetings_sheet(book, meetings, catalog, lang, tz, period, formats)
    if polls:
        _polls_sheet(book, polls, catalog, lang, tz, period, formats)
    book.close()
    return buffer.getvalue()


def _meetings_sheet(
    book: xlsxwriter.Workbook,
    meetings: list[PeriodMeeting],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    period: ExportPeriod,
    formats: _Formats,
) -> None:
    """«Meetings» (issue #13): one row per meeting with residents of the period and the month
    ahead; no sheet where there were none, so an akimat that holds none files what it did."""
    first, last = (long_date(d, lang) for d in (period.meetings or period.bookings))
    _sheet(
        book, _("Meetings"),
        _("Meetings with residents from {first} to {last}").format(first=first, last=last),
        meeting_columns(),
        [meeting_cells(m, catalog, lang, tz, period.as_of) for m in meetings],
        formats,
    )  # fmt: skip


def _polls_sheet(
    book: xlsxwriter.Workbook,
    polls: Sequence[PollResults],
    catalog: Catalog,
    lang: str,
    tz: ZoneInfo,
    period: ExportPeriod,
    formats: _Formats,
) -> None:
    """«Polls»: results by option × district (and all districts together), one row each;
    the questions and options officials typed are written inert, like every typed value."""
    rows = poll_rows(polls, catalog.territory, lang)
    for row in rows:
        for column in ("created_at", "closes_at", "closed_at"):
            row[column] = _local(row[column], tz) if row.get(column) else None
    first, last = (long_date(d, lang) for d in period.appeals)
    _sheet(
        book, _("Polls"),
        _("Polls open from {first} to {last}").format(first=first, last=last),
        poll_columns(), rows, formats,
    )  # fmt: skip


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
