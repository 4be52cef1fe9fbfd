"""/forget: erase the citizen's personal data after a confirmation."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from aiogram.utils.i18n import gettext as _

from bot.bookings import BookingService
from bot.callbacks import ForgetCb
from bot.filters import PrivateChat
from storage.base import Repository


async def forget(message: Message) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, erase my data"), callback_data=ForgetCb(confirm=True).pack()
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("No, keep it"), callback_data=ForgetCb(confirm=False).pack()
                )
            ],
        ]
    )
    await message.answer(
        _(
            "This erases your name, phone number, the texts, files and locations of your "
            "appeals, and your language and consent. Anonymous figures (kind, category, "
            "district, dates) stay for statistics. Officials will no longer be able to send "
            "you answers here. Erase?"
        ),
        reply_markup=keyboard,
    )


async def forget_answered(
    query: CallbackQuery,
    callback_data: ForgetCb,
    repo: Repository,
    state: FSMContext,
    bookings: BookingService,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not callback_data.confirm:
        await query.message.edit_text(_("Nothing was erased."))
        return
    await state.clear()
    # Places they held go back to others (and to the waiting list) before the rows lose
    # their names; nothing unsent waits for a citizen who asked to be forgotten.
    for booking in await bookings.store.citizen_upcoming(query.from_user.id, bookings.clock()):
        await bookings.cancel(booking.id, query.from_user.id)
    await bookings.outbox_store.drop_chat(
        query.from_user.id, "citizen used /forget", bookings.clock()
    )
    await repo.forget_citizen(query.from_user.id)
    await query.message.edit_text(_("Your personal data has been erased."))
    await query.message.answer(
        _("Goodbye. /start begins again if you need us."), reply_markup=ReplyKeyboardRemove()
    )


def create_router() -> Router:
    router = Router(name="forget")
    router.message.filter(PrivateChat())
    router.message.register(forget, Command("forget"))
    router.callback_query.register(forget_answered, ForgetCb.filter())
    return router
