"""The handlers' side of a citizen's confirmation (`bot.services.confirmations` has the
rules): show it at once by editing the review card, and leave the dialog."""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.services.confirmations import Confirmation, Confirmations
from bot.telegram.menu import MainMenu
from bot.views.confirmations import back_in_menu_text
from storage.base import DatabaseBusy

log = logging.getLogger(__name__)


async def show(
    message: Message,
    confirmation: Confirmation,
    confirmations: Confirmations,
    *,
    menu: MainMenu,
    again: bool = False,
) -> None:
    """Edit the review card into the confirmation and bring the main menu back; what
    Telegram refuses, the outbox sends. `again`: a confirm pressed again, where the menu
    came already, unless the row still waits to bring it."""
    try:
        await message.edit_text(confirmation.text, reply_markup=None)
    except TelegramAPIError as exc:
        log.warning("confirmation %s goes by the outbox: %r", confirmation.key, exc)
        await confirmations.not_shown(confirmation)
        return
    if again:
        await confirmations.menu_only(confirmation)
        return
    try:
        await message.answer(back_in_menu_text(), reply_markup=menu.keyboard())
    except TelegramAPIError as exc:
        log.warning("main menu after %s goes by the outbox: %r", confirmation.key, exc)
        await confirmations.menu_only(confirmation)
        return
    await confirmations.shown(confirmation)


async def forget_draft(state: FSMContext) -> None:
    """Leave the dialog once its confirm is stored. If the database refuses now, the dialog
    stays at its review, whose confirm gives the stored appeal or booking back (the draft's
    key): worth a log line, not a failed step."""
    try:
        await state.clear()
    except DatabaseBusy:
        log.warning("draft kept after a confirm: database locked")
