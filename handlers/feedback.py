"""The citizen's word on an answer: was the problem solved, and a 1–5 rating."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services.officials import OfficialsService
from bot.telegram.callbacks import FeedbackCb
from bot.telegram.filters import Has, PrivateChat
from bot.views.feedback import rating_keyboard


class FeedbackForm(StatesGroup):
    comment = State()


async def feedback_pressed(
    query: CallbackQuery,
    callback_data: FeedbackCb,
    officials: OfficialsService,
    state: FSMContext,
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
        elif result.reason == "not_answered":
            await query.answer(_("This button is no longer active."), show_alert=True)
        elif result.reason == "not_asked":
            # Stars left from an earlier answer: the latest one is not asked about yet.
            await query.answer(
                _("Please first say, under the latest answer, whether it solved your problem."),
                show_alert=True,
            )
        elif not result.done:
            await query.answer(_("You have already rated this answer."), show_alert=True)
        else:
            await query.answer()
            await query.message.edit_text(_("Thank you for your rating!"))
        return
    if callback_data.solved == "skip":
        await comment_skipped(query, callback_data, state)
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
        await state.set_state(FeedbackForm.comment)
        await state.set_data({"appeal": callback_data.appeal})
        await query.message.answer(
            _(
                "We are sorry. The appeal is back under consideration and the officials have "
                "been told. What is still not solved? Write it in one message, or press «Skip»."
            ),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(
                    text=_("Skip"),
                    callback_data=FeedbackCb(appeal=callback_data.appeal, solved="skip").pack(),
                )]]
            ),
        )  # fmt: skip
        return
    await query.message.answer(
        _("Thank you. Please rate the answer:"), reply_markup=rating_keyboard(callback_data.appeal)
    )


async def comment_skipped(
    query: CallbackQuery, callback_data: FeedbackCb, state: FSMContext
) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _("Please rate the answer:"), reply_markup=rating_keyboard(callback_data.appeal)
        )


async def comment_written(message: Message, state: FSMContext, officials: OfficialsService) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    comment = (message.text or "").strip()[:2000]
    if not comment or comment.startswith("/"):
        await message.answer(_("Please write the comment as text, or press «Skip»."))
        return
    await state.clear()
    if not await officials.citizen_comment(int(data["appeal"]), message.from_user.id, comment):
        # The officials answered again meanwhile: the «not solved» this comment was asked
        # for is gone with the answer it was about. Said, not dropped in silence.
        await message.answer(
            _(
                "This comment was not sent: the officials have answered the appeal again "
                "since. Please read the new answer and say under it whether it solved your "
                "problem."
            )
        )
        return
    await message.answer(
        _("Thank you, the officials will see it. Please rate the answer:"),
        reply_markup=rating_keyboard(int(data["appeal"])),
    )


def create_router() -> Router:
    router = Router(name="feedback")
    router.callback_query.register(feedback_pressed, FeedbackCb.filter())
    router.message.register(
        comment_written, PrivateChat(), StateFilter(FeedbackForm.comment), Has("text")
    )
    return router
