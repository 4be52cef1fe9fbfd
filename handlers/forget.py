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

from bot.services.erasure import CitizenErasure
from bot.telegram.callbacks import ForgetCb
from bot.telegram.filters import PrivateChat


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
            "This erases your name, phone number and address, the texts, files and locations "
            "of your appeals, what you added to them and your comments, your bookings' "
            "contacts, your language and consent; in the officials' chat the cards lose your "
            "text and contact and the rest is deleted. Anonymous figures (kind, category, "
            "district, dates) stay for statistics, and the officials' answers stay without "
            "your name, as the akimat's records. Officials will no longer be able to send you "
            "answers here. Erase?"
        ),
        reply_markup=keyboard,
    )


async def forget_answered(
    query: CallbackQuery,
    callback_data: ForgetCb,
    state: FSMContext,
    erasure: CitizenErasure,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not callback_data.confirm:
        await query.message.edit_text(_("Nothing was erased."))
        return
    await state.clear()
    await erasure.forget(query.from_user.id)
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
