"""What citizens read about their bookings outside the booking dialog (a freed place, a
reminder, a cancelled session, the booking in /my) and what the officials' digest says of
today's receptions: `bot.services.notifiers.BookingNotices` for Telegram."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.receptions import Reception
from bot.telegram.callbacks import BookingCb
from bot.views.common import html
from i18n.core import PoI18n
from i18n.formatting import long_date
from storage.bookings import Booking


class BookingNotices:
    def __init__(self, i18n: PoI18n, tz: ZoneInfo) -> None:
        self.i18n = i18n
        self.tz = tz

    @contextmanager
    def speaking(self, lang: str) -> Iterator[None]:
        with self.i18n.context(), self.i18n.use_locale(lang):
            yield

    def offer(
        self, reception: Reception, start: datetime, until: datetime, offer_id: int, lang: str
    ) -> tuple[str, Any]:
        with self.speaking(lang):
            text = _(
                "🎉 A place has freed up: {name}, {date}, {time}. It is held for you until "
                "{until}. Take it?"
            ).format(
                name=html(reception.name(lang)),
                date=long_date(start.date(), lang),
                time=f"{start:%H:%M}",
                until=f"{until:%H:%M}",
            )
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(
                    text=_("✅ Take the place"),
                    callback_data=BookingCb(action="take", value=str(offer_id)).pack(),
                )]]
            )  # fmt: skip
        return text, markup

    def session_cancelled(
        self, booking: Booking, reception: Reception, lang: str
    ) -> tuple[str, Any]:
        with self.speaking(lang):
            heading = _("❌ The reception is cancelled. We apologise.")
            text = self.describe(booking, reception, lang, heading)
            text += "\n\n" + _("/book shows other free times.")
        return text, None

    def reminder(self, booking: Booking, reception: Reception, lang: str) -> tuple[str, Any]:
        with self.speaking(lang):
            text = self.describe(booking, reception, lang, heading=_("⏰ Reminder"))
            markup = cancel_keyboard(booking.id)
        return text, markup

    def describe(self, booking: Booking, reception: Reception, lang: str, heading: str) -> str:
        return describe(booking, reception, lang, heading, self.tz)

    def today(self, sessions: Sequence[tuple[Reception, Sequence[Booking], int]], lang: str) -> str:
        with self.speaking(lang):
            lines = ["<b>" + _("🗓 Receptions today") + "</b>"]
            for reception, bookings, capacity in sessions:
                lines.append(
                    f"{reception.start:%H:%M}–{reception.end:%H:%M} · "
                    f"{html(reception.name(lang))} · {len(bookings)}/{capacity}"
                )
                needs = access_summary(bookings)
                if needs:
                    lines.append(_("To prepare: {needs}").format(needs=needs))
        return "\n".join(lines)


def describe(booking: Booking, reception: Reception, lang: str, heading: str, tz: ZoneInfo) -> str:
    """A booking under `heading`, in the current locale; `lang` picks names and dates."""
    start = booking.slot_start.astimezone(tz)
    return "\n".join(
        [
            f"<b>{heading}</b>",
            html(reception.name(lang)),
            _("When: {date}, {time}").format(
                date=long_date(start.date(), lang), time=start.strftime("%H:%M")
            ),
            _("Address: {value}").format(value=html(reception.address(lang))),
            _("Receives: {value}").format(value=html(reception.panel_text(lang))),
        ]
    )


def access_summary(bookings: Sequence[Booking]) -> str:
    """E.g. "wheelchair: 2, interpreter: 1": what the reception place must have ready."""
    counts: dict[str, int] = {}
    for booking in bookings:
        for need in booking.access:
            counts[need] = counts.get(need, 0) + 1
        if booking.access_other:
            counts["other"] = counts.get("other", 0) + 1
    # "label: n" needs no number agreement, in Russian or in Kazakh.
    return ", ".join(f"{need_label(code)}: {n}" for code, n in counts.items())


def need_label(code: str) -> str:
    """An access need as the staff preparing the place read it (the citizen's button says
    it in the first person)."""
    labels = {
        "wheelchair": _("wheelchair"),
        "sign_language": _("sign-language interpreter"),
        "companion": _("with a companion"),
        "other": _("other needs"),
    }
    return labels.get(code, code)


def cancel_keyboard(booking_id: int, *, movable: bool = False) -> InlineKeyboardMarkup:
    """Under a reminder, and (movable) under the booking in /my; the value tells the
    cancel question which of the two to put back when the citizen keeps the booking."""
    origin = "my" if movable else ""
    row = [
        InlineKeyboardButton(
            text=_("✖️ Cancel the booking"),
            callback_data=BookingCb(action="drop", value=origin, booking=booking_id).pack(),
        )
    ]
    if movable:
        row.append(
            InlineKeyboardButton(
                text=_("🔁 Another time"),
                callback_data=BookingCb(action="move", booking=booking_id).pack(),
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[row])
