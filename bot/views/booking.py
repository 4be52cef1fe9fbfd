"""What the booking dialog shows: receptions, days, times, access needs, the review."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.bookings import FreeSlot
from bot.callbacks import BookingCb
from bot.receptions import Reception
from bot.validation import display_phone
from bot.views.common import html, shorten
from i18n.formatting import long_date
from storage.models import Appeal

ACCESS_NEEDS = ("wheelchair", "sign_language", "companion")


def access_label(code: str) -> str:
    labels = {
        "wheelchair": _("♿ Wheelchair access"),
        "sign_language": _("🧏 Sign-language interpreter"),
        "companion": _("👥 Someone accompanies me"),
    }
    return labels.get(code, code)


def button(text: str, action: str, value: str = "", booking: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=BookingCb(action=action, value=value, booking=booking).pack()
    )


def nav_row(step: str) -> list[InlineKeyboardButton]:
    return [button(_("⬅️ Back"), "back", step), button(_("✖️ Cancel"), "cancel", step)]


def reception_text(reception: Reception, lang: str) -> str:
    return "\n".join(
        [
            f"<b>{html(reception.name(lang))}</b>",
            _("Receives: {value}").format(value=html(reception.panel_text(lang))),
            _("Topics: {value}").format(value=html(reception.topics(lang))),
            _("Address: {value}").format(value=html(reception.address(lang))),
            _("Accessibility: {value}").format(value=html(reception.access(lang))),
        ]
    )


def receptions_screen(
    receptions: tuple[Reception, ...], lang: str
) -> tuple[str, InlineKeyboardMarkup]:
    text = "\n\n".join(
        [_("<b>Book a reception.</b> Who would you like to see?")]
        + [reception_text(r, lang) for r in receptions]
    )
    rows = [[button(r.name(lang), "rec", r.code)] for r in receptions]
    rows.append(nav_row("reception"))
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def slot_key(start: datetime) -> str:
    """Callback data cannot hold ':' (aiogram's separator): a slot travels as UTC epoch."""
    return str(int(start.timestamp()))


def slot_from_key(key: str) -> datetime | None:
    if not (key.isascii() and key.isdigit()):
        return None
    return datetime.fromtimestamp(int(key), tz=UTC)


def day_label(day: date, lang: str) -> str:
    # Kazakh's own short weekdays («ср», «сб») read as Russian to Kazakh readers: spelled out.
    return format_date(day, "d MMMM, EEEE" if lang == "kk" else "d MMMM, EEE", locale=lang)


def days_screen(
    days: list[tuple[date, int]], lang: str, move: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The dialog's day step, or (move=booking id) the choice of a new day for a booking."""
    action = "mday" if move else "day"
    rows = [
        [button(f"{day_label(d, lang)} · {free}", action, d.isoformat(), booking=move)]
        if free
        else [button(f"{day_label(d, lang)} · " + _("full, join the waiting list"), "wait",
                     d.isoformat())]
        for d, free in days
        if free or not move
    ]  # fmt: skip
    if not move:
        rows.append(nav_row("day"))
    if days:
        text = _("Choose a day (free places after the dot).")
    else:
        text = _("There are no free places in the next weeks. Please look again later.")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def slots_screen(
    slots: list[FreeSlot], day: date, lang: str, move: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    action = "mslot" if move else "slot"
    buttons = [
        button(f"{f.slot.start:%H:%M} · {f.free}", action, slot_key(f.slot.start), booking=move)
        for f in slots
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if not move:
        rows.append(nav_row("slot"))
    text = _("{date}: choose a time (free places after the dot).").format(date=long_date(day, lang))
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def question_screen(open_appeals: list[Appeal]) -> tuple[str, InlineKeyboardMarkup]:
    rows = []
    if open_appeals:
        rows.append([button(_("📄 It is about my appeal…"), "about")])
    rows.append(nav_row("question"))
    text = _("Briefly, what is your question? (10 to 1000 characters)")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def appeals_screen(open_appeals: list[Appeal]) -> tuple[str, InlineKeyboardMarkup]:
    rows = [[button(f"№ {a.reference}", "appeal", str(a.id))] for a in open_appeals[:10]]
    rows.append(nav_row("question"))
    return _("Which appeal is it about?"), InlineKeyboardMarkup(inline_keyboard=rows)


def access_screen(chosen: list[str], other: str | None) -> tuple[str, InlineKeyboardMarkup]:
    rows = [
        [button(("✅ " if code in chosen else "") + access_label(code), "acc", code)]
        for code in ACCESS_NEEDS
    ]
    rows.append([button(("✅ " if other else "") + _("✍️ Something else"), "acc_other")])
    rows.append([button(_("➡️ Continue"), "acc_done")])
    rows.append(nav_row("access"))
    text = _(
        "Do you need anything to attend the reception? Choose all that apply, then "
        "«Continue». Nothing needed? Just press «Continue»."
    )
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def needs_text(draft: dict[str, Any]) -> str:
    needs = [access_label(code) for code in draft.get("access", [])]
    if draft.get("access_other"):
        needs.append(html(draft["access_other"]))
    return ", ".join(needs) or _("none")


def review_screen(
    draft: dict[str, Any], reception: Reception, lang: str, appeal_ref: str | None
) -> tuple[str, InlineKeyboardMarkup]:
    when = datetime.fromisoformat(draft["slot"])
    topic = f"№ {appeal_ref}" if appeal_ref else html(shorten(draft.get("topic", ""), 500))
    lines = [
        _("<b>Check your booking</b>"),
        "",
        html(reception.name(lang)),
        _("When: {date}, {time}").format(date=long_date(when.date(), lang), time=f"{when:%H:%M}"),
        _("Address: {value}").format(value=html(reception.address(lang))),
        _("Question: {value}").format(value=topic),
        _("Access needs: {value}").format(value=needs_text(draft)),
        _("Name: {value}").format(value=html(draft.get("contact_name") or "—")),
        _("Phone: {value}").format(value=html(display_phone(draft.get("contact_phone", "")))),
    ]
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Confirm the booking"), "confirm", draft["draft_key"])],
            nav_row("review"),
        ]
    )
    return "\n".join(lines), markup
