"""Adding to an open appeal (/my → «➕ Add to the appeal») and answering an officials'
question («✍️ Answer» under it): a text and/or up to the catalog's number of files, then
«Done». One short dialog state for both.

The dialog keeps its data under one key of the FSM data and remembers the state it
interrupted: a citizen half-way through a new appeal who answers a question finds their
draft where they left it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.catalog import Catalog
from bot.domain.validation import addition_text
from bot.services.lifecycle import AppealLifecycle, Refused, Target
from bot.telegram.callbacks import MyCb, QuestionCb
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, PrivateChat
from bot.telegram.menu import MenuButton
from bot.views import lifecycle as view
from bot.views import limits as limits_view
from bot.views.my_appeals import appeal_status_label
from handlers.dialog import attachment_of, file_refusal, stale
from handlers.my_appeals import refused
from storage.lifecycle import NewAddition
from storage.models import Attachment

KEY = "compose"


class Compose(StatesGroup):
    collecting = State()


async def add_pressed(
    query: CallbackQuery,
    callback_data: MyCb,
    state: FSMContext,
    lifecycle: AppealLifecycle,
    catalog: Catalog,
    tz: ZoneInfo,
) -> None:
    target = await lifecycle.own_open_appeal(callback_data.arg, query.from_user.id)
    if target.refused is None and isinstance(query.message, Message):
        reopens_at = await lifecycle.next_addition_at(query.from_user.id)
        if reopens_at is not None:
            await query.answer()
            await query.message.answer(daily_limit_text(lifecycle, reopens_at, tz))
            return
    await begin(query, target, state, catalog)


def daily_limit_text(
    lifecycle: AppealLifecycle, reopens_at: datetime, tz: ZoneInfo, lead: str = ""
) -> str:
    per_day = lifecycle.additions_per_day()
    assert per_day is not None  # a limit was reached
    text = limits_view.additions_limit(per_day, reopens_at, tz, get_i18n().current_locale)
    return f"{text}\n\n{lead}" if lead else text


async def answer_pressed(
    query: CallbackQuery,
    callback_data: QuestionCb,
    state: FSMContext,
    lifecycle: AppealLifecycle,
    catalog: Catalog,
) -> None:
    target = await lifecycle.question_to_answer(callback_data.question, query.from_user.id)
    await begin(query, target, state, catalog)


async def begin(query: CallbackQuery, target: Target, state: FSMContext, catalog: Catalog) -> None:
    if await refused(query, target, catalog) or target.appeal is None:
        return
    await query.answer()
    if not isinstance(query.message, Message):
        return
    data = await state.get_data()
    earlier = data.get(KEY)
    # Starting again while adding: what was collected goes, the interrupted dialog stays.
    resume = earlier["resume"] if earlier else await state.get_state()
    if resume == Compose.collecting.state:
        resume = None
    data[KEY] = {
        "appeal": target.appeal.id,
        "question": target.question.id if target.question else None,
        "key": uuid.uuid4().hex,
        "text": "",
        "files": [],
        "album": None,  # the album the last answer was for: its other parts edit that answer
        "answer": None,
        "resume": resume,
    }
    # Data first: a crash between the two writes must not leave the state without its data.
    await state.set_data(data)
    await state.set_state(Compose.collecting)
    most = catalog.limits.attachments_max
    await query.message.answer(
        view.compose_start(target.appeal.reference, most, answering=target.question is not None),
        reply_markup=view.compose_keyboard(target.appeal.id),
    )


# --- what the citizen sends ------------------------------------------------------------


async def text_given(message: Message, state: FSMContext, catalog: Catalog, bot: Bot) -> None:
    await add_text(message, state, catalog, bot, message.text or "")


async def add_text(
    message: Message, state: FSMContext, catalog: Catalog, bot: Bot, text: str
) -> None:
    data = await state.get_data()
    compose = data[KEY]
    if not addition_text(text):  # only zero-width characters and spaces: nothing to read
        await say(message, state, data, bot, view.text_invisible())
        return
    combined = joined(compose["text"], text)
    if len(combined) > catalog.limits.text_max:
        await say(message, state, data, bot, view.text_too_long(catalog.limits.text_max))
        return
    compose["text"] = combined
    await say(message, state, data, bot, progress(compose, catalog))


async def file_given(message: Message, state: FSMContext, catalog: Catalog, bot: Bot) -> None:
    refusal = file_refusal(message)
    if refusal is not None:
        # Said at once, not folded into an album's one answer: it names the file.
        await message.answer(refusal)
        caption = addition_text(message.caption)
        if caption:  # what the citizen wrote under it is kept all the same
            await add_text(message, state, catalog, bot, caption)
        return
    data = await state.get_data()
    compose = data[KEY]
    most = catalog.limits.attachments_max
    if len(compose["files"]) >= most:
        await say(message, state, data, bot, view.too_many_files(most))
        return
    file = attachment_of(message)
    assert file is not None  # registered for a photo or a document
    if file not in compose["files"]:
        compose["files"].append(file)
    # A caption of which nothing shows: the file is a file without a text, which is fine.
    caption = joined(compose["text"], addition_text(message.caption))
    if len(caption) <= catalog.limits.text_max:  # a long caption is the only thing left out
        compose["text"] = caption
    await say(message, state, data, bot, progress(compose, catalog))


async def other_given(message: Message, state: FSMContext, bot: Bot) -> None:
    """A sticker, a voice message, a location: not what officials can read."""
    data = await state.get_data()
    await say(message, state, data, bot, view.what_to_send())


async def command_given(message: Message) -> None:
    """A command or a menu button of a dialog that would take the citizen elsewhere."""
    await message.answer(view.finish_first())


def joined(text: str, more: str) -> str:
    more = more.strip()
    return f"{text}\n\n{more}" if text and more else text or more


def progress(compose: dict[str, Any], catalog: Catalog) -> str:
    return view.compose_progress(
        bool(compose["text"]), len(compose["files"]), catalog.limits.attachments_max
    )


async def say(
    message: Message, state: FSMContext, data: dict[str, Any], bot: Bot, text: str
) -> None:
    """Answer with `text` and the «Done» button. The parts of an album arrive as separate
    messages: the first gets the answer, the others edit it, so an album gets one answer
    that counts all of it."""
    compose = data[KEY]
    markup = view.compose_keyboard(compose["appeal"])
    album = message.media_group_id
    if album is not None and album == compose["album"] and compose["answer"]:
        await bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=compose["answer"], reply_markup=markup
        )
    else:
        sent = await message.answer(text, reply_markup=markup)
        compose["album"], compose["answer"] = album, sent.message_id
    await state.set_data(data)


# --- «Done» and «Cancel» -------------------------------------------------------------------


async def done_pressed(
    query: CallbackQuery,
    callback_data: MyCb,
    state: FSMContext,
    lifecycle: AppealLifecycle,
    catalog: Catalog,
    tz: ZoneInfo,
) -> None:
    data = await state.get_data()
    compose = await current(query, callback_data, state, data)
    if compose is None:
        return
    if not compose["text"] and not compose["files"]:
        await query.answer(view.nothing_yet(), show_alert=True)
        return
    new = NewAddition(
        appeal_id=compose["appeal"],
        draft_key=compose["key"],
        text=compose["text"],
        files=tuple(Attachment(f["kind"], f["file_id"], f["file_name"]) for f in compose["files"]),
        question_id=compose["question"],
    )
    added = await lifecycle.add(query.from_user.id, new)
    if added.refused is Refused.EMPTY:  # not from this dialog: it keeps no invisible text
        await query.answer(view.nothing_yet(), show_alert=True)
        return
    if added.refused is Refused.DAILY_LIMIT and added.reopens_at is not None:
        # Nothing was sent; what was collected stays for a «Done» when the limit allows.
        await query.answer()
        if isinstance(query.message, Message):
            lead = limits_view.addition_kept()
            text = daily_limit_text(lifecycle, added.reopens_at, tz, lead=lead)
            await query.message.answer(text)
        return
    await leave(state, data)
    await query.answer()
    appeal = added.appeal
    if appeal is None:
        text = _("Appeal not found.")
    elif added.done:
        text = view.added_text(appeal.reference, answering=new.question_id is not None)
    elif added.refused is Refused.ANSWERED:
        text = view.already_answered()
    else:
        text = view.closed_text(appeal.reference, appeal_status_label(appeal, catalog))
    if isinstance(query.message, Message):
        await query.message.edit_text(text, reply_markup=None)


async def drop_pressed(
    query: CallbackQuery, callback_data: MyCb, state: FSMContext, lifecycle: AppealLifecycle
) -> None:
    data = await state.get_data()
    compose = await current(query, callback_data, state, data)
    if compose is None:
        return
    await leave(state, data)
    await query.answer()
    reference = await lifecycle.reference_of(callback_data.arg)
    if isinstance(query.message, Message) and reference is not None:
        await query.message.edit_text(view.nothing_added(reference), reply_markup=None)


async def current(
    query: CallbackQuery, callback_data: MyCb, state: FSMContext, data: dict[str, Any]
) -> dict[str, Any] | None:
    """The dialog this button belongs to, or None (and an alert) for a button left over
    from one that ended."""
    compose = data.get(KEY)
    mine = await state.get_state() == Compose.collecting.state
    if not mine or compose is None or compose["appeal"] != callback_data.arg:
        await stale(query)
        return None
    found: dict[str, Any] = compose
    return found


async def cancel_compose(message: Message, state: FSMContext, lifecycle: AppealLifecycle) -> None:
    """/cancel while adding or answering: only this step ends; a dialog it interrupted (an
    appeal's or a booking's draft) is where the citizen left it."""
    data = await state.get_data()
    appeal_id = int(data[KEY]["appeal"])
    await leave(state, data)
    reference = await lifecycle.reference_of(appeal_id)
    await message.answer(view.nothing_added(reference or "—"))


async def leave(state: FSMContext, data: dict[str, Any]) -> None:
    """Back to where the citizen was before (the main menu, or a dialog they interrupted)."""
    compose = data.pop(KEY)
    await state.set_state(compose["resume"])
    await state.set_data(data)


def create_router() -> Router:
    router = Router(name="additions")
    router.message.filter(PrivateChat())
    # Other dialogs' buttons skip these in one prefix check each.
    buttons = Router(name="additions-buttons")
    buttons.callback_query.filter(CallbackPrefix(MyCb))
    buttons.callback_query.register(add_pressed, MyCb.filter(F.action == "add"))
    buttons.callback_query.register(done_pressed, MyCb.filter(F.action == "done"))
    buttons.callback_query.register(drop_pressed, MyCb.filter(F.action == "drop"))
    answers = Router(name="additions-answers")
    answers.callback_query.filter(CallbackPrefix(QuestionCb))
    answers.callback_query.register(answer_pressed, QuestionCb.filter())
    steps = Router(name="additions-steps")
    steps.message.filter(StateFilter(Compose.collecting))
    steps.message.register(command_given, IsCommand())
    steps.message.register(command_given, MenuButton("new"))
    steps.message.register(command_given, MenuButton("book"))
    steps.message.register(file_given, Has("photo", "document"))
    steps.message.register(text_given, Has("text"))
    steps.message.register(other_given)
    router.include_routers(buttons, answers, steps)
    return router
