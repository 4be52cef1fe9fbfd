"""/book: reception → day → time → question → access needs → contact → review."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.dialogs import BOOKING
from bot.domain.receptions import Reception
from bot.domain.validation import kazakhstan_phone
from bot.services.appeals import AppealService
from bot.services.bookings import BookingService, booked
from bot.services.confirmations import Confirmations
from bot.telegram.callbacks import BookingCb
from bot.telegram.confirmations import forget_draft
from bot.telegram.confirmations import show as show_confirmation
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat
from bot.telegram.menu import MainMenu, MenuButton
from bot.views import appeal as appeal_view
from bot.views import booking as view
from bot.views.booking_notices import cancel_keyboard
from bot.views.common import html, in_every_language
from bot.views.consent import ask_consent
from bot.views.dialogs import cancelled_text
from bot.views.my_appeals import status_label
from i18n.formatting import long_date
from storage.bookings import Booking
from storage.models import Citizen

STEPS = ("reception", "day", "slot", "question", "access", "contact", "review")


class BookingForm(StatesGroup):
    reception = State()
    day = State()
    slot = State()
    question = State()
    access = State()
    access_other = State()
    contact = State()
    review = State()


STATE_OF = {s.state.split(":")[1]: s for s in BookingForm.__states__}  # type: ignore[union-attr]


def lang() -> str:
    return get_i18n().current_locale


async def current_step(state: FSMContext) -> str:
    return (await state.get_state() or "").split(":")[-1]


async def draft_of(state: FSMContext) -> tuple[dict[str, Any], dict[str, Any]]:
    data = await state.get_data()
    return data, data.setdefault("booking", {})


async def show(
    step: str, message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    """Enter `step` and send its prompt."""
    _data, draft = await draft_of(state)
    await state.set_state(STATE_OF[step])
    reception = bookings.receptions.get(draft.get("reception", ""))
    match step:
        case "reception":
            text, markup = view.receptions_screen(bookings.receptions.receptions, lang())
        case "day":
            assert reception is not None
            choices = await bookings.day_choices(reception, message.chat.id)
            text, markup = view.days_screen(choices, lang())
        case "slot":
            assert reception is not None
            day = date.fromisoformat(draft["day"])
            text, markup = view.slots_screen(await bookings.free_slots(reception, day), day, lang())
        case "question":
            assert message.chat is not None
            text, markup = view.question_screen(await appeals.open_appeals_of(message.chat.id))
        case "access":
            text, markup = view.access_screen(draft.get("access", []), draft.get("access_other"))
        case "contact":
            text, markup = appeal_view.contact_screen(  # type: ignore[assignment]
                _(
                    "Your name and phone number let the officials confirm the booking and reach "
                    "you if the time changes. Press the button to share your number, or type "
                    "it, e.g. +7 701 234 56 78."
                )
            )
        case _:
            assert reception is not None
            await message.answer(_("Almost done."), reply_markup=ReplyKeyboardRemove())
            appeal_ref = None
            if draft.get("appeal_id"):
                appeal = await appeals.own_appeal(int(draft["appeal_id"]), message.chat.id)
                appeal_ref = appeal.reference if appeal else None
            text, markup = view.review_screen(draft, reception, lang(), appeal_ref)
    await message.answer(text, reply_markup=markup)


def next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


def previous_step(step: str, bookings: BookingService) -> str | None:
    index = STEPS.index(step) - 1
    # One reception only: its step is never shown, so Back leaves from the day step.
    if index == 0 and len(bookings.receptions.receptions) == 1:
        return None
    return STEPS[index] if index >= 0 else None


async def start_booking(
    message: Message,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    citizen: Citizen | None,
) -> None:
    current = await state.get_state()
    if current and current.startswith("BookingForm:"):
        await message.answer(_("You have an unfinished booking, let us continue."))
        step = current.split(":")[1]
        await show("access" if step == "access_other" else step, message, state, bookings, appeals)
        return
    if not bookings.receptions.receptions:
        await message.answer(_("No receptions are scheduled at the moment."))
        return
    if citizen is None or citizen.consent_at is None:
        await ask_consent(message, then="book")
        return
    await state.set_data({"booking": {"draft_key": uuid.uuid4().hex}})
    receptions = bookings.receptions.receptions
    if len(receptions) == 1:
        await state.update_data(booking={"draft_key": uuid.uuid4().hex,
                                         "reception": receptions[0].code})  # fmt: skip
        await show("day", message, state, bookings, appeals)
        return
    await show("reception", message, state, bookings, appeals)


async def stale(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer active."), show_alert=True)


async def pressed(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    menu: MainMenu,
) -> None:
    """Every button of the dialog; each one is valid only at its own step."""
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    step = await current_step(state)
    data, draft = await draft_of(state)
    action, value = callback_data.action, callback_data.value
    expected = {
        "rec": "reception", "day": "day", "wait": "day", "held": "day", "slot": "slot",
        "about": "question",
        "appeal": "question", "acc": "access", "acc_other": "access", "acc_done": "access",
    }  # fmt: skip
    if action in ("back", "cancel"):
        if value != step:
            await stale(query)
            return
    elif expected.get(action) != step:
        await stale(query)
        return
    if action == "held":
        await already_held(query, bookings, draft.get("reception", ""), value)
        return
    await query.answer()
    match action:
        case "cancel":
            await state.clear()
            await message.edit_reply_markup(reply_markup=None)
            await message.answer(cancelled_text(BOOKING), reply_markup=menu.keyboard())
            return
        case "back":
            await message.edit_reply_markup(reply_markup=None)
            previous = previous_step(step, bookings)
            if previous is None:
                await state.clear()
                await message.answer(
                    _("You are back in the main menu."), reply_markup=menu.keyboard()
                )
                return
            await show(previous, message, state, bookings, appeals)
            return
        case "rec":
            reception = bookings.receptions.get(value)
            if reception is None:
                await stale(query)
                return
            draft["reception"] = reception.code
            label = html(reception.name(lang()))
        case "day":
            try:
                day = date.fromisoformat(value)
            except ValueError:
                await stale(query)
                return
            draft["day"] = day.isoformat()
            label = long_date(day, lang())
        case "wait":
            reception = bookings.receptions.get(draft.get("reception", ""))
            try:
                wanted: date | None = date.fromisoformat(value)
            except ValueError:
                wanted = None
            if reception is None or wanted is None:
                await stale(query)
                return
            day = wanted
            joined = await bookings.join_waitlist(query.from_user.id, reception, day)
            await state.clear()
            await message.edit_reply_markup(reply_markup=None)
            if joined:
                text = _(
                    "You are on the waiting list for {date}. If a place frees up, I will offer "
                    "it to you here."
                ).format(date=long_date(day, lang()))
            else:
                text = _("You are already on the waiting list or booked for that day.")
            await message.answer(text, reply_markup=menu.keyboard())
            return
        case "slot":
            start = view.slot_from_key(value)
            if start is None:
                await stale(query)
                return
            local = start.astimezone(bookings.tz)
            draft["slot"] = local.isoformat()
            label = f"{local:%H:%M}"
        case "about":
            text, markup = view.appeals_screen(await appeals.open_appeals_of(query.from_user.id))
            await message.edit_text(text, reply_markup=markup)
            return
        case "appeal":
            appeal = (
                await appeals.own_appeal(int(value), query.from_user.id)
                if value.isdigit()
                else None
            )
            if appeal is None:
                await stale(query)
                return
            draft["appeal_id"], draft["topic"] = appeal.id, None
            label = f"№ {appeal.reference} · {status_label(appeal.status)}"
        case "acc":
            chosen = draft.setdefault("access", [])
            chosen.remove(value) if value in chosen else chosen.append(value)
            await state.set_data(data)
            text, markup = view.access_screen(chosen, draft.get("access_other"))
            await message.edit_reply_markup(reply_markup=markup)
            return
        case "acc_other":
            await state.set_state(BookingForm.access_other)
            await message.answer(_("Please describe what you need, in one message."))
            return
        case _:  # acc_done
            label = _("Access needs: {value}").format(value=view.needs_text(draft))
    await state.set_data(data)
    await message.edit_text(f"✔️ {label}", reply_markup=None)
    await show(next_step(step), message, state, bookings, appeals)


async def question_typed(
    message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    text = (message.text or "").strip()
    if not 10 <= len(text) <= 1000:
        await message.answer(_("Please write from 10 to 1000 characters."))
        return
    data, draft = await draft_of(state)
    draft["topic"], draft["appeal_id"] = text, None
    await state.set_data(data)
    await show("access", message, state, bookings, appeals)


async def other_need_typed(
    message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    data, draft = await draft_of(state)
    draft["access_other"] = (message.text or "").strip()[:300] or None
    await state.set_data(data)
    await show("access", message, state, bookings, appeals)


async def contact_given(
    message: Message,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    menu: MainMenu,
) -> None:
    assert message.from_user is not None
    if message.contact is not None:
        if message.contact.user_id != message.from_user.id:
            await message.answer(_("Please share your own number with the button below."))
            return
        phone = "+" + message.contact.phone_number.lstrip("+")
        name = " ".join(p for p in (message.contact.first_name, message.contact.last_name) if p)
    else:
        text = message.text or ""
        if text in in_every_language("✖️ Cancel"):
            await state.clear()
            await message.answer(cancelled_text(BOOKING), reply_markup=menu.keyboard())
            return
        if text in in_every_language("⬅️ Back"):
            await show("access", message, state, bookings, appeals)
            return
        found = kazakhstan_phone(text)
        if found is None:
            await message.answer(
                _("This does not look like a Kazakhstan phone number. Example: +7 701 234 56 78.")
            )
            return
        phone, name = found, message.from_user.full_name
    data, draft = await draft_of(state)
    draft["contact_name"], draft["contact_phone"] = name[:200], phone
    await state.set_data(data)
    await show("review", message, state, bookings, appeals)


async def confirm(
    query: CallbackQuery, callback_data: BookingCb, state: FSMContext, bookings: BookingService,
    appeals: AppealService, confirmations: Confirmations, menu: MainMenu,
) -> None:  # fmt: skip
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    data, draft = await draft_of(state)
    if await current_step(state) != "review" or draft.get("draft_key") != callback_data.value:
        await booked_or_stale(query, message, callback_data.value, bookings, confirmations, menu)
        return
    render = booked_text(bookings)
    result = await bookings.book(query.from_user.id, lang(), draft, render)
    booking = result.booking
    if result.reason in ("ok", "duplicate") and booking is not None:
        await query.answer()
        await forget_draft(state)
        confirmation = booked(query.from_user.id, booking, render)
        again = result.reason == "duplicate"  # the same draft booked before
        await show_confirmation(message, confirmation, confirmations, menu=menu, again=again)
        return
    if result.reason == "already_booked_in_session":
        await query.answer(_("You already have a place at this session."), show_alert=True)
        return
    # Someone took the last place a moment earlier: offer what is still free.
    await query.answer(_("That time was just taken. Please choose another."), show_alert=True)
    draft.pop("slot", None)
    await state.set_data(data)
    await show("day", message, state, bookings, appeals)


def booked_text(bookings: BookingService) -> Callable[[Booking], str]:
    language = lang()

    def render(booking: Booking) -> str:
        reception = bookings.receptions.get(booking.reception)
        assert reception is not None
        heading = _("✅ You are booked for a reception.")
        text = bookings.describe(booking, reception, language, heading)
        reminders = _("I will remind you the day before and about two hours before.")
        return f"{text}\n\n{reminders}"

    return render


async def booked_or_stale(
    query: CallbackQuery,
    message: Message,
    draft_key: str,
    bookings: BookingService,
    confirmations: Confirmations,
    menu: MainMenu,
) -> None:
    """Confirm pressed again: the booking it made is shown again; any other is stale."""
    found = await bookings.booked_from(draft_key, query.from_user.id)
    if found is None:
        await stale(query)
        return
    booking, _reception = found
    await query.answer(_("You already have a place at this session."), show_alert=True)
    # An alert to a query that is too old never shows: the card says it in any case.
    confirmation = booked(query.from_user.id, booking, booked_text(bookings))
    await show_confirmation(message, confirmation, confirmations, menu=menu, again=True)


async def typed_at_button_step(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons."))


async def unknown_command(message: Message) -> None:
    await message.answer(_("Unknown command. /help lists what I can do."))


async def already_held(
    query: CallbackQuery, bookings: BookingService, reception_code: str, day_value: str
) -> None:
    """A day on which the citizen holds a place already: one place per session, so the day
    says so, and pressing it tells where to change that place."""
    reception = bookings.receptions.get(reception_code)
    try:
        day = date.fromisoformat(day_value)
    except ValueError:
        day = None
    held = None
    if reception is not None and day is not None:
        held = await bookings.held_in_session(query.from_user.id, reception, day)
    if held is None:
        await stale(query)
        return
    start = held.slot_start.astimezone(bookings.tz)
    await query.answer(
        _(
            "You already have a place at this session: {date}, {time}. /my shows it, with "
            "«Another time» and «Cancel the booking»."
        ).format(date=long_date(start.date(), lang()), time=f"{start:%H:%M}"),
        show_alert=True,
    )


async def own_booking(
    query: CallbackQuery, booking_id: int, bookings: BookingService
) -> tuple[Message, Booking, Reception] | None:
    """The message, the booking a button carries and its reception, if the booking is the
    presser's and still booked; otherwise they are told it is no longer active."""
    message = query.message
    found = await bookings.own_booking(booking_id, query.from_user.id)
    if not isinstance(message, Message) or found is None:
        await query.answer(_("This booking is no longer active."), show_alert=True)
        return None
    return message, *found


def booking_card(
    booking: Booking, reception: Reception, bookings: BookingService, origin: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The message a cancel or move started from, as it was: a reminder, or the booking in
    /my (origin "my", where it can also be moved)."""
    heading = _("🗓 Your booking") if origin == "my" else _("⏰ Reminder")
    text = bookings.describe(booking, reception, lang(), heading)
    return text, cancel_keyboard(booking.id, movable=origin == "my")


async def booking_cancel_pressed(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    """«Cancel the booking» on a reminder or in /my asks first (drop); «Yes» cancels
    (dropok), «No» puts the message back as it was (dropno)."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    origin = callback_data.value
    match callback_data.action:
        case "drop":
            await query.answer()
            heading = _("Cancel this booking?")
            text = bookings.describe(booking, reception, lang(), heading)
            await message.edit_text(text, reply_markup=view.cancel_question(booking.id, origin))
        case "dropno":
            await query.answer(_("Nothing changed."))
            text, markup = booking_card(booking, reception, bookings, origin)
            await message.edit_text(text, reply_markup=markup)
        case _:  # dropok
            if await bookings.cancel(booking.id, query.from_user.id) is None:
                await query.answer(_("This booking is no longer active."), show_alert=True)
                return
            await query.answer()
            await message.edit_text(
                _("Your booking is cancelled. The place is free for others."), reply_markup=None
            )


async def move_pressed(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService, menu: MainMenu
) -> None:
    """Moving needs no dialog state: every button carries the booking it moves. The booking's
    message in /my turns into the days, then the times; Back and Cancel lead back."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    action, value = callback_data.action, callback_data.value
    if action in ("mday", "mheld"):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            await stale(query)
            return
        if action == "mheld":
            await already_held(query, bookings, reception.code, value)
            return
    await query.answer(_("Nothing changed.") if action == "mstop" else None)
    if action == "mslot":
        await move_to(message, booking, reception, bookings, view.slot_from_key(value), menu)
        return
    if action == "mday":
        slots = await bookings.free_slots(reception, day, excluding=booking.slot_start)
        text, markup = view.slots_screen(slots, day, lang(), move=booking.id)
    elif action == "move" or (action == "mback" and value == "day"):
        choices = await bookings.day_choices(reception, query.from_user.id, moving=booking)
        text, markup = view.days_screen(choices, lang(), move=booking.id)
    else:  # Cancel, or Back from the days: the booking as it was
        text, markup = booking_card(booking, reception, bookings, "my")
    await message.edit_text(text, reply_markup=markup)


async def move_to(
    message: Message,
    booking: Booking,
    reception: Reception,
    bookings: BookingService,
    start: datetime | None,
    menu: MainMenu,
) -> None:
    # The time it holds now is never offered; a button for it is an old or a forged one.
    if start is None or start == booking.slot_start:
        await message.answer(_("That time was just taken. Please choose another."))
        return
    result = await bookings.move(booking.id, booking.citizen_id or 0, start)
    if result.booking is None or result.reason not in ("ok", "duplicate"):
        await message.answer(_("That time was just taken. Please choose another."))
        return
    # The time chosen stays in the chat, as at every step of the dialog.
    await message.edit_text(f"✔️ {start.astimezone(bookings.tz):%H:%M}", reply_markup=None)
    heading = _("🔁 Your booking is moved.")
    text = bookings.describe(result.booking, reception, lang(), heading)
    await message.answer(text, reply_markup=menu.keyboard())


async def take_offer(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    """«Take the place» from a waitlist offer: the dialog resumes with the place held."""
    message = query.message
    offer_id = int(callback_data.value) if callback_data.value.isdigit() else 0
    held = await bookings.offer_for(offer_id, query.from_user.id)
    if not isinstance(message, Message) or held is None:
        await query.answer(_("This offer has expired."), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    reception, start = held
    draft = {
        "draft_key": uuid.uuid4().hex, "reception": reception.code,
        "day": start.date().isoformat(), "slot": start.isoformat(), "offer_id": offer_id,
    }  # fmt: skip
    await state.set_data({"booking": draft})
    await show("question", message, state, bookings, appeals)


def create_router() -> Router:
    router = Router(name="booking")
    router.message.filter(PrivateChat())
    router.callback_query.filter(CallbackPrefix(BookingCb))
    router.message.register(start_booking, Command("book"))
    router.message.register(start_booking, MenuButton("book"))
    router.callback_query.register(confirm, BookingCb.filter(F.action == "confirm"))
    router.callback_query.register(take_offer, BookingCb.filter(F.action == "take"))
    router.callback_query.register(
        booking_cancel_pressed, BookingCb.filter(F.action.in_({"drop", "dropok", "dropno"}))
    )
    router.callback_query.register(
        move_pressed,
        BookingCb.filter(F.action.in_({"move", "mday", "mslot", "mback", "mstop", "mheld"})),
    )
    router.callback_query.register(pressed, BookingCb.filter())
    # Messages inside the dialog: one state check lets every other message skip the steps.
    steps = Router(name="booking-steps")
    steps.message.filter(StateFilter(BookingForm))
    steps.message.register(unknown_command, IsCommand())
    steps.message.register(question_typed, StateFilter(BookingForm.question), Has("text"))
    steps.message.register(other_need_typed, StateFilter(BookingForm.access_other), Has("text"))
    steps.message.register(contact_given, StateFilter(BookingForm.contact), Has("text", "contact"))
    steps.message.register(typed_at_button_step)
    router.include_router(steps)
    return router
