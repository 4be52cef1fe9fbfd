"""What a citizen sees when a command or menu button would start a dialog while another one is
in progress, and when a dialog's draft is dropped."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.dialogs import APPEAL
from bot.telegram.callbacks import SwitchCb


def continue_label(current: str) -> str:
    return _("▶️ Continue the appeal") if current == APPEAL else _("▶️ Continue the booking")


def busy_screen(current: str, wanted: str, draft: str) -> tuple[str, InlineKeyboardMarkup]:
    """Finish or cancel `current` first: continue it, or drop it and go on to `wanted`."""
    if current == APPEAL:
        text = _("You are in the middle of an appeal. Please finish it or cancel it first.")
        go = _("✖️ Cancel it and book a reception")
    else:
        text = _("You are in the middle of a booking. Please finish it or cancel it first.")
        go = _("✖️ Cancel it and file an appeal")

    def button(label: str, go: bool) -> list[InlineKeyboardButton]:
        data = SwitchCb(go=go, to=wanted, draft=draft).pack()
        return [InlineKeyboardButton(text=label, callback_data=data)]

    markup = InlineKeyboardMarkup(
        inline_keyboard=[button(continue_label(current), False), button(go, True)]
    )
    return text, markup


def discarded_text(dialog: str) -> str:
    """The draft of `dialog` is gone, on the way to another dialog."""
    if dialog == APPEAL:
        return _("The appeal draft was discarded; nothing was sent.")
    return _("The booking draft was discarded; nothing was saved.")


def cancelled_text(dialog: str | None) -> str:
    """/cancel, or Cancel pressed, inside `dialog`: what was dropped and how to start again."""
    if dialog == APPEAL or dialog is None:
        return _("Cancelled. Your draft was discarded and nothing was sent. /new starts again.")
    return _(
        "Cancelled. Your booking draft was discarded and nothing was saved. /book starts again."
    )
