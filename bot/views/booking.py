"""What the booking dialog shows: receptions, days, times, access needs, the review."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.domain.receptions import ACCESS_NEEDS, DayChoice, FreeSlot, Reception
from bot.domain.validation import display_phone
from bot.telegram.callbacks import BookingCb
from bot.views.common import BUTTON_CACHE, html, shorten
from i18n.core import ngettext
from i18n.formatting import long_date
from storage.models import Appeal


def access_label(code: str) -> str:
    labels = {
        "wheelchair": _("♿ Wheelchair access"),
        "sign_language": _("🧏 Sign-language interpreter"),
        "companion": _("👥 Someone accompanies me"),
    }
    return labels.get(code, code)


@lru_cache(maxsize=BUTTON_CACHE)  # as `wbutton`
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


# Kazakh weekdays written in full: the CLDR abbreviations («ср», «сб») read as Russian.
DAY_FORMATS = {"kk": "d MMMM, EEEE", "ru": "d MMMM, EEE"}


@lru_cache(maxsize=4096)  # the same 28 days on every booking screen (i18n.formatting)
def day_label(day: date, lang: str) -> str:
    return format_date(day, DAY_FORMATS.get(lang, "d MMMM, EEE"), locale=lang)


def places(n: int) -> str:
    """Free places in words, «18 мест», «2 места», «2 орын»: a bare number on a button
    needed a sentence to explain it."""
    return ngettext("{n} place", "{n} places", n).format(n=n)


def move_nav_row(booking: int, back_to: str) -> list[InlineKeyboardButton]:
    """Back (to the days, or from the days to the booking) and Cancel of a move."""
    return [
        button(_("⬅️ Back"), "mback", back_to, booking=booking),
        button(_("✖️ Cancel"), "mstop", booking=booking),
    ]


def day_button(choice: DayChoice, lang: str, move: int) -> InlineKeyboardButton | None:
    label, value = day_label(choice.day, lang), choice.day.isoformat()
    if choice.held is not None:
        held = _("✅ you are booked, {time}").format(time=f"{choice.held:%H:%M}")
        return button(f"{label} — {held}", "mheld" if move else "held", value, booking=move)
    if choice.free:
        return button(f"{label} — {places(choice.free)}", "mday" if move else "day", value,
                      booking=move)  # fmt: skip
    if move:
        return None  # a move goes to a free place only
    return button(f"{label} — " + _("full, join the waiting list"), "wait", value)


def days_screen(
    choices: list[DayChoice], lang: str, move: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """The dialog's day step, or (move=booking id) the choice of a new day for a booking."""
    buttons = [day_button(choice, lang, move) for choice in choices]
    rows = [[b] for b in buttons if b is not None]
    rows.append(move_nav_row(move, "") if move else nav_row("day"))
    if len(rows) > 1:
        text = _("Choose a day.")
    else:
        text = _("There are no free places in the next weeks. Please look again later.")
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def slots_screen(
    slots: list[FreeSlot], day: date, lang: str, move: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    action = "mslot" if move else "slot"
    buttons = [
        button(f"{f.slot.start:%H:%M} ({places(f.free)})", action, slot_key(f.slot.start),
               booking=move)
        for f in slots
    ]  # fmt: skip
    # Two to a row: «10:00 (18 мест)» three abreast is cut short on a narrow phone.
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(move_nav_row(move, "day") if move else nav_row("slot"))
    text = _("{date}: choose a time.").format(date=long_date(day, lang))
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def cancel_question(booking: int, origin: str) -> InlineKeyboardMarkup:
    """Under «Cancel this booking?»; `origin` is where it was asked (see cancel_keyboard)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Yes, cancel it"), "dropok", origin, booking=booking)],
            [button(_("⬅️ No, keep it"), "dropno", origin, booking=booking)],
        ]
    )


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
