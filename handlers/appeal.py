"""The appeal dialog: kind → category → region → district → text → files → location →
full name → phone → address for a written answer → review. Each step parses input, updates
the draft in FSM data and shows the next."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog, Territory
from bot.domain.dialogs import APPEAL, dialog_of
from bot.domain.validation import (
    TextProblem,
    check_appeal_text,
    check_full_name,
    check_reply_address,
)
from bot.domain.wizard import (
    autofill,
    first_step,
    name_suggestion,
    next_step,
    previous_step,
    step_asking,
)
from bot.services.appeals import (
    AppealService,
    DailyLimitReached,
    IncompleteDraft,
    Render,
    registration,
)
from bot.services.confirmations import Confirmations
from bot.telegram.callbacks import WizardCb
from bot.telegram.confirmations import forget_draft
from bot.telegram.confirmations import show as show_confirmation
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat
from bot.telegram.menu import MainMenu, MenuButton
from bot.views import appeal as view
from bot.views import limits as limits_view
from bot.views.common import html
from bot.views.consent import ask_consent
from handlers.dialog import (
    album_already_answered,
    attachment_of,
    back_to_menu,
    cancelled,
    choose_a_button,
    confirm_choice,
    current_lang,
    file_refusal,
    noop,
    reply_labels,
    shared_phone,
    stale,
    step_of,
    typed_phone,
    unknown_command,
)
from handlers.dialog import draft_of as dialog_draft
from i18n.formatting import long_date
from storage.models import Citizen

log = logging.getLogger(__name__)


class AppealForm(StatesGroup):
    kind = State()
    category = State()
    region = State()
    district = State()
    text = State()
    attachments = State()
    location = State()
    name = State()
    contact = State()
    address = State()
    review = State()


STATE_OF = {s.state.split(":")[1]: s for s in AppealForm.__states__}  # type: ignore[union-attr]


DRAFT = "draft"  # the draft's key in the FSM data (bot.domain.dialogs)


async def draft_of(state: FSMContext) -> tuple[dict[str, Any], dict[str, Any]]:
    return await dialog_draft(state, DRAFT)


async def show(
    step: str, message: Message, state: FSMContext, catalog: Catalog, lead: str = ""
) -> None:
    """Enter `step` and send its prompt as a new message; `lead` (HTML) opens it, so that
    "✔️ what was chosen" and the next question arrive as one message."""
    _data, draft = await draft_of(state)
    lang = current_lang()
    await state.set_state(STATE_OF[step])
    match step:
        case "kind":
            text, markup = view.kind_screen(catalog, lang)
        case "category":
            text, markup = view.category_screen(catalog, lang)
        case "region":
            text, markup = view.places_screen(step, catalog.territory.regions, lang, 0)
        case "district":
            districts = catalog.territory.districts_of(draft["region"])
            text, markup = view.places_screen(step, districts, lang, 0)
        case "text":
            text, markup = view.text_screen(catalog)
        case "attachments":
            text, markup = view.attachments_screen(catalog, len(draft.get("attachments", [])))
        case "location":
            text, markup = view.location_screen()
        case "name":
            suggested, from_telegram = name_suggestion(draft)
            text, markup = view.name_screen(suggested, from_telegram=from_telegram)
        case "contact":
            text, markup = view.contact_screen(
                _(
                    "And your phone number, so that the akimat can reach you. Press the button "
                    "to share it, or type it, e.g. +7 701 234 56 78."
                )
            )
        case "address":
            text, markup = view.address_screen(draft.get("contact_address"))
        case _:
            # Reply keyboards (location, contact) cannot share a message with inline buttons.
            almost = _("Almost done.")
            await message.answer(
                f"{lead}\n\n{almost}" if lead else almost, reply_markup=ReplyKeyboardRemove()
            )
            lead = ""
            text = view.review_text(draft, catalog, lang)
            markup = view.review_keyboard(draft["draft_key"])
    await message.answer(f"{lead}\n\n{text}" if lead else text, reply_markup=markup)


async def advance(
    step: str, message: Message, state: FSMContext, catalog: Catalog, lead: str = ""
) -> None:
    data, draft = await draft_of(state)
    editing = bool(data.get("editing"))
    following = next_step(step, draft, catalog, editing)
    if following == "review":
        data["editing"] = False
    await state.set_data(data)
    await show(following, message, state, catalog, lead)


async def start_wizard(message: Message, state: FSMContext, catalog: Catalog) -> None:
    # In a private chat the chat is the citizen, under the bot's own message (a button press)
    # too: its name is the one in their Telegram profile, offered later at the name step.
    draft = {"draft_key": uuid.uuid4().hex, "profile_name": message.chat.full_name}
    await state.set_data({"draft": draft})
    await show(first_step(), message, state, catalog)


# --- entering -------------------------------------------------------------------------


async def new_appeal(
    message: Message,
    state: FSMContext,
    catalog: Catalog,
    citizen: Citizen | None,
    appeals: AppealService,
    tz: ZoneInfo,
) -> None:
    if dialog_of(await state.get_state()) == APPEAL:
        # A draft in hand is the citizen's to finish; confirm checks the day's limit.
        await message.answer(_("You have an unfinished appeal, let us continue."))
        await show(await step_of(state), message, state, catalog)
        return
    if citizen is None or citizen.consent_at is None:
        await ask_consent(message, then="new")
        return
    if await over_daily_limit(message, appeals, tz):
        return
    await start_wizard(message, state, catalog)


async def over_daily_limit(message: Message, appeals: AppealService, tz: ZoneInfo) -> bool:
    """Tell the citizen when they may file again, if they have filed as many appeals as a
    day allows. `message` is in their private chat (the bot's own, under a button, too)."""
    reopens_at = await appeals.next_filing_at(message.chat.id)
    if reopens_at is None:
        return False
    await tell_daily_limit(message, appeals, reopens_at, tz)
    return True


async def tell_daily_limit(
    message: Message, appeals: AppealService, reopens_at: datetime, tz: ZoneInfo, lead: str = ""
) -> None:
    per_day = appeals.appeals_per_day()
    assert per_day is not None  # it was reached
    text = limits_view.appeals_limit(per_day, reopens_at, tz, current_lang())
    await message.answer(f"{text}\n\n{lead}" if lead else text)


# --- navigation -------------------------------------------------------------------------


async def cancel_button(
    query: CallbackQuery, callback_data: WizardCb, state: FSMContext, menu: MainMenu
) -> None:
    if callback_data.value != await step_of(state):
        # A Cancel left on an earlier prompt must not throw away the draft in hand.
        await stale(query)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await cancelled(query.message, state, APPEAL, menu, retire=True)
    else:
        await state.clear()


async def go_back(
    step: str, message: Message, state: FSMContext, catalog: Catalog, menu: MainMenu
) -> None:
    data, draft = await draft_of(state)
    data["editing"] = False
    await state.set_data(data)
    previous = previous_step(step, draft, catalog)
    if previous is None:
        await back_to_menu(message, state, menu)
        return
    await show(previous, message, state, catalog)


async def back_button(
    query: CallbackQuery,
    callback_data: WizardCb,
    state: FSMContext,
    catalog: Catalog,
    menu: MainMenu,
) -> None:
    step = await step_of(state)
    if callback_data.value != step:
        await stale(query)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await go_back(step, query.message, state, catalog, menu)


# --- kind and category ------------------------------------------------------------------


async def listed_choice(
    query: CallbackQuery, callback_data: WizardCb, state: FSMContext, catalog: Catalog
) -> None:
    """A kind or a category picked from the catalog's buttons."""
    step = "kind" if callback_data.action == "kind" else "category"
    lookup = catalog.kind if step == "kind" else catalog.category
    item = lookup(callback_data.value)
    if item is None or not isinstance(query.message, Message):
        await stale(query)
        return
    data, draft = await draft_of(state)
    draft[step] = item.code
    await state.set_data(data)
    name = html(item.name(current_lang()))
    label = _("Kind: {value}") if step == "kind" else _("Category: {value}")
    await confirm_choice(query, label.format(value=name))
    await advance(step, query.message, state, catalog)


async def expected_button(message: Message, state: FSMContext, catalog: Catalog) -> None:
    if await album_already_answered(message, state):
        return
    await choose_a_button(message)
    step = await step_of(state)
    await show(step, message, state, catalog)


# --- region and district ----------------------------------------------------------------


def places_for(step: str, draft: dict[str, Any], territory: Territory) -> tuple[Any, ...]:
    if step == "region":
        return territory.regions
    return territory.districts_of(draft.get("region", ""))


async def places_page(
    query: CallbackQuery, callback_data: WizardCb, state: FSMContext, catalog: Catalog
) -> None:
    step = await step_of(state)
    wanted, _sep, page = callback_data.value.partition(".")
    valid = page.isascii() and page.isdigit()
    if wanted != step or not valid or not isinstance(query.message, Message):
        await stale(query)
        return
    _data, draft = await draft_of(state)
    places = places_for(step, draft, catalog.territory)
    text, markup = view.places_screen(step, places, current_lang(), int(page))
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)


async def place_chosen(
    query: CallbackQuery, callback_data: WizardCb, state: FSMContext, catalog: Catalog
) -> None:
    step = "region" if callback_data.action == "reg" else "district"
    data, draft = await draft_of(state)
    places = places_for(step, draft, catalog.territory)
    place = next((p for p in places if p.code == callback_data.value), None)
    if place is None or not isinstance(query.message, Message):
        await stale(query)
        return
    await confirm_choice(query, html(place.name(current_lang())))
    await choose_place(step, place.code, query.message, state, catalog, data)


async def choose_place(
    step: str,
    code: str,
    message: Message,
    state: FSMContext,
    catalog: Catalog,
    data: dict[str, Any],
    lead: str = "",
) -> None:
    draft = data["draft"]
    if step == "region" and draft.get("region") != code:
        draft.pop("district", None)
    draft[step] = code
    if step == "region":
        autofill("district", draft, catalog)
    await state.set_data(data)
    await advance(step, message, state, catalog, lead)


async def place_typed(message: Message, state: FSMContext, catalog: Catalog) -> None:
    step = await step_of(state)
    data, draft = await draft_of(state)
    places = places_for(step, draft, catalog.territory)
    query = (message.text or "")[:100]
    found = Territory.search(places, query)
    if len(found) == 1:
        lead = f"✔️ {html(found[0].name(current_lang()))}"
        await choose_place(step, found[0].code, message, state, catalog, data, lead)
        return
    if found:
        note = _("Found several — choose one:")
    else:
        note = _("Nothing found for «{query}».").format(query=html(query[:50]))
        found = list(places)
    text, markup = view.places_screen(step, found, current_lang(), 0, note=note)
    await message.answer(text, reply_markup=markup)


async def place_not_text(message: Message, state: FSMContext) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(_("Please choose with the buttons or type part of the name."))


# --- text -------------------------------------------------------------------------------


async def text_given(message: Message, state: FSMContext, catalog: Catalog) -> None:
    raw = message.text or message.caption or ""
    checked = check_appeal_text(raw, catalog.limits)
    if checked.problem is not None and await album_already_answered(message, state):
        return
    if checked.problem is TextProblem.TOO_SHORT:
        await message.answer(
            _(
                "That is too short. Please describe the problem in at least {min} characters."
            ).format(min=catalog.limits.text_min)
        )
        return
    if checked.problem is TextProblem.TOO_LONG:
        await message.answer(
            _(
                "That is too long: {length} characters, the limit is {max}. Please shorten it."
            ).format(length=len(checked.text), max=catalog.limits.text_max)
        )
        return
    data, draft = await draft_of(state)
    draft["text"] = checked.text
    # A photo sent with its description counts as the first attachment; a file that cannot
    # be attached is left out (and the citizen told why), its caption is the text all the same.
    attachment = attachment_of(message)
    refusal = file_refusal(message)
    if refusal is not None:
        await message.answer(refusal)
        attachment = None
    if attachment and attachment not in draft.setdefault("attachments", []):
        draft["attachments"].append(attachment)
    await state.set_data(data)
    await advance("text", message, state, catalog)


async def text_expected(message: Message, state: FSMContext, catalog: Catalog) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(
        _(
            "Please describe the problem in words, as a text message (at least {min} characters)."
        ).format(min=catalog.limits.text_min)
    )


# --- attachments ------------------------------------------------------------------------


async def attachment_given(message: Message, state: FSMContext, catalog: Catalog) -> None:
    refusal = file_refusal(message)
    if refusal is not None:
        await message.answer(refusal)
        return
    data, draft = await draft_of(state)
    files = draft.setdefault("attachments", [])
    most = catalog.limits.attachments_max
    if len(files) >= most:
        if not await album_already_answered(message, state):
            await message.answer(
                _("You can attach at most {max} files. Press «Done» to go on.").format(max=most)
            )
        return
    attachment = attachment_of(message)
    if attachment and attachment not in files:
        files.append(attachment)
    await state.set_data(data)
    text, markup = view.attachments_screen(catalog, len(files))
    await message.answer(text, reply_markup=markup)


async def attachments_done(query: CallbackQuery, state: FSMContext, catalog: Catalog) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await advance("attachments", query.message, state, catalog)


async def attachment_expected(message: Message, state: FSMContext, catalog: Catalog) -> None:
    _data, draft = await draft_of(state)
    await message.answer(_("Please send a photo or a document, or press the button below."))
    text, markup = view.attachments_screen(catalog, len(draft.get("attachments", [])))
    await message.answer(text, reply_markup=markup)


# --- reply-keyboard navigation for the location and contact steps -----------------------


async def reply_navigation(
    message: Message, state: FSMContext, catalog: Catalog, menu: MainMenu
) -> None:
    """Text at a step drawn with a reply keyboard: its Back and Cancel, or the step's input."""
    step = await step_of(state)
    text = message.text or ""
    if text in reply_labels("✖️ Cancel"):
        await cancelled(message, state, APPEAL, menu)
    elif text in reply_labels("⬅️ Back"):
        await go_back(step, message, state, catalog, menu)
    elif step == "location" and text in reply_labels("Skip"):
        data, draft = await draft_of(state)
        draft.pop("latitude", None)
        draft.pop("longitude", None)
        await state.set_data(data)
        await advance(step, message, state, catalog)
    elif step == "location":
        await message.answer(_("Press «📍 Send location», or «Skip»."))
    elif step == "name":
        await name_typed(message, state, catalog, text)
    elif step == "address":
        await address_typed(message, state, catalog, text)
    else:
        await phone_typed(message, state, catalog, text)


async def location_given(message: Message, state: FSMContext, catalog: Catalog) -> None:
    assert message.location is not None
    data, draft = await draft_of(state)
    draft["latitude"] = message.location.latitude
    draft["longitude"] = message.location.longitude
    await state.set_data(data)
    await advance("location", message, state, catalog)


async def location_expected(message: Message, state: FSMContext) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(_("Press «📍 Send location», or «Skip»."))


# --- full name --------------------------------------------------------------------------


async def name_typed(message: Message, state: FSMContext, catalog: Catalog, text: str) -> None:
    data, draft = await draft_of(state)
    if text in reply_labels("✅ Correct"):
        suggested, _from_telegram = name_suggestion(draft)
        # A «Correct» left on an older keyboard, with nothing to confirm: ask to type it.
        text = suggested or ""
    checked = check_full_name(text)
    if checked.problem is not None:
        await message.answer(view.name_problem_text(checked.problem))
        return
    draft["contact_name"] = checked.name
    await state.set_data(data)
    await advance("name", message, state, catalog)


async def name_expected(message: Message, state: FSMContext) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(_("Please type your full name as text."))


# --- address for a written answer -------------------------------------------------------


async def address_typed(message: Message, state: FSMContext, catalog: Catalog, text: str) -> None:
    data, draft = await draft_of(state)
    if text in reply_labels("Skip"):
        draft.pop("contact_address", None)
        draft.pop("contact_address_kind", None)
    else:
        checked = check_reply_address(text)
        if checked.problem is not None:
            await message.answer(view.address_problem_text(checked.problem))
            return
        draft["contact_address"] = checked.address
        draft["contact_address_kind"] = checked.kind.value
    await state.set_data(data)
    await advance("address", message, state, catalog)


async def address_expected(message: Message, state: FSMContext) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(_("Please send the address as text, or press «Skip»."))


# --- contact ----------------------------------------------------------------------------


async def contact_shared(message: Message, state: FSMContext, catalog: Catalog) -> None:
    phone = await shared_phone(message)
    if phone is not None:
        await save_contact(message, state, catalog, phone)


async def phone_typed(message: Message, state: FSMContext, catalog: Catalog, text: str) -> None:
    phone = await typed_phone(message, text)
    if phone is not None:
        await save_contact(message, state, catalog, phone)


async def save_contact(message: Message, state: FSMContext, catalog: Catalog, phone: str) -> None:
    data, draft = await draft_of(state)
    draft["contact_phone"] = phone
    await state.set_data(data)
    await advance("contact", message, state, catalog)


async def contact_expected(message: Message, state: FSMContext) -> None:
    if await album_already_answered(message, state):
        return
    await message.answer(_("Press «📱 Share my phone number», or type the number."))


# --- review -----------------------------------------------------------------------------


async def edit_menu(query: CallbackQuery) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=view.edit_keyboard())


async def back_to_review(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    _data, draft = await draft_of(state)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=view.review_keyboard(draft["draft_key"]))


async def edit_field(
    query: CallbackQuery, callback_data: WizardCb, state: FSMContext, catalog: Catalog
) -> None:
    if callback_data.value not in STATE_OF or not isinstance(query.message, Message):
        await stale(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    data = await state.get_data()
    data["editing"] = True
    await state.set_data(data)
    step = callback_data.value
    if step == "region" and autofill("region", data["draft"], catalog):
        step = "district"
    await show(step, query.message, state, catalog)


async def confirm(
    query: CallbackQuery,
    callback_data: WizardCb,
    state: FSMContext,
    appeals: AppealService,
    catalog: Catalog,
    confirmations: Confirmations,
    tz: ZoneInfo,
    menu: MainMenu,
) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    data = await state.get_data()
    draft = data.get("draft", {})
    in_review = await state.get_state() == AppealForm.review.state
    if not in_review or draft.get("draft_key") != callback_data.value:
        await already_filed_or_stale(
            query, callback_data.value, appeals, catalog, confirmations, tz, menu
        )
        return
    render = registration_text(catalog, tz)
    try:
        filed = await appeals.file(query.from_user.id, current_lang(), draft, render)
    except DailyLimitReached as reached:
        # The draft stays, in review with its buttons, for when the day's limit allows.
        await query.answer()
        await tell_daily_limit(
            query.message, appeals, reached.reopens_at, tz, lead=limits_view.draft_kept()
        )
        return
    except IncompleteDraft as exc:
        log.warning("incomplete draft from %s: %s", query.from_user.id, exc.missing)
        await query.answer()
        # A draft from before a step was added (the full name): that step, then the review.
        data["editing"] = True
        await state.set_data(data)
        await show(step_asking(exc.missing[0]), query.message, state, catalog)
        return
    await query.answer()
    await forget_draft(state)
    appeal = filed.appeal
    registered = registration(
        query.from_user.id, appeal.reference, appeal.kind, appeal.due_at, render
    )
    again = not filed.created
    await show_confirmation(query.message, registered, confirmations, menu=menu, again=again)


def registration_text(catalog: Catalog, tz: ZoneInfo) -> Render:
    lang = current_lang()

    def render(reference: str, kind_code: str, due_at: datetime) -> str:
        kind = catalog.kind(kind_code)
        assert kind is not None
        period = ngettext_days(kind.days, working=kind.day_type == "working")
        return _(
            "✅ Your appeal has been registered.\n"
            "Registration number: <b>{reference}</b>\n"
            "Deadline for reply: <b>{due}</b> ({period} from registration).\n"
            "You will get the answer here. /my shows the status."
        ).format(
            reference=reference,
            due=long_date(due_at.astimezone(tz).date(), lang),
            period=period,
        )

    return render


def ngettext_days(n: int, *, working: bool) -> str:
    from i18n.core import ngettext

    if working:
        return ngettext("{n} working day", "{n} working days", n).format(n=n)
    return ngettext("{n} calendar day", "{n} calendar days", n).format(n=n)


async def already_filed_or_stale(
    query: CallbackQuery,
    draft_key: str,
    appeals: AppealService,
    catalog: Catalog,
    confirmations: Confirmations,
    tz: ZoneInfo,
    menu: MainMenu,
) -> None:
    appeal = await appeals.filed_from(draft_key)
    if appeal is None or appeal.citizen_id != query.from_user.id:
        await stale(query)
        return
    await query.answer(
        _("This appeal is already registered: {reference}.").format(reference=appeal.reference),
        show_alert=True,
    )
    # An alert to a query that is too old never shows: the card says it in any case.
    if isinstance(query.message, Message):
        render = registration_text(catalog, tz)
        registered = registration(
            query.from_user.id, appeal.reference, appeal.kind, appeal.due_at, render
        )
        await show_confirmation(query.message, registered, confirmations, menu=menu, again=True)


def create_router() -> Router:
    router = Router(name="appeal")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat(), CallbackPrefix(WizardCb))
    router.message.register(new_appeal, Command("new"))
    router.message.register(new_appeal, MenuButton("new"))
    router.callback_query.register(noop, WizardCb.filter(F.action == "noop"))
    router.callback_query.register(
        cancel_button, WizardCb.filter(F.action == "cancel"), StateFilter(AppealForm)
    )
    router.callback_query.register(
        back_button, WizardCb.filter(F.action == "back"), StateFilter(AppealForm)
    )
    router.callback_query.register(
        listed_choice, WizardCb.filter(F.action == "kind"), StateFilter(AppealForm.kind)
    )
    router.callback_query.register(
        listed_choice, WizardCb.filter(F.action == "cat"), StateFilter(AppealForm.category)
    )
    router.callback_query.register(
        places_page, WizardCb.filter(F.action == "page"), StateFilter(AppealForm.region)
    )
    router.callback_query.register(
        places_page, WizardCb.filter(F.action == "page"), StateFilter(AppealForm.district)
    )
    router.callback_query.register(
        place_chosen, WizardCb.filter(F.action == "reg"), StateFilter(AppealForm.region)
    )
    router.callback_query.register(
        place_chosen, WizardCb.filter(F.action == "dist"), StateFilter(AppealForm.district)
    )
    router.callback_query.register(
        attachments_done,
        WizardCb.filter(F.action.in_({"done", "skip"})),
        StateFilter(AppealForm.attachments),
    )
    router.callback_query.register(
        edit_menu, WizardCb.filter(F.action == "edit"), StateFilter(AppealForm.review)
    )
    router.callback_query.register(
        back_to_review, WizardCb.filter(F.action == "review"), StateFilter(AppealForm.review)
    )
    router.callback_query.register(
        edit_field, WizardCb.filter(F.action == "field"), StateFilter(AppealForm.review)
    )
    router.callback_query.register(confirm, WizardCb.filter(F.action == "confirm"))
    # Messages inside the dialog: one state check lets every other message skip the steps.
    steps = Router(name="appeal-steps")
    steps.message.filter(StateFilter(AppealForm))
    steps.message.register(unknown_command, IsCommand())
    steps.message.register(
        expected_button, StateFilter(AppealForm.kind, AppealForm.category, AppealForm.review)
    )
    steps.message.register(place_typed, StateFilter(AppealForm.region), Has("text"))
    steps.message.register(place_typed, StateFilter(AppealForm.district), Has("text"))
    steps.message.register(place_not_text, StateFilter(AppealForm.region))
    steps.message.register(place_not_text, StateFilter(AppealForm.district))
    steps.message.register(text_given, StateFilter(AppealForm.text), Has("text", "caption"))
    steps.message.register(text_expected, StateFilter(AppealForm.text))
    steps.message.register(
        attachment_given, StateFilter(AppealForm.attachments), Has("photo", "document")
    )
    steps.message.register(attachment_expected, StateFilter(AppealForm.attachments))
    steps.message.register(
        reply_navigation,
        StateFilter(AppealForm.location, AppealForm.name, AppealForm.contact, AppealForm.address),
        Has("text"),
    )
    steps.message.register(location_given, StateFilter(AppealForm.location), Has("location"))
    steps.message.register(location_expected, StateFilter(AppealForm.location))
    steps.message.register(name_expected, StateFilter(AppealForm.name))
    steps.message.register(address_expected, StateFilter(AppealForm.address))
    steps.message.register(contact_shared, StateFilter(AppealForm.contact), Has("contact"))
    steps.message.register(contact_expected, StateFilter(AppealForm.contact))
    router.include_router(steps)
    return router
