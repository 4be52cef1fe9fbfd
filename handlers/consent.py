"""The citizen's answer to the consent question."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.citizens import CitizenService
from bot.telegram.callbacks import ConsentCb
from handlers.appeal import start_wizard
from handlers.booking import start_booking
from storage.models import Citizen


async def consent_answered(
    query: CallbackQuery,
    callback_data: ConsentCb,
    citizens: CitizenService,
    appeals: AppealService,
    citizen: Citizen | None,
    state: FSMContext,
    catalog: Catalog,
    bookings: BookingService | None = None,
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not callback_data.agree:
        await query.message.edit_text(
            _(
                "Understood. Without consent we cannot accept an appeal, but /help and "
                "/privacy are open to you. You can agree later with /new."
            )
        )
        return
    if citizen is None or citizen.consent_at is None:
        await citizens.give_consent(query.from_user.id)
    if callback_data.then == "new" and await state.get_state() is None:
        await query.message.edit_text(_("Thank you."))
        await start_wizard(query.message, state, catalog)
        return
    if callback_data.then == "book" and bookings is not None and await state.get_state() is None:
        await query.message.edit_text(_("Thank you."))
        citizen = await citizens.get(query.from_user.id)
        await start_booking(query.message, state, bookings, appeals, citizen)
        return
    await query.message.edit_text(
        _("Thank you. You can now send an appeal: press «📝 New appeal» or /new.")
    )


def create_router() -> Router:
    router = Router(name="consent")
    router.callback_query.register(consent_answered, ConsentCb.filter())
    return router
