"""A citizen's buttons under a meeting with residents (issue #13): «I will come» (the access
needs, as a booking asks them, then «Confirm»; pressed again, it shows the registration with
«I won't come after all») and «Ask a question in advance» (one of the meeting's topics or
another, then the question in one message).

The «I will come» screens carry everything in their buttons, so they need no dialog state and
never disturb an appeal or a booking in progress; the question waits for one message in a state
of its own, which a dialog in progress must be finished or cancelled before.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.announcements import MeetingFieldProblem, check_question, topic_of
from bot.domain.dialogs import dialog_of
from bot.services.outreach import Coming, MeetingService
from bot.telegram.callbacks import MeetCb
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat
from bot.telegram.menu import menu_key
from bot.views import outreach as view
from bot.views.common import ALERT_LIMIT, shorten
from handlers.dialog import stale
from handlers.subscriptions import KnownCitizen, preview_only

ASKING = "meeting_question"


class MeetingQuestionForm(StatesGroup):
    text = State()


class NotMenu(Filter):
    """A main-menu button is no question: it goes on to its own handler."""

    async def __call__(self, message: Message) -> bool:
        return menu_key(message.text) is None


def lang() -> str:
    return get_i18n().current_locale


def where(query: CallbackQuery) -> Message:
    assert isinstance(query.message, Message)  # PrivateChat made sure
    return query.message


async def come(
    query: CallbackQuery, callback_data: MeetCb, meetings: MeetingService, tz: tzinfo
) -> None:
    """«I will come»: the access needs, or, for one who said so already, their registration."""
    meeting, ahead = await meetings.open_meeting(callback_data.meeting)
    if meeting is None:
        await stale(query)
        return
    if not ahead:
        await query.answer(view.meeting_over_text(meeting), show_alert=True)
        return
    await query.answer()
    attendance = await meetings.attendance(meeting.id, query.from_user.id)
    if attendance is not None:
        text, markup = view.registered_screen(meeting, attendance, tz, lang())
    else:
        text, markup = view.come_screen(meeting.id, ())
    await where(query).answer(text, reply_markup=markup)


async def need_toggled(query: CallbackQuery, callback_data: MeetCb) -> None:
    await query.answer()
    chosen = view.chosen_needs(callback_data.value)
    text, markup = view.come_screen(callback_data.meeting, chosen)
    await where(query).edit_text(text, reply_markup=markup)


async def confirmed(
    query: CallbackQuery, callback_data: MeetCb, meetings: MeetingService, tz: tzinfo
) -> None:
    needs = view.chosen_needs(callback_data.value)
    result = await meetings.come(callback_data.meeting, query.from_user.id, needs, lang())
    if result == Coming.UNKNOWN:
        await stale(query)
        return
    meeting = await meetings.meeting(callback_data.meeting)
    if result == Coming.OVER:
        await query.answer(view.meeting_over_text(meeting), show_alert=True)
        return
    await query.answer()
    attendance = await meetings.attendance(callback_data.meeting, query.from_user.id)
    if meeting is None or attendance is None:  # withdrawn meanwhile, on another screen
        await stale(query)
        return
    # A second «Confirm» (a double tap, an old screen) shows the registration as it stands.
    text, markup = view.registered_screen(meeting, attendance, tz, lang())
    await where(query).edit_text(text, reply_markup=markup)


async def withdrawn(query: CallbackQuery, callback_data: MeetCb, meetings: MeetingService) -> None:
    was = await meetings.withdraw(callback_data.meeting, query.from_user.id)
    await query.answer()
    await where(query).edit_text(view.withdrawn_text(was))


async def ask(query: CallbackQuery, callback_data: MeetCb, meetings: MeetingService) -> None:
    meeting, ahead = await meetings.open_meeting(callback_data.meeting)
    if meeting is None:
        await stale(query)
        return
    if not ahead:
        await query.answer(view.meeting_over_text(meeting), show_alert=True)
        return
    await query.answer()
    text, markup = view.topics_screen(meeting)
    await where(query).answer(text, reply_markup=markup)


async def topic_chosen(
    query: CallbackQuery, callback_data: MeetCb, state: FSMContext, meetings: MeetingService
) -> None:
    meeting, ahead = await meetings.open_meeting(callback_data.meeting)
    details = meeting.meeting if meeting is not None else None
    known, topic = topic_of(details.topics, callback_data.value) if details else (False, None)
    if meeting is None or details is None or not known:
        await stale(query)
        return
    if not ahead:
        await query.answer(view.meeting_over_text(meeting), show_alert=True)
        return
    if dialog_of(await state.get_state()) is not None:
        text = _("Please finish or cancel the current dialog first (/cancel).")
        await query.answer(shorten(text, ALERT_LIMIT), show_alert=True)
        return
    await query.answer()
    await state.set_state(MeetingQuestionForm.text)
    await state.update_data({ASKING: {"meeting": meeting.id, "topic": topic}})
    title = details.topics[topic] if topic is not None else None
    text, markup = view.question_prompt(title, meeting.id)
    await where(query).edit_text(text, reply_markup=markup)


async def ask_cancelled(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() == MeetingQuestionForm.text.state:
        await state.clear()
    await query.answer()
    await where(query).edit_text(view.question_cancelled_text())


async def question_typed(message: Message, state: FSMContext, meetings: MeetingService) -> None:
    checked = check_question(message.text)
    if checked.problem is not None:
        await message.answer(view.question_problem(checked.problem))
        return
    data: dict[str, Any] = (await state.get_data()).get(ASKING) or {}
    await state.clear()
    meeting, topic = data.get("meeting"), data.get("topic")
    if message.from_user is None or not isinstance(meeting, int):
        return
    asked = await meetings.ask(
        meeting, message.from_user.id, topic if isinstance(topic, int) else None, checked.text
    )
    if asked is None:
        await message.answer(view.meeting_over_text(await meetings.meeting(meeting)))
        return
    await message.answer(view.question_taken_text())


async def not_a_question(message: Message) -> None:
    await message.answer(view.question_problem(MeetingFieldProblem.EMPTY))


def create_router() -> Router:
    router = Router(name="meetings")
    asking = StateFilter(MeetingQuestionForm.text)
    # A command is no question: it goes on to its own handler.
    router.message.register(
        question_typed, asking, PrivateChat(), Has("text"), ~IsCommand(), NotMenu()
    )
    router.message.register(not_a_question, asking, PrivateChat(), ~Has("text"))
    buttons = router.callback_query
    buttons.filter(CallbackPrefix(MeetCb))
    buttons.register(preview_only, ~PrivateChat())
    buttons.register(come, MeetCb.filter(F.action == "come"), KnownCitizen())
    buttons.register(need_toggled, MeetCb.filter(F.action == "acc"), KnownCitizen())
    buttons.register(confirmed, MeetCb.filter(F.action == "go"), KnownCitizen())
    buttons.register(withdrawn, MeetCb.filter(F.action == "nocome"))
    buttons.register(ask, MeetCb.filter(F.action == "ask"), KnownCitizen())
    buttons.register(topic_chosen, MeetCb.filter(F.action == "topic"), KnownCitizen())
    buttons.register(ask_cancelled, MeetCb.filter(F.action == "askno"))
    buttons.register(stale, MeetCb.filter())
    return router
