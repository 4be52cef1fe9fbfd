"""/my: the citizen's own appeals, newest first, paged; an open one can be withdrawn (after
a confirmation) or added to (handlers/additions.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.catalog import Catalog
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService
from bot.services.lifecycle import AppealLifecycle, Refused, Target
from bot.telegram.callbacks import MyCb
from bot.telegram.filters import PrivateChat
from bot.telegram.menu import MenuButton
from bot.telegram.replies import answer_in_parts
from bot.views import lifecycle as lifecycle_view
from bot.views.booking_notices import cancel_keyboard
from bot.views.my_appeals import (
    PAGE_SIZE,
    appeal_entry,
    appeal_status_label,
    detail_keyboard,
    list_keyboard,
)


async def render_page(
    user_id: int, page: int, appeals: AppealService, catalog: Catalog
) -> tuple[str, object] | None:
    found = await appeals.page_of(user_id, page, PAGE_SIZE)
    if found is None:
        return None
    lang = get_i18n().current_locale
    header = _("<b>Your appeals</b> ({page} of {pages})").format(
        page=found.page + 1, pages=found.pages
    )
    entries = [appeal_entry(a, catalog, lang, appeals.days_left(a)) for a in found.appeals]
    return "\n\n".join([header, *entries]), list_keyboard(found.appeals, found.page, found.pages)


async def my_appeals(
    message: Message, appeals: AppealService, catalog: Catalog, bookings: BookingService
) -> None:
    assert message.from_user is not None
    rendered = await render_page(message.from_user.id, 0, appeals, catalog)
    upcoming = await bookings.upcoming_for(message.from_user.id)
    if rendered is None and not upcoming:
        await message.answer(_("You have no appeals yet. /new sends one."))
        return
    if rendered is not None:
        text, markup = rendered
        await message.answer(text, reply_markup=markup)  # type: ignore[arg-type]
    for booking, reception in upcoming:
        lang = get_i18n().current_locale
        text = bookings.describe(booking, reception, lang, _("🗓 Your booking"))
        await message.answer(text, reply_markup=cancel_keyboard(booking.id, movable=True))


async def my_page(
    query: CallbackQuery, callback_data: MyCb, appeals: AppealService, catalog: Catalog
) -> None:
    rendered = await render_page(query.from_user.id, callback_data.arg, appeals, catalog)
    await query.answer()
    if rendered is None or not isinstance(query.message, Message):
        return
    text, markup = rendered
    await query.message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]


async def my_appeal(
    query: CallbackQuery, callback_data: MyCb, appeals: AppealService, catalog: Catalog
) -> None:
    appeal = await appeals.own_appeal(callback_data.arg, query.from_user.id)
    # A forged id and someone else's appeal get the same answer: nothing to see.
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        lang = get_i18n().current_locale
        text = appeal_entry(appeal, catalog, lang, appeals.days_left(appeal), full=True)
        await answer_in_parts(query.message, text, detail_keyboard(appeal))


async def refused(query: CallbackQuery, target: Target, catalog: Catalog) -> bool:
    """Say why the citizen cannot do this with the appeal (an alert), if they cannot."""
    if target.refused is None and target.appeal is not None:
        return False
    if target.appeal is None or target.refused is Refused.MISSING:
        # A forged id and someone else's appeal get the same answer: nothing to see.
        await query.answer(_("Appeal not found."), show_alert=True)
    elif target.refused is Refused.ANSWERED:
        await query.answer(lifecycle_view.already_answered(), show_alert=True)
    else:
        status = appeal_status_label(target.appeal, catalog)
        await query.answer(
            lifecycle_view.not_open_alert(target.appeal.reference, status), show_alert=True
        )
    return True


async def withdraw_asked(
    query: CallbackQuery, callback_data: MyCb, lifecycle: AppealLifecycle, catalog: Catalog
) -> None:
    target = await lifecycle.own_open_appeal(callback_data.arg, query.from_user.id)
    if await refused(query, target, catalog) or target.appeal is None:
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            lifecycle_view.withdraw_question(target.appeal.reference),
            reply_markup=lifecycle_view.withdraw_keyboard(target.appeal.id),
        )


async def withdraw_confirmed(
    query: CallbackQuery, callback_data: MyCb, lifecycle: AppealLifecycle, catalog: Catalog
) -> None:
    result = await lifecycle.withdraw(callback_data.arg, query.from_user.id)
    appeal = result.appeal
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    if not result.done:
        # Answered or withdrawn meanwhile (a double tap): say what it is now.
        status = appeal_status_label(appeal, catalog)
        await query.answer(lifecycle_view.not_open_alert(appeal.reference, status), show_alert=True)
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(reply_markup=None)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(lifecycle_view.withdrawn_text(appeal.reference))


async def withdraw_declined(
    query: CallbackQuery, callback_data: MyCb, appeals: AppealService
) -> None:
    appeal = await appeals.own_appeal(callback_data.arg, query.from_user.id)
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(lifecycle_view.kept_text(appeal.reference))


def create_router() -> Router:
    router = Router(name="my_appeals")
    router.message.filter(PrivateChat())
    router.message.register(my_appeals, Command("my"))
    router.message.register(my_appeals, MenuButton("my"))
    router.callback_query.register(my_page, MyCb.filter(F.action == "page"))
    router.callback_query.register(my_appeal, MyCb.filter(F.action == "view"))
    router.callback_query.register(withdraw_asked, MyCb.filter(F.action == "withdraw"))
    router.callback_query.register(withdraw_confirmed, MyCb.filter(F.action == "wd_yes"))
    router.callback_query.register(withdraw_declined, MyCb.filter(F.action == "wd_no"))
    return router
