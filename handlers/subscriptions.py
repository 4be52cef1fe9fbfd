"""/subscribe and 🔔: a citizen's subscriptions to the akimat's announcements by place, and the
one-tap «Unsubscribe» under every announcement (issue #13).

The screens are inline buttons that carry everything they need (the region, the page), so
/subscribe needs no dialog state and never disturbs an appeal or a booking in progress.
Region and district are picked as in the appeal dialog (`bot.views.appeal.places_screen`);
a territory with one region or one district skips that step.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.catalog import Catalog
from bot.services.outreach import SubscriptionService
from bot.telegram.callbacks import SubCb
from bot.telegram.filters import CallbackPrefix, PrivateChat
from bot.telegram.menu import MenuButton
from bot.telegram.middlewares import proposed_language
from bot.views import outreach as view
from bot.views.common import ALERT_LIMIT, shorten
from handlers.common import ask_language
from handlers.dialog import noop, stale
from i18n.core import PoI18n
from storage.models import Citizen


def lang() -> str:
    return get_i18n().current_locale


async def subscriptions(
    message: Message,
    citizen: Citizen | None,
    subscriptions: SubscriptionService,
    catalog: Catalog,
    i18n: PoI18n,
) -> None:
    if citizen is None or citizen.language is None or message.from_user is None:
        # A subscription belongs to a citizen who chose the language announcements come in.
        await ask_language(message, proposed_language(message.from_user, i18n.default_locale))
        return
    codes = await subscriptions.districts_of(message.from_user.id)
    text, markup = view.subscriptions_screen(codes, catalog.territory, lang())
    await message.answer(text, reply_markup=markup)


async def edit(query: CallbackQuery, text: str, markup: object) -> None:
    assert isinstance(query.message, Message)
    await query.message.edit_text(text, reply_markup=markup)  # type: ignore[arg-type]


async def show_list(
    query: CallbackQuery, subscriptions: SubscriptionService, catalog: Catalog, lead: str = ""
) -> None:
    codes = await subscriptions.districts_of(query.from_user.id)
    text, markup = view.subscriptions_screen(codes, catalog.territory, lang())
    await edit(query, f"{lead}\n\n{text}" if lead else text, markup)


async def listed(
    query: CallbackQuery, subscriptions: SubscriptionService, catalog: Catalog
) -> None:
    await query.answer()
    await show_list(query, subscriptions, catalog)


async def add(query: CallbackQuery, subscriptions: SubscriptionService, catalog: Catalog) -> None:
    territory = catalog.territory
    if len(territory.regions) == 1:
        await region_chosen_code(query, territory.regions[0].code, subscriptions, catalog)
        return
    await query.answer()
    await edit(query, *view.regions_screen(territory, lang(), 0))


async def region_chosen(
    query: CallbackQuery,
    callback_data: SubCb,
    subscriptions: SubscriptionService,
    catalog: Catalog,
) -> None:
    await region_chosen_code(query, callback_data.value, subscriptions, catalog)


async def region_chosen_code(
    query: CallbackQuery, region: str, subscriptions: SubscriptionService, catalog: Catalog
) -> None:
    districts = catalog.territory.districts_of(region)
    if not districts:
        await stale(query)
        return
    if len(districts) == 1:
        await subscribe_to(query, districts[0].code, subscriptions, catalog)
        return
    await query.answer()
    await edit(query, *view.districts_screen(catalog.territory, region, lang(), 0))


async def page(query: CallbackQuery, callback_data: SubCb, catalog: Catalog) -> None:
    where, _sep, number = callback_data.value.rpartition(".")
    if not (number.isascii() and number.isdigit()):
        await stale(query)
        return
    territory = catalog.territory
    if where == "r":
        screen = view.regions_screen(territory, lang(), int(number))
    elif territory.districts_of(where):
        screen = view.districts_screen(territory, where, lang(), int(number))
    else:
        await stale(query)
        return
    await query.answer()
    await edit(query, *screen)


async def district_chosen(
    query: CallbackQuery,
    callback_data: SubCb,
    subscriptions: SubscriptionService,
    catalog: Catalog,
) -> None:
    await subscribe_to(query, callback_data.value, subscriptions, catalog)


class KnownCitizen(Filter):
    """Subscribing needs the citizen's row (their language): a screen left over from before
    /forget is stale."""

    async def __call__(self, query: CallbackQuery, citizen: Citizen | None = None) -> bool:
        return citizen is not None and citizen.language is not None


async def subscribe_to(
    query: CallbackQuery, district: str, subscriptions: SubscriptionService, catalog: Catalog
) -> None:
    new = await subscriptions.subscribe(query.from_user.id, district)
    if new is None:
        await stale(query)
        return
    await query.answer()
    name = view.place_name(catalog.territory, district, lang())
    await show_list(query, subscriptions, catalog, view.subscribed_text(name, new))


async def removed(
    query: CallbackQuery,
    callback_data: SubCb,
    subscriptions: SubscriptionService,
    catalog: Catalog,
) -> None:
    was = await subscriptions.unsubscribe(query.from_user.id, callback_data.value)
    name = view.place_name(catalog.territory, callback_data.value, lang())
    await query.answer(shorten(view.unsubscribed_text(name, was), ALERT_LIMIT))
    await show_list(query, subscriptions, catalog)


async def off(
    query: CallbackQuery,
    callback_data: SubCb,
    subscriptions: SubscriptionService,
    catalog: Catalog,
) -> None:
    """«Unsubscribe» under an announcement: one tap, then the buttons go."""
    was = await subscriptions.unsubscribe(query.from_user.id, callback_data.value)
    name = view.place_name(catalog.territory, callback_data.value, lang())
    await query.answer(shorten(view.unsubscribed_text(name, was), ALERT_LIMIT), show_alert=True)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def off_all(query: CallbackQuery, subscriptions: SubscriptionService) -> None:
    await subscriptions.unsubscribe_all(query.from_user.id)
    await query.answer(shorten(view.unsubscribed_all_text(), ALERT_LIMIT), show_alert=True)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)


async def preview_only(query: CallbackQuery) -> None:
    """The same buttons under the officials' preview: they belong to the citizens' copies."""
    await query.answer(_("This is a preview: the button works in the citizens' copies."))


def create_router() -> Router:
    router = Router(name="subscriptions")
    router.callback_query.filter(CallbackPrefix(SubCb))
    router.message.register(subscriptions, Command("subscribe"), PrivateChat())
    router.message.register(subscriptions, MenuButton("subscribe"), PrivateChat())
    router.callback_query.register(preview_only, ~PrivateChat())
    on = router.callback_query.register
    on(listed, SubCb.filter(F.action == "list"))
    on(add, SubCb.filter(F.action == "add"), KnownCitizen())
    on(region_chosen, SubCb.filter(F.action == "reg"), KnownCitizen())
    on(page, SubCb.filter(F.action == "page"))
    on(district_chosen, SubCb.filter(F.action == "dist"), KnownCitizen())
    on(removed, SubCb.filter(F.action == "del"))
    on(off, SubCb.filter(F.action == "off"))
    on(off_all, SubCb.filter(F.action == "offall"))
    on(noop, SubCb.filter(F.action == "noop"))
    on(stale, SubCb.filter())
    return router
