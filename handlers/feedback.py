"""The citizen's word on an answer: was the problem solved, and a 1–5 rating."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import FeedbackCb
from bot.officials import OfficialsService, rating_keyboard


async def feedback_pressed(
    query: CallbackQuery, callback_data: FeedbackCb, officials: OfficialsService
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if callback_data.rating:
        result = await officials.rate(
            callback_data.appeal, query.from_user.id, callback_data.rating
        )
        if result.appeal is None:
            await query.answer(_("Appeal not found."), show_alert=True)
        elif not result.done:
            await query.answer(_("You have already rated this answer."), show_alert=True)
        else:
            await query.answer()
            await query.message.edit_text(_("Thank you for your rating!"))
        return
    if callback_data.solved not in ("yes", "partly", "no"):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    result = await officials.citizen_says_solved(
        callback_data.appeal, query.from_user.id, callback_data.solved
    )
    if result.appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    if not result.done:
        await query.answer(_("You have already answered this."), show_alert=True)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.solved == "no":
        thanks = _(
            "We are sorry. The appeal is back under consideration and the officials have been "
            "told. Please rate the answer:"
        )
    else:
        thanks = _("Thank you. Please rate the answer:")
    await query.message.answer(thanks, reply_markup=rating_keyboard(callback_data.appeal))


def create_router() -> Router:
    router = Router(name="feedback")
    router.callback_query.register(feedback_pressed, FeedbackCb.filter())
    return router
