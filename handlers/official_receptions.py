"""/receptions [date]: who comes and what they need; call a session off; mark attendance."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import split_text
from bot.domain.receptions import Reception, ReceptionCatalog
from bot.services.bookings import BookingService, Marked
from bot.services.officials import OfficialsService
from bot.telegram.callbacks import ReceptionCb
from bot.telegram.replies import answer_in_parts
from bot.views.booking import access_label
from bot.views.booking_notices import access_summary
from bot.views.card import initials
from bot.views.common import html, shorten
from handlers.official_commands import allowed
from i18n.core import ngettext
from i18n.formatting import long_date
from storage.bookings import Booking

BUTTON_NAME = 24  # UTF-16 units of a name on a button: the time and the name on one line


def parse_day(args: str | None, today: date) -> date | None:
    text = (args or "").strip()
    if not text:
        return today
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
    try:
        if match:
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_key(day: date) -> str:
    return day.strftime("%Y%m%d")


def session_text(
    reception: Reception,
    bookings: list[Booking],
    day: date,
    lang: str,
    tz: object,
    references: dict[int, str],
    full_names: bool = True,
) -> str:
    lines = [
        f"<b>{html(reception.name(lang))}</b>",
        f"{long_date(day, lang)}, {reception.start:%H:%M}–{reception.end:%H:%M}",
    ]
    if not bookings:
        lines.append(_("Nobody has booked yet."))
    marks = {"attended": "✅ ", "no_show": "🚫 "}
    for booking in sorted(bookings, key=lambda b: b.slot_start):
        start = booking.slot_start.astimezone(tz)  # type: ignore[arg-type]
        needs = [access_label(code) for code in booking.access]
        if booking.access_other:
            needs.append(html(booking.access_other))
        topic = html(shorten(booking.topic or "", 80)) if booking.topic else ""
        if booking.appeal_id:
            reference = references.get(booking.appeal_id, "?")
            topic = _("about appeal № {reference}").format(reference=reference)
        parts = [
            f"{marks.get(booking.status, '')}{start:%H:%M}",
            html(who_comes(booking, full_names)),
        ]
        parts += [p for p in (", ".join(needs), topic) if p]
        lines.append(" · ".join(parts))
    summary = access_summary(bookings)
    if summary:
        lines.append(_("To prepare: {needs}").format(needs=summary))
    return "\n".join(lines)


def who_comes(booking: Booking, full_names: bool) -> str:
    """The staff at the door check people in by full name; that list is the main officials'
    chat's (and the administrators'), as the receptions are: a department's chat, which holds
    no bookings, sees initials."""
    return (booking.contact_name or "—") if full_names else initials(booking.contact_name)


def session_keyboard(
    reception: Reception,
    bookings: list[Booking],
    day: date,
    today: date,
    tz: object,
    full_names: bool = True,
) -> InlineKeyboardMarkup:
    """Attended / no-show on the day of the session only (before it nobody has come, after it
    the list is history); calling off for today and later."""
    rows: list[list[InlineKeyboardButton]] = []
    if day == today:
        for booking in sorted(bookings, key=lambda b: b.slot_start):
            if booking.status != "booked":
                continue
            start = booking.slot_start.astimezone(tz)  # type: ignore[arg-type]
            label = f"{start:%H:%M} {shorten(who_comes(booking, full_names), BUTTON_NAME)}"
            rows.append([
                InlineKeyboardButton(text=f"✅ {label}", callback_data=ReceptionCb(
                    action="attended", booking=booking.id).pack()),
                InlineKeyboardButton(text=f"🚫 {label}", callback_data=ReceptionCb(
                    action="no_show", booking=booking.id).pack()),
            ])  # fmt: skip
    if day >= today:
        rows.append([InlineKeyboardButton(
            text=_("❌ Call this session off"),
            callback_data=ReceptionCb(action="ask_cancel", reception=reception.code,
                                      day=day_key(day)).pack(),
        )])  # fmt: skip
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def session_view(
    officials: OfficialsService,
    bookings: BookingService,
    chat_id: int,
    reception: Reception,
    day: date,
    booked: list[Booking],
    lang: str,
    tz: ZoneInfo,
    references: dict[int, str],
) -> tuple[str, InlineKeyboardMarkup]:
    """One session as /receptions shows it in `chat_id`: the list and its buttons.
    `references` (from `references_in`) holds the registration numbers its places name."""
    full_names = (await officials.scope_of(chat_id)).bookings
    text = session_text(reception, booked, day, lang, tz, references, full_names)
    return text, session_keyboard(reception, booked, day, bookings.today(), tz, full_names)


async def references_in(officials: OfficialsService, *lists: list[Booking]) -> dict[int, str]:
    """The registration numbers of every appeal the listed places are about, in one read for
    all the sessions a command shows, however many places they hold."""
    return await officials.references(
        b.appeal_id for booked in lists for b in booked if b.appeal_id
    )


async def receptions_command(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    bookings: BookingService,
    receptions: ReceptionCatalog,
    officials_language: str,
    tz: ZoneInfo,
) -> None:
    if not await allowed(message, officials):
        return
    today = bookings.today()
    lang = officials_language
    if (command.args or "").strip().startswith("add"):
        await add_session(message, command.args or "", today, bookings, receptions, lang)
        return
    if not (command.args or "").strip():
        await upcoming(message, today, officials, bookings, receptions, lang, tz)
        return
    day = parse_day(command.args, today)
    if day is None:
        await message.answer(
            _("Usage: /receptions (today and the next days with bookings) or "
              "/receptions 25.11.2026.")
        )  # fmt: skip
        return
    sessions = await bookings.sessions_on(day)
    if not sessions:
        await message.answer(_("No receptions on {date}.").format(date=long_date(day, lang)))
        return
    references = await references_in(officials, *(booked for _, booked in sessions))
    for reception, booked in sessions:
        text, markup = await session_view(
            officials, bookings, message.chat.id, reception, day, booked, lang, tz, references
        )
        await answer_in_parts(message, text, reply_markup=markup)


async def upcoming(
    message: Message,
    today: date,
    officials: OfficialsService,
    bookings: BookingService,
    receptions: ReceptionCatalog,
    lang: str,
    tz: ZoneInfo,
) -> None:
    """`/receptions` alone: today's sessions and the booked ones ahead, each its own list."""
    sessions = await bookings.sessions_ahead(today)
    if not sessions:
        days = receptions.rules.horizon_days
        await message.answer(
            ngettext(
                "No receptions today, and nobody has booked one for the next {n} day.",
                "No receptions today, and nobody has booked one for the next {n} days.",
                days,
            ).format(n=days)
        )
        return
    if sessions[0][0] != today:
        await message.answer(_("No receptions today. Booked sessions ahead:"))
    references = await references_in(officials, *(booked for _, _, booked in sessions))
    for day, reception, booked in sessions:
        text, markup = await session_view(
            officials, bookings, message.chat.id, reception, day, booked, lang, tz, references
        )
        await answer_in_parts(message, text, reply_markup=markup)


async def add_session(
    message: Message,
    args: str,
    today: date,
    bookings: BookingService,
    receptions: ReceptionCatalog,
    lang: str,
) -> None:
    """/receptions add <code> DD.MM.YYYY: a one-off session at the reception's usual hours."""
    assert message.from_user is not None
    parts = args.split()
    reception = receptions.get(parts[1]) if len(parts) == 3 else None
    day = parse_day(parts[2], today) if len(parts) == 3 else None
    if reception is None or day is None or day < today:
        codes = ", ".join(r.code for r in receptions.receptions)
        await message.answer(
            _("Usage: /receptions add CODE 28.11.2026 — codes: {codes}.").format(codes=html(codes))
        )
        return
    await bookings.add_session(reception, day, message.from_user.id)
    await message.answer(
        _("Added: «{name}» on {date}, {start}–{end}. Citizens can book it now.").format(
            name=html(reception.name(lang)),
            date=long_date(day, lang),
            start=f"{reception.start:%H:%M}",
            end=f"{reception.end:%H:%M}",
        )
    )


async def reception_pressed(
    query: CallbackQuery,
    callback_data: ReceptionCb,
    officials: OfficialsService,
    bookings: BookingService,
    receptions: ReceptionCatalog,
    officials_language: str,
    tz: ZoneInfo,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    lang = officials_language
    if not await officials.may_act(message.chat.id, query.from_user.id):
        await query.answer(_("Only officials of this chat can act on appeals."), show_alert=True)
        return
    action = callback_data.action
    if action in ("attended", "no_show"):
        marked = await bookings.mark_attendance(callback_data.booking, action)
        await query.answer(_("Noted.") if marked else _("This booking is no longer active."))
        if marked is not None:
            await show_marked(message, marked, officials, bookings, lang, tz)
        return
    reception = receptions.get(callback_data.reception)
    try:
        day = datetime.strptime(callback_data.day, "%Y%m%d").date()
    except ValueError:
        day = None
    if reception is None or day is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    if action == "ask_cancel":
        await query.answer()
        confirm = ReceptionCb(action="cancel", reception=reception.code, day=day_key(day))
        await message.answer(
            _("Call off «{name}» on {date}? Everyone booked will be told.").format(
                name=html(reception.name(lang)),
                date=long_date(day, lang),
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text=_("Yes, call it off"), callback_data=confirm.pack()),
                InlineKeyboardButton(text=_("No, keep it"), callback_data=ReceptionCb(
                    action="keep", reception=reception.code, day=day_key(day)).pack()),
            ]]),
        )  # fmt: skip
        return
    if action == "keep":
        await query.answer()
        await message.edit_text(
            _("Not called off: «{name}», {date}, goes ahead.").format(
                name=html(reception.name(lang)),
                date=long_date(day, lang),
            )
        )
        return
    if action == "cancel":
        told = await bookings.cancel_session(reception, day)
        await query.answer()
        await message.edit_text(
            ngettext(
                "The session is called off; {n} citizen is told.",
                "The session is called off; {n} citizens are told.",
                told,
            ).format(n=told)
        )
        return
    await query.answer(_("This button is no longer active."), show_alert=True)


async def show_marked(
    message: Message,
    marked: Marked,
    officials: OfficialsService,
    bookings: BookingService,
    lang: str,
    tz: ZoneInfo,
) -> None:
    """The list shows the mark and drops that citizen's buttons. A list long enough to come
    in parts (the buttons ride on the last) keeps its text and gets the new buttons only."""
    if marked.reception is None:
        return
    text, markup = await session_view(
        officials, bookings, message.chat.id, marked.reception,
        marked.booking.session_day, marked.session, lang, tz,
        await references_in(officials, marked.session),
    )  # fmt: skip
    if len(split_text(text)) == 1:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.edit_reply_markup(reply_markup=markup)


def create_router() -> Router:
    router = Router(name="official_receptions")
    router.message.register(receptions_command, Command("receptions"))
    router.callback_query.register(reception_pressed, ReceptionCb.filter(F.action != ""))
    return router
