"""A command or menu button that would start one dialog in the middle of the other: /book or
🗓 inside an appeal, /new or 📝 inside a booking. It is neither an unknown command nor the
step's input (a place name, the question): the citizen chooses to continue, or to drop the
draft and go."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.domain.dialogs import (
    APPEAL,
    BOOKING,
    STARTED_BY,
    command_of,
    dialog_of,
    draft_key,
    in_the_way,
)
from bot.domain.receptions import ReceptionCatalog
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.telegram.callbacks import SwitchCb
from bot.telegram.filters import CallbackPrefix, PrivateChat
from bot.telegram.menu import menu_key
from bot.views import dialogs as view
from handlers import appeal, booking
from storage.models import Citizen


class StartsAnotherDialog(Filter):
    """The message asks for a dialog while another is in progress; gives both to the handler.
    Async on purpose (aiogram runs synchronous filters in a worker thread), and the state is
    read only for the two commands and two buttons concerned."""

    async def __call__(self, message: Message, state: FSMContext) -> bool | dict[str, Any]:
        wanted = STARTED_BY.get(command_of(message.text) or menu_key(message.text) or "")
        if wanted is None:
            return False
        current = in_the_way(await state.get_state(), wanted)
        return {"wanted": wanted, "current": current} if current is not None else False


async def busy(
    message: Message,
    wanted: str,
    current: str,
    state: FSMContext,
    receptions: ReceptionCatalog,
    appeals: AppealService,
    tz: ZoneInfo,
) -> None:
    if wanted == BOOKING and not receptions.receptions:
        # Nothing to book: the appeal goes on undisturbed.
        await message.answer(_("No receptions are scheduled at the moment."))
        return
    if wanted == APPEAL and await appeal.over_daily_limit(message, appeals, tz):
        # No appeal can be filed today: the booking goes on undisturbed.
        return
    text, markup = view.busy_screen(current, wanted, draft_key(current, await state.get_data()))
    await message.answer(text, reply_markup=markup)


async def switch_pressed(
    query: CallbackQuery,
    callback_data: SwitchCb,
    state: FSMContext,
    catalog: Catalog,
    bookings: BookingService,
    citizen: Citizen | None,
    appeals: AppealService,
    tz: ZoneInfo,
) -> None:
    message = query.message
    current = dialog_of(await state.get_state())
    asked_about = draft_key(current, await state.get_data()) if current else ""
    if (
        not isinstance(message, Message) or current is None or current == callback_data.to
        or asked_about != callback_data.draft
    ):  # fmt: skip
        # The dialog asked about is over (finished, cancelled, or another one since).
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    if callback_data.go:
        await state.clear()
        await message.edit_text(view.discarded_text(current), reply_markup=None)
        following = callback_data.to
    else:
        await message.edit_text(f"✔️ {view.continue_label(current)}", reply_markup=None)
        following = current
    # Both entries continue a dialog in progress and start one otherwise (asking consent first
    # if it was never given).
    if following == APPEAL:
        await appeal.new_appeal(message, state, catalog, citizen, appeals, tz)
    else:
        await booking.start_booking(message, state, bookings, appeals, citizen)


def create_router() -> Router:
    router = Router(name="switch")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat(), CallbackPrefix(SwitchCb))
    router.message.register(busy, StartsAnotherDialog())
    router.callback_query.register(switch_pressed, SwitchCb.filter())
    return router
