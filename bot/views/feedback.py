"""The citizen's buttons under an answer: was the problem solved, and a rating."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import FeedbackCb


def solved_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    def button(text: str, solved: str) -> InlineKeyboardButton:
        data = FeedbackCb(appeal=appeal_id, solved=solved).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Yes"), "yes"), button(_("Partly"), "partly"), button(_("No"), "no")]
        ]
    )


def rating_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{n} ⭐", callback_data=FeedbackCb(appeal=appeal_id, rating=n).pack()
                )
                for n in range(1, 6)
            ]
        ]
    )
