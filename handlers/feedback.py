"""The citizen's word on an answer: was the problem solved, and a 1–5 rating."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.status import answer_mark
from bot.services.officials import OfficialsService
from bot.telegram.callbacks import FeedbackCb, RateCb
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
        # Stars sent before they named their answer: held to «once per latest answer».
        await rated(query, query.message, officials, callback_data.appeal, callback_data.rating)
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
    answered_at = result.appeal.answered_at
    if callback_data.solved == "no":
        await state.set_state(FeedbackForm.comment)
        data: dict[str, Any] = {"appeal": callback_data.appeal}
        if answered_at is not None:  # the answer the stars that follow rate
            data["answer"] = answer_mark(answered_at)
        await state.set_data(data)
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
        _("Thank you. Please rate the answer:"),
        reply_markup=rating_keyboard(callback_data.appeal, answered_at),
    )


async def rate_pressed(
    query: CallbackQuery, callback_data: RateCb, officials: OfficialsService
) -> None:
    """Stars that name the answer they rate: an earlier answer's do not rate the latest."""
    if not isinstance(query.message, Message):
        await query.answer()
        return
    await rated(
        query, query.message, officials, callback_data.appeal, callback_data.rating,
        callback_data.answer,
    )  # fmt: skip


async def rated(
    query: CallbackQuery,
    message: Message,
    officials: OfficialsService,
    appeal_id: int,
    rating: int,
    answer: int | None = None,
) -> None:
    result = await officials.rate(appeal_id, query.from_user.id, rating, answer)
    if result.appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
    elif result.reason == "not_answered":
        await query.answer(_("This button is no longer active."), show_alert=True)
    elif result.reason == "not_asked":
        # Stars left from an earlier answer: the latest one is not asked about yet, or it
        # is to be rated with its own stars.
        await query.answer(
            _("Please first say, under the latest answer, whether it solved your problem."),
            show_alert=True,
        )
    elif not result.done:
        await query.answer(_("You have already rated this answer."), show_alert=True)
    else:
        await query.answer()
        await message.edit_text(_("Thank you for your rating!"))


def answered_at_of(data: dict[str, Any]) -> datetime | None:
    """The answer a «not solved» was said on, kept with the comment's step (None in a step
    begun before it was kept)."""
    mark = data.get("answer")
    return datetime.fromtimestamp(int(mark), UTC) if mark is not None else None


async def comment_skipped(
    query: CallbackQuery, callback_data: FeedbackCb, state: FSMContext
) -> None:
    answered_at = answered_at_of(await state.get_data())
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            _("Please rate the answer:"),
            reply_markup=rating_keyboard(callback_data.appeal, answered_at),
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
        reply_markup=rating_keyboard(int(data["appeal"]), answered_at_of(data)),
    )


def create_router() -> Router:
    router = Router(name="feedback")
    router.callback_query.register(feedback_pressed, FeedbackCb.filter())
    router.callback_query.register(rate_pressed, RateCb.filter())
    router.message.register(
        comment_written, PrivateChat(), StateFilter(FeedbackForm.comment), Has("text")
    )
    return router
