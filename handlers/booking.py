"""/book: reception → day → time → question → access needs → contact → review.

One handler per (step, button or input), each registered for its step; the step order and the
step of each button are in bot.domain.booking_steps. A booking's own buttons (under a reminder
or in /my: cancel it, move it) and a waiting-list offer need no dialog state."""

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

from bot.domain.booking_steps import (
    BUTTON_STEPS,
    first_step,
    next_step,
    previous_step,
    resume_step,
)
from bot.domain.dialogs import BOOKING, dialog_of
from bot.domain.receptions import Reception
from bot.domain.validation import check_booking_question
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
from bot.views.common import html
from bot.views.consent import ask_consent
from bot.views.my_appeals import status_label
from handlers.dialog import (
    MessageGone,
    back_to_menu,
    cancelled,
    choose_a_button,
    confirm_choice,
    noop,
    reply_labels,
    shared_phone,
    stale,
    step_of,
    typed_phone,
    unknown_command,
)
from handlers.dialog import current_lang as lang
from handlers.dialog import draft_of as dialog_draft
from i18n.formatting import long_date
from storage.bookings import Booking
from storage.models import Citizen

DRAFT = "booking"  # the draft's key in the FSM data (bot.domain.dialogs)


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


async def draft_of(state: FSMContext) -> tuple[dict[str, Any], dict[str, Any]]:
    return await dialog_draft(state, DRAFT)


async def show(
    step: str, message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    """Enter `step` and send its prompt."""
    _data, draft = await draft_of(state)
    await state.set_state(STATE_OF[step])
    reception = bookings.reception(draft.get("reception", ""))
    match step:
        case "reception":
            text, markup = view.receptions_screen(bookings.offered(), lang())
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


async def start_booking(
    message: Message,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    citizen: Citizen | None,
) -> None:
    current = await state.get_state()
    if dialog_of(current) == BOOKING:
        await message.answer(_("You have an unfinished booking, let us continue."))
        await show(resume_step(await step_of(state)), message, state, bookings, appeals)
        return
    receptions = bookings.offered()
    if not receptions:
        await message.answer(_("No receptions are scheduled at the moment."))
        return
    if citizen is None or citizen.consent_at is None:
        await ask_consent(message, then="book")
        return
    draft = {"draft_key": uuid.uuid4().hex}
    step = first_step(len(receptions))
    if step != "reception":  # one reception: it is chosen already
        draft["reception"] = receptions[0].code
    await state.set_data({DRAFT: draft})
    await show(step, message, state, bookings, appeals)


# --- Back and Cancel: valid at the step they carry ------------------------------------------


async def cancel_pressed(
    query: CallbackQuery, callback_data: BookingCb, state: FSMContext, menu: MainMenu
) -> None:
    if callback_data.value != await step_of(state) or not isinstance(query.message, Message):
        await stale(query)
        return
    await query.answer()
    await cancelled(query.message, state, BOOKING, menu, retire=True)


async def back_pressed(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    menu: MainMenu,
) -> None:
    step = await step_of(state)
    if callback_data.value != step or not isinstance(query.message, Message):
        await stale(query)
        return
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    previous = previous_step(step, len(bookings.offered()))
    if previous is None:
        await back_to_menu(query.message, state, menu)
        return
    await show(previous, query.message, state, bookings, appeals)


# --- a choice made with a button: kept in the chat, then the next step ------------------------


async def chosen(
    query: CallbackQuery,
    state: FSMContext,
    step: str,
    choice: dict[str, Any],
    label: str,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    """`choice` goes into the draft, `label` (HTML) stays in the chat, the next step shows."""
    assert isinstance(query.message, Message)  # MessageGone answered the others
    data, draft = await draft_of(state)
    draft.update(choice)
    await state.set_data(data)
    await confirm_choice(query, label)
    await show(next_step(step), query.message, state, bookings, appeals)


async def reception_chosen(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    reception = bookings.reception(callback_data.value)
    if reception is None:
        await stale(query)
        return
    label = html(reception.name(lang()))
    await chosen(query, state, "reception", {"reception": reception.code}, label, bookings, appeals)


def day_of(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


async def day_chosen(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    day = day_of(callback_data.value)
    if day is None:
        await stale(query)
        return
    label = long_date(day, lang())
    await chosen(query, state, "day", {"day": day.isoformat()}, label, bookings, appeals)


async def day_held(
    query: CallbackQuery, callback_data: BookingCb, state: FSMContext, bookings: BookingService
) -> None:
    _data, draft = await draft_of(state)
    await already_held(query, bookings, draft.get("reception", ""), callback_data.value)


async def waitlist_joined(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    menu: MainMenu,
) -> None:
    """A full day: the citizen waits for a place on it, and the dialog ends."""
    _data, draft = await draft_of(state)
    reception = bookings.reception(draft.get("reception", ""))
    day = day_of(callback_data.value)
    if reception is None or day is None or not isinstance(query.message, Message):
        await stale(query)
        return
    await query.answer()
    joined = await bookings.join_waitlist(query.from_user.id, reception, day)
    await state.clear()
    await query.message.edit_reply_markup(reply_markup=None)
    if joined:
        text = _(
            "You are on the waiting list for {date}. If a place frees up, I will offer "
            "it to you here."
        ).format(date=long_date(day, lang()))
    else:
        text = _("You are already on the waiting list or booked for that day.")
    await query.message.answer(text, reply_markup=menu.keyboard())


async def slot_chosen(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    start = view.slot_from_key(callback_data.value)
    if start is None:
        await stale(query)
        return
    local = bookings.local(start)
    label = f"{local:%H:%M}"
    await chosen(query, state, "slot", {"slot": local.isoformat()}, label, bookings, appeals)


async def about_appeal(query: CallbackQuery, appeals: AppealService) -> None:
    """«It is about my appeal…»: the question step lists the citizen's open appeals."""
    assert isinstance(query.message, Message)  # MessageGone answered the others
    await query.answer()
    text, markup = view.appeals_screen(await appeals.open_appeals_of(query.from_user.id))
    await query.message.edit_text(text, reply_markup=markup)


async def appeal_chosen(
    query: CallbackQuery,
    callback_data: BookingCb,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
) -> None:
    value = callback_data.value
    appeal = await appeals.own_appeal(int(value), query.from_user.id) if value.isdigit() else None
    if appeal is None:
        await stale(query)
        return
    label = f"№ {appeal.reference} · {status_label(appeal.status)}"
    choice = {"appeal_id": appeal.id, "topic": None}
    await chosen(query, state, "question", choice, label, bookings, appeals)


async def need_toggled(query: CallbackQuery, callback_data: BookingCb, state: FSMContext) -> None:
    assert isinstance(query.message, Message)  # MessageGone answered the others
    await query.answer()
    data, draft = await draft_of(state)
    needs = draft.setdefault("access", [])
    needs.remove(callback_data.value) if callback_data.value in needs else needs.append(
        callback_data.value
    )
    await state.set_data(data)
    _text, markup = view.access_screen(needs, draft.get("access_other"))
    await query.message.edit_reply_markup(reply_markup=markup)


async def other_need_asked(query: CallbackQuery, state: FSMContext) -> None:
    assert isinstance(query.message, Message)  # MessageGone answered the others
    await query.answer()
    await state.set_state(BookingForm.access_other)
    await query.message.answer(_("Please describe what you need, in one message."))


async def needs_done(
    query: CallbackQuery, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    _data, draft = await draft_of(state)
    label = _("Access needs: {value}").format(value=view.needs_text(draft))
    await chosen(query, state, "access", {}, label, bookings, appeals)


# --- what the citizen types ----------------------------------------------------------------


async def question_typed(
    message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    checked = check_booking_question(message.text)
    if checked.problem is not None:
        await message.answer(_("Please write from 10 to 1000 characters."))
        return
    data, draft = await draft_of(state)
    draft["topic"], draft["appeal_id"] = checked.text, None
    await state.set_data(data)
    await show(next_step("question"), message, state, bookings, appeals)


async def other_need_typed(
    message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    data, draft = await draft_of(state)
    draft["access_other"] = (message.text or "").strip()[:300] or None
    await state.set_data(data)
    await show(resume_step("access_other"), message, state, bookings, appeals)


async def contact_shared(
    message: Message, state: FSMContext, bookings: BookingService, appeals: AppealService
) -> None:
    phone = await shared_phone(message)
    if phone is None:
        return
    assert message.contact is not None
    name = " ".join(p for p in (message.contact.first_name, message.contact.last_name) if p)
    await save_contact(message, state, bookings, appeals, name, phone)


async def contact_typed(
    message: Message,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    menu: MainMenu,
) -> None:
    """The contact step's reply keyboard (Back, Cancel), or a number typed."""
    assert message.from_user is not None
    text = message.text or ""
    if text in reply_labels("✖️ Cancel"):
        await cancelled(message, state, BOOKING, menu)
        return
    if text in reply_labels("⬅️ Back"):
        previous = previous_step("contact", len(bookings.offered()))
        assert previous is not None
        await show(previous, message, state, bookings, appeals)
        return
    phone = await typed_phone(message, text)
    if phone is not None:
        await save_contact(message, state, bookings, appeals, message.from_user.full_name, phone)


async def save_contact(
    message: Message,
    state: FSMContext,
    bookings: BookingService,
    appeals: AppealService,
    name: str,
    phone: str,
) -> None:
    data, draft = await draft_of(state)
    draft["contact_name"], draft["contact_phone"] = name[:200], phone
    await state.set_data(data)
    await show(next_step("contact"), message, state, bookings, appeals)


# --- the review -------------------------------------------------------------------------------


async def confirm(
    query: CallbackQuery, callback_data: BookingCb, state: FSMContext, bookings: BookingService,
    appeals: AppealService, confirmations: Confirmations, menu: MainMenu,
) -> None:  # fmt: skip
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    data, draft = await draft_of(state)
    if await step_of(state) != "review" or draft.get("draft_key") != callback_data.value:
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
    if result.reason == "clash" and booking is not None:
        # Booked at another reception at that time: the citizen chooses another time.
        await query.answer(clash_text(bookings, booking), show_alert=True)
        draft.pop("slot", None)
        await state.set_data(data)
        await show("day", message, state, bookings, appeals)
        return
    # Someone took the last place a moment earlier: offer what is still free.
    await query.answer(_("That time was just taken. Please choose another."), show_alert=True)
    draft.pop("slot", None)
    await state.set_data(data)
    await show("day", message, state, bookings, appeals)


def clash_text(bookings: BookingService, other: Booking) -> str:
    """Plain text (an alert): the place at another reception the wanted time overlaps."""
    reception = bookings.reception(other.reception)
    name = reception.name(lang()) if reception is not None else other.reception
    name = name if len(name) <= 60 else name[:59] + "…"  # an alert holds 200 characters
    return _(
        "At that time you are already booked for another reception: {name}, {time}. "
        "Please choose another time."
    ).format(name=name, time=f"{bookings.local(other.slot_start):%d.%m %H:%M}")


def booked_text(bookings: BookingService) -> Callable[[Booking], str]:
    language = lang()

    def render(booking: Booking) -> str:
        reception = bookings.reception(booking.reception)
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


async def already_held(
    query: CallbackQuery, bookings: BookingService, reception_code: str, day_value: str
) -> None:
    """A day on which the citizen holds a place already: one place per session, so the day
    says so, and pressing it tells where to change that place."""
    reception = bookings.reception(reception_code)
    day = day_of(day_value)
    held = None
    if reception is not None and day is not None:
        held = await bookings.held_in_session(query.from_user.id, reception, day)
    if held is None:
        await stale(query)
        return
    start = bookings.local(held.slot_start)
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


# --- a booking's own buttons: cancel it (asked first) ---------------------------------------


async def cancel_asked(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    """«Cancel the booking» on a reminder or in /my asks first; `value` is where it was asked."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    await query.answer()
    text = bookings.describe(booking, reception, lang(), _("Cancel this booking?"))
    markup = view.cancel_question(booking.id, callback_data.value)
    await message.edit_text(text, reply_markup=markup)


async def cancel_declined(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    """«No»: the message is put back as it was."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    await query.answer(_("Nothing changed."))
    text, markup = booking_card(booking, reception, bookings, callback_data.value)
    await message.edit_text(text, reply_markup=markup)


async def cancel_confirmed(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, _reception = owned
    if await bookings.cancel(booking.id, query.from_user.id) is None:
        await query.answer(_("This booking is no longer active."), show_alert=True)
        return
    await query.answer()
    await message.edit_text(
        _("Your booking is cancelled. The place is free for others."), reply_markup=None
    )


# --- a booking's own buttons: move it -------------------------------------------------------
# Moving needs no dialog state: every button carries the booking it moves. The booking's
# message in /my turns into the days, then the times; Back and Cancel lead back.


async def move_days(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    """«Another time», or Back from the times: the days to move to."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    await query.answer()
    choices = await bookings.day_choices(reception, query.from_user.id, moving=booking)
    text, markup = view.days_screen(choices, lang(), move=booking.id)
    await message.edit_text(text, reply_markup=markup)


async def move_back(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    if callback_data.value == "day":  # Back from the times
        await move_days(query, callback_data, bookings)
        return
    await move_left(query, callback_data, bookings, None)


async def move_stopped(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    await move_left(query, callback_data, bookings, _("Nothing changed."))


async def move_left(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService, note: str | None
) -> None:
    """Cancel, or Back from the days: the booking as it was."""
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    await query.answer(note)
    text, markup = booking_card(booking, reception, bookings, "my")
    await message.edit_text(text, reply_markup=markup)


async def move_day_chosen(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    day = day_of(callback_data.value)
    if day is None:
        await stale(query)
        return
    await query.answer()
    slots = await bookings.free_slots(reception, day, excluding=booking.slot_start)
    text, markup = view.slots_screen(slots, day, lang(), move=booking.id)
    await message.edit_text(text, reply_markup=markup)


async def move_day_held(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService
) -> None:
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    _message, _booking, reception = owned
    await already_held(query, bookings, reception.code, callback_data.value)


async def move_slot_chosen(
    query: CallbackQuery, callback_data: BookingCb, bookings: BookingService, menu: MainMenu
) -> None:
    owned = await own_booking(query, callback_data.booking, bookings)
    if owned is None:
        return
    message, booking, reception = owned
    await query.answer()
    start = view.slot_from_key(callback_data.value)
    await move_to(message, booking, reception, bookings, start, menu)


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
    if result.reason == "clash" and result.booking is not None:
        await message.answer(clash_text(bookings, result.booking))
        return
    if result.booking is None or result.reason not in ("ok", "duplicate"):
        await message.answer(_("That time was just taken. Please choose another."))
        return
    # The time chosen stays in the chat, as at every step of the dialog.
    await message.edit_text(f"✔️ {bookings.local(start):%H:%M}", reply_markup=None)
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
    await state.set_data({DRAFT: draft})
    await show(next_step("slot"), message, state, bookings, appeals)


def on_button(router: Router, action: str, handler: Callable[..., Any]) -> None:
    """`handler` for the dialog's button `action`, at the step the table gives it only."""
    step = STATE_OF[BUTTON_STEPS[action]]
    router.callback_query.register(handler, StateFilter(step), BookingCb.filter(F.action == action))


def create_router() -> Router:
    router = Router(name="booking")
    router.message.filter(PrivateChat())
    router.callback_query.filter(CallbackPrefix(BookingCb))
    router.message.register(start_booking, Command("book"))
    router.message.register(start_booking, MenuButton("book"))
    # Buttons that carry what they act on: valid in any state.
    for action, handler in (
        ("confirm", confirm), ("take", take_offer),
        ("drop", cancel_asked), ("dropno", cancel_declined), ("dropok", cancel_confirmed),
        ("move", move_days), ("mback", move_back), ("mstop", move_stopped),
        ("mday", move_day_chosen), ("mheld", move_day_held), ("mslot", move_slot_chosen),
    ):  # fmt: skip
        router.callback_query.register(handler, BookingCb.filter(F.action == action))
    # The dialog's buttons: a message too old to edit gets a bare answer; a button of another
    # step than the citizen's finds no handler here and gets fallback's stale answer.
    router.callback_query.register(noop, MessageGone(), BookingCb.filter())
    buttons = Router(name="booking-buttons")
    buttons.callback_query.filter(StateFilter(BookingForm))
    buttons.callback_query.register(cancel_pressed, BookingCb.filter(F.action == "cancel"))
    buttons.callback_query.register(back_pressed, BookingCb.filter(F.action == "back"))
    on_button(buttons, "rec", reception_chosen)
    on_button(buttons, "day", day_chosen)
    on_button(buttons, "held", day_held)
    on_button(buttons, "wait", waitlist_joined)
    on_button(buttons, "slot", slot_chosen)
    on_button(buttons, "about", about_appeal)
    on_button(buttons, "appeal", appeal_chosen)
    on_button(buttons, "acc", need_toggled)
    on_button(buttons, "acc_other", other_need_asked)
    on_button(buttons, "acc_done", needs_done)
    # Messages inside the dialog: one state check lets every other message skip the steps.
    steps = Router(name="booking-steps")
    steps.message.filter(StateFilter(BookingForm))
    steps.message.register(unknown_command, IsCommand())
    steps.message.register(question_typed, StateFilter(BookingForm.question), Has("text"))
    steps.message.register(other_need_typed, StateFilter(BookingForm.access_other), Has("text"))
    steps.message.register(contact_shared, StateFilter(BookingForm.contact), Has("contact"))
    steps.message.register(contact_typed, StateFilter(BookingForm.contact), Has("text"))
    steps.message.register(choose_a_button)
    router.include_routers(buttons, steps)
    return router
