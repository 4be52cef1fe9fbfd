"""Officials' changes to a meeting with residents (issue #13): «🕒 Move» under /meetings (the new
time, then a new place or the same, each a reply to the bot's prompt; a confirmation; then
everyone who said they come is told) and «✍️ How many came» under `/meetings past` (a number,
as a reply; entered again, it corrects the count).

The dialog lives in the FSM (per official and chat). In a group only a reply to the bot's own
prompt counts, so a message to colleagues meanwhile is ignored. «Move» hands the dialog's key
to `MeetingService.move`, which moves, tells and re-queues the reminders in one transaction
keyed by it: a second press, or the press again after a restart, sends nothing twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.announcements import (
    PLACE_MAX,
    MeetingChangeProblem,
    MeetingFieldProblem,
    check_attended,
    check_meeting_line,
)
from bot.domain.dialogs import dialog_of
from bot.services.officials import OfficialsService
from bot.services.outreach import MeetingService, Moved
from bot.telegram.callbacks import MeetEditCb
from bot.telegram.filters import CallbackPrefix, Has, author
from bot.views import officials as officials_view
from bot.views import outreach as view
from handlers.announce import MayAct, MayNotType, refused, refused_typing, where
from handlers.dialog import stale
from storage.outreach import Announcement

EDIT = "meeting_edit"


class MeetingEditForm(StatesGroup):
    when = State()
    place = State()
    review = State()
    attended = State()


async def edit_of(state: FSMContext) -> dict[str, Any]:
    edit = (await state.get_data()).get(EDIT)
    return edit if isinstance(edit, dict) else {}


async def save(state: FSMContext, edit: dict[str, Any]) -> None:
    await state.update_data({EDIT: edit})


class RepliesToPrompt(Filter):
    """In a group, only a reply to the bot's prompt counts; in private, any message."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        if message.chat.type == "private":
            return True
        replied = message.reply_to_message
        return replied is not None and replied.message_id == (await edit_of(state)).get("prompt")


async def meeting_here(
    query: CallbackQuery, meeting_id: int, meetings: MeetingService, officials: OfficialsService
) -> Announcement | None:
    """The meeting a button names, if it was announced from the chat the button is pressed
    in: only that chat moves it or enters how many came (as only it calls it off or stops a
    broadcast). Otherwise the button is answered here."""
    meeting = await meetings.meeting(meeting_id)
    if meeting is None or meeting.chat_id != await officials.home_of(where(query).chat.id):
        # Another officials' chat's meeting (a forged button, or a message forwarded here).
        await stale(query)
        return None
    return meeting


async def busy(query: CallbackQuery, state: FSMContext) -> bool:
    """An administrator half-way through their own appeal or booking, in private."""
    if dialog_of(await state.get_state()) is None:
        return False
    text = _("Please finish or cancel the current dialog first (/cancel).")
    await query.answer(text, show_alert=True)
    return True


async def move_asked(
    query: CallbackQuery,
    callback_data: MeetEditCb,
    state: FSMContext,
    meetings: MeetingService,
    officials: OfficialsService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    meeting = await meeting_here(query, callback_data.meeting, meetings, officials)
    if meeting is None:
        return
    problem = meetings.move_problem(meeting)
    if problem is not None:
        await query.answer(view.change_problem_text(problem), show_alert=True)
        return
    if await busy(query, state):
        return
    await query.answer()
    await ask_when(where(query), state, meeting, uuid.uuid4().hex, officials_language, tz)


async def ask_when(
    message: Message, state: FSMContext, meeting: Announcement, key: str, lang: str, tz: tzinfo
) -> None:
    text, force = view.move_when_prompt(meeting, tz, lang)
    sent = await message.answer(text, reply_markup=force)
    await state.set_state(MeetingEditForm.when)
    await save(state, {"meeting": meeting.id, "key": key, "prompt": sent.message_id})


async def when_given(message: Message, state: FSMContext, meetings: MeetingService) -> None:
    if author(message) is None:
        await message.reply(officials_view.anonymous_text())
        return
    edit = await edit_of(state)
    when = meetings.when(message.text)
    if when.problem is not None or when.at is None:
        await message.reply(view.meeting_problem("when", when.problem or MeetingFieldProblem.EMPTY))
        return
    meeting = await meetings.meeting(int(edit.get("meeting") or 0))
    problem = meetings.move_problem(meeting, when.at)
    if meeting is None or problem is not None:
        await state.clear()
        await message.reply(view.change_problem_text(problem or MeetingChangeProblem.CANCELLED))
        return
    text, markup = view.move_place_prompt(meeting)
    sent = await message.reply(text, reply_markup=markup)
    edit.update(when=when.at.isoformat(), prompt=sent.message_id)
    await save(state, edit)
    await state.set_state(MeetingEditForm.place)


async def place_given(
    message: Message,
    state: FSMContext,
    meetings: MeetingService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    if author(message) is None:
        await message.reply(officials_view.anonymous_text())
        return
    line = check_meeting_line(message.text, PLACE_MAX)
    if line.problem is not None:
        await message.reply(view.meeting_problem("place", line.problem))
        return
    await review(message, state, meetings, line.text, officials_language, tz, edit_in_place=False)


async def place_kept(
    query: CallbackQuery, callback_data: MeetEditCb, state: FSMContext, meetings: MeetingService,
    officials_language: str, tz: tzinfo,
) -> None:  # fmt: skip
    if (await edit_of(state)).get("meeting") != callback_data.meeting:
        await stale(query)  # an old prompt of another move
        return
    await query.answer()
    await review(where(query), state, meetings, "", officials_language, tz, edit_in_place=True)


async def review(
    message: Message,
    state: FSMContext,
    meetings: MeetingService,
    place: str,
    lang: str,
    tz: tzinfo,
    *,
    edit_in_place: bool,
) -> None:
    """The move as it will be, with «Move» and «Cancel»; `place` empty: the same place."""
    edit = await edit_of(state)
    meeting = await meetings.meeting(int(edit.get("meeting") or 0))
    new_at = datetime.fromisoformat(str(edit.get("when")))
    problem = meetings.move_problem(meeting, new_at, place)
    if meeting is None or (problem is not None and problem != MeetingChangeProblem.SAME):
        await state.clear()
        await message.answer(view.change_problem_text(problem or MeetingChangeProblem.CANCELLED))
        return
    if problem == MeetingChangeProblem.SAME:  # nothing would change: the time again
        await message.answer(view.change_problem_text(problem))
        await ask_when(message, state, meeting, str(edit.get("key")), lang, tz)
        return
    coming = next((f.coming for f in await meetings.upcoming() if f.meeting.id == meeting.id), 0)
    text, markup = view.move_review(meeting, new_at, place, coming, tz, lang)
    edit["place"] = place
    await save(state, edit)
    await state.set_state(MeetingEditForm.review)
    if edit_in_place:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


async def move_confirmed(
    query: CallbackQuery,
    callback_data: MeetEditCb,
    state: FSMContext,
    meetings: MeetingService,
    officials: OfficialsService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    edit = await edit_of(state)
    if edit.get("meeting") != callback_data.meeting or not edit.get("when"):
        await stale(query)
        return
    if await meeting_here(query, callback_data.meeting, meetings, officials) is None:
        return
    moved = await meetings.move(
        callback_data.meeting, str(edit.get("key")), datetime.fromisoformat(str(edit["when"])),
        str(edit.get("place") or ""), query.from_user.id, query.from_user.full_name,
    )  # fmt: skip
    await state.clear()
    if not isinstance(moved, Moved):
        await query.answer(view.change_problem_text(moved), show_alert=True)
        await where(query).edit_text(view.move_dropped_text())
        return
    await query.answer(None if moved.created else _("It was moved already."))
    text = view.meeting_moved_text(moved.meeting, moved.move, tz, officials_language)
    await where(query).edit_text(text)


MOVING = {MeetingEditForm.when.state, MeetingEditForm.place.state, MeetingEditForm.review.state}


async def move_dropped(query: CallbackQuery, callback_data: MeetEditCb, state: FSMContext) -> None:
    if (
        await state.get_state() in MOVING
        and (await edit_of(state)).get("meeting") == callback_data.meeting
    ):
        await state.clear()
    elif await state.get_state() is not None:
        # The Cancel of an older card while another dialog is in hand (the move of another
        # meeting, how many came): that dialog is not the one the card was shown for.
        await stale(query)
        return
    await query.answer()
    await where(query).edit_text(view.move_dropped_text())


async def count_asked(
    query: CallbackQuery,
    callback_data: MeetEditCb,
    state: FSMContext,
    meetings: MeetingService,
    officials: OfficialsService,
) -> None:
    meeting = await meeting_here(query, callback_data.meeting, meetings, officials)
    if meeting is None:
        return
    problem = meetings.attended_problem(meeting)
    if problem is not None:
        await query.answer(view.change_problem_text(problem), show_alert=True)
        return
    if await busy(query, state):
        return
    await query.answer()
    text, force = view.attended_prompt(meeting)
    sent = await where(query).answer(text, reply_markup=force)
    await state.set_state(MeetingEditForm.attended)
    await save(state, {"meeting": meeting.id, "prompt": sent.message_id})


async def count_given(message: Message, state: FSMContext, meetings: MeetingService) -> None:
    person = author(message)
    if person is None:
        await message.reply(officials_view.anonymous_text())
        return
    checked = check_attended(message.text)
    if checked.problem is not None or checked.count is None:
        await message.reply(view.attended_problem(checked.problem or MeetingFieldProblem.EMPTY))
        return
    edit = await edit_of(state)
    recorded = await meetings.record_attended(
        int(edit.get("meeting") or 0), checked.count, person.id, person.full_name
    )
    await state.clear()
    if not isinstance(recorded, Announcement):
        await message.reply(view.change_problem_text(recorded))
        return
    await message.reply(view.attended_recorded_text(recorded))


async def not_text(message: Message, state: FSMContext) -> None:
    if await state.get_state() == MeetingEditForm.attended.state:
        await message.reply(view.attended_problem(MeetingFieldProblem.EMPTY))
        return
    await message.reply(view.meeting_problem("when", MeetingFieldProblem.EMPTY))


def create_router() -> Router:
    router = Router(name="official_meetings")
    replies = RepliesToPrompt()
    # Whoever may no longer act here is refused at every typed step, before any step reads it.
    typed = StateFilter(MeetingEditForm.when, MeetingEditForm.place, MeetingEditForm.attended)
    router.message.register(refused_typing, typed, replies, MayNotType())
    router.message.register(when_given, StateFilter(MeetingEditForm.when), replies, Has("text"))
    router.message.register(place_given, StateFilter(MeetingEditForm.place), replies, Has("text"))
    router.message.register(
        count_given, StateFilter(MeetingEditForm.attended), replies, Has("text")
    )
    router.message.register(not_text, typed, replies)
    buttons = router.callback_query
    buttons.filter(CallbackPrefix(MeetEditCb))
    buttons.register(refused, ~MayAct())
    buttons.register(move_asked, MeetEditCb.filter(F.action == "move"))
    buttons.register(
        place_kept, MeetEditCb.filter(F.action == "keep"), StateFilter(MeetingEditForm.place)
    )
    buttons.register(
        move_confirmed, MeetEditCb.filter(F.action == "ok"), StateFilter(MeetingEditForm.review)
    )
    buttons.register(move_dropped, MeetEditCb.filter(F.action == "no"))
    buttons.register(count_asked, MeetEditCb.filter(F.action == "count"))
    buttons.register(stale, MeetEditCb.filter())
    return router
