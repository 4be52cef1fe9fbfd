"""Whatever no dialog understood: unknown commands, stray messages, stale or forged buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.telegram.filters import PrivateChat
from bot.telegram.menu import MainMenu
from handlers.dialog import album_already_answered


async def not_understood(message: Message, state: FSMContext, menu: MainMenu) -> None:
    if message.text and message.text.startswith("/"):
        await message.answer(_("Unknown command. /help lists what I can do."))
        return
    if await album_already_answered(message, state):
        return
    await message.answer(
        _("Please use the menu buttons below. To send an appeal, press «📝 New appeal»."),
        reply_markup=menu.keyboard(),
    )


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."), show_alert=True)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(PrivateChat())
    router.message.register(not_understood)
    router.callback_query.register(stale_button)
    return router
