"""The citizen's buttons under an answer: was the problem solved, and a rating."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.domain.status import answer_mark
from bot.telegram.callbacks import FeedbackCb, RateCb


def solved_keyboard(appeal_id: int) -> InlineKeyboardMarkup:
    def button(text: str, solved: str) -> InlineKeyboardButton:
        data = FeedbackCb(appeal=appeal_id, solved=solved).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("Yes"), "yes"), button(_("Partly"), "partly"), button(_("No"), "no")]
        ]
    )


def rating_keyboard(appeal_id: int, answered_at: datetime | None) -> InlineKeyboardMarkup:
    """The stars for the answer given at `answered_at`: a press rates that answer only. None
    (the answer not known here): stars naming the appeal only, as they were before."""

    def data(n: int) -> str:
        if answered_at is None:
            return FeedbackCb(appeal=appeal_id, rating=n).pack()
        return RateCb(appeal=appeal_id, answer=answer_mark(answered_at), rating=n).pack()

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=f"{n} ⭐", callback_data=data(n)) for n in range(1, 6)]
        ]
    )
