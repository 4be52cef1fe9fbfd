"""/announce: an official sends an announcement to the subscribers of some districts (issue
#13), in an officials' chat or, for ADMIN_IDS, in private: kind → districts → (for a
meeting with residents: who, where, when, its topics) → the text in Kazakh → in Russian (each
previewed exactly as citizens will read it) → «Send» or «Cancel». A poll instead: districts →
its end time → the question and the options in Kazakh (previewed) → in Russian (previewed) →
«Send».

The draft lives in the FSM (per official and chat). In a group only a reply to the bot's own
prompt is taken for a text, so a message to colleagues never becomes an announcement. «Send»
hands the draft to `AnnouncementService`, which queues every subscriber's message in one
transaction keyed by the draft; the review message becomes the progress message, edited as
the outbox delivers, with «Stop».
"""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.domain.announcements import (
    KINDS,
    LANGUAGES,
    MEETING,
    PLACE_MAX,
    POLL,
    WHO_MAX,
    AnnouncementTextProblem,
    MeetingFieldProblem,
    check_announcement_text,
    check_meeting_line,
    check_topics,
    choose_all,
    text_max,
    the_only_district,
    toggle,
)
from bot.domain.catalog import Catalog
from bot.domain.dialogs import dialog_of
from bot.domain.polls import check_options, check_question
from bot.services.officials import OfficialsService
from bot.services.outreach import PAST_DAYS, AnnouncementService, Draft, MeetingService
from bot.services.polls import PollService
from bot.telegram.callbacks import AnnCb
from bot.telegram.filters import CallbackPrefix, Has, IsCommand, author
from bot.telegram.replies import answer_in_parts
from bot.views import officials as officials_view
from bot.views import outreach as view
from bot.views import polls as poll_view
from handlers.dialog import stale
from handlers.meetings import NotMenu
from handlers.official_commands import allowed
from i18n.core import PoI18n
from storage.outreach import Announcement, MeetingDetails, PollDetails

DRAFT = "announce"


class AnnounceForm(StatesGroup):
    kind = State()
    districts = State()
    meeting_who = State()
    meeting_place = State()
    meeting_when = State()
    meeting_topics = State()
    text_kk = State()
    text_ru = State()
    poll_closes = State()
    poll_question_kk = State()
    poll_options_kk = State()
    poll_question_ru = State()
    poll_options_ru = State()
    review = State()


TEXT_STATES = {"kk": AnnounceForm.text_kk, "ru": AnnounceForm.text_ru}
# A meeting's details, in the order they are asked, before its texts.
MEETING_FIELDS = ("who", "place", "when", "topics")
MEETING_STATES = {
    "who": AnnounceForm.meeting_who, "place": AnnounceForm.meeting_place,
    "when": AnnounceForm.meeting_when, "topics": AnnounceForm.meeting_topics,
}  # fmt: skip


# A poll's steps after its end time: (state, what it asks, in which language), in order.
POLL_STEPS = (
    (AnnounceForm.poll_question_kk, "question", "kk"),
    (AnnounceForm.poll_options_kk, "options", "kk"),
    (AnnounceForm.poll_question_ru, "question", "ru"),
    (AnnounceForm.poll_options_ru, "options", "ru"),
)


async def draft_of(state: FSMContext) -> dict[str, Any]:
    data = await state.get_data()
    draft = data.get(DRAFT)
    return draft if isinstance(draft, dict) else {}


async def save(state: FSMContext, draft: dict[str, Any]) -> None:
    await state.update_data({DRAFT: draft})


async def announce(message: Message, state: FSMContext, officials: OfficialsService) -> None:
    if not await allowed(message, officials):
        return
    if dialog_of(await state.get_state()) is not None:
        # An administrator half-way through their own appeal or booking, in private.
        await message.answer(_("Please finish or cancel the current dialog first (/cancel)."))
        return
    await state.set_state(AnnounceForm.kind)
    key = uuid.uuid4().hex
    await state.set_data({DRAFT: {"key": key, "districts": []}})
    text, markup = view.kind_screen(KINDS, key)
    await message.answer(text, reply_markup=markup)


class MayAct(Filter):
    """The presser may use officials' commands in this chat (`OfficialsService.may_act`)."""

    async def __call__(self, query: CallbackQuery, officials: OfficialsService) -> bool:
        if not isinstance(query.message, Message):
            return False
        return await officials.may_act(query.message.chat.id, query.from_user.id)


async def refused(query: CallbackQuery) -> None:
    await query.answer(_("Sorry, this command is for the akimat's officials."), show_alert=True)


class MayNotType(Filter):
    """A typed step of an officials' dialog by someone who may no longer act in this chat:
    removed from the officials' chat (or no longer an administrator) after the command or
    button that started it, which was checked then. Each reply is checked again, as every
    button is (`MayAct`). A message nobody can be named for is not this filter's: the steps
    answer it with how to act as oneself."""

    async def __call__(self, message: Message, officials: OfficialsService) -> bool:
        person = author(message)
        if person is None:
            return False
        return not await officials.may_act(message.chat.id, person.id)


async def refused_typing(message: Message, state: FSMContext) -> None:
    """Refused as the commands refuse (`allowed`), and the dialog is over: nothing it asked
    for is taken from this person here any more."""
    await state.clear()
    await message.answer(_("Sorry, this command is for the akimat's officials."))


def where(query: CallbackQuery) -> Message:
    assert isinstance(query.message, Message)  # MayAct made sure
    return query.message


async def of_draft(query: CallbackQuery, callback_data: AnnCb, state: FSMContext) -> bool:
    """The button was shown for the draft in hand; otherwise (a screen of a draft this official
    replaced by starting again) it is answered as stale here."""
    key = (await draft_of(state)).get("key")
    if key and callback_data.draft == key:
        return True
    await stale(query)
    return False


async def kind_chosen(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if not await of_draft(query, callback_data, state):
        return
    if callback_data.value not in KINDS:
        await stale(query)
        return
    draft = await draft_of(state)
    draft["kind"] = callback_data.value
    await query.answer()
    only = the_only_district(catalog.territory)
    if only is not None:
        draft["districts"] = [only]
        await save(state, draft)
        await where(query).edit_text(view.kind_label(callback_data.value))
        await ask_first(where(query), state, draft)
        return
    await save(state, draft)
    await state.set_state(AnnounceForm.districts)
    text, markup = view.districts_screen_for_officials(
        draft["districts"], catalog.territory, officials_language, 0, str(draft.get("key") or "")
    )
    await where(query).edit_text(text, reply_markup=markup)


async def districts_changed(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if not await of_draft(query, callback_data, state):
        return
    draft = await draft_of(state)
    chosen: list[str] = list(draft.get("districts") or [])
    value, _sep, page_text = callback_data.value.rpartition(".")
    if callback_data.action == "page":
        page_text = callback_data.value
    elif callback_data.action == "all":
        chosen = choose_all(chosen, catalog.territory)
        page_text = callback_data.value
    else:  # "tog"
        chosen = toggle(chosen, value, catalog.territory)
    page = int(page_text) if page_text.isascii() and page_text.isdigit() else 0
    draft["districts"] = chosen
    await save(state, draft)
    await query.answer()
    text, markup = view.districts_screen_for_officials(
        chosen, catalog.territory, officials_language, page, str(draft.get("key") or "")
    )
    await where(query).edit_text(text, reply_markup=markup)


async def districts_done(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if not await of_draft(query, callback_data, state):
        return
    draft = await draft_of(state)
    if not draft.get("districts"):
        await stale(query)
        return
    await query.answer()
    names = view.district_names(draft["districts"], catalog.territory, officials_language)
    await where(query).edit_text(view.districts_chosen_text(names))
    await ask_first(where(query), state, draft)


async def ask_first(message: Message, state: FSMContext, draft: dict[str, Any]) -> None:
    """After the districts: a meeting's details first, then the texts; a poll's end time,
    then its question and options."""
    if draft.get("kind") == MEETING:
        await ask_meeting(MEETING_FIELDS[0], message, state, draft)
    elif draft.get("kind") == POLL:
        text, force = poll_view.closes_prompt()
        sent = await message.answer(text, reply_markup=force)
        draft["prompt"] = sent.message_id
        await save(state, draft)
        await state.set_state(AnnounceForm.poll_closes)
    else:
        await ask_text("kk", message, state, draft)


async def ask_meeting(
    field: str, message: Message, state: FSMContext, draft: dict[str, Any]
) -> None:
    text, force = view.meeting_prompt(field)
    sent = await message.answer(text, reply_markup=force)
    draft["prompt"] = sent.message_id
    await save(state, draft)
    await state.set_state(MEETING_STATES[field])


def meeting_of(draft: dict[str, Any]) -> MeetingDetails | None:
    """The meeting's details the draft holds, once all were given."""
    meeting = draft.get("meeting")
    if draft.get("kind") != MEETING or not isinstance(meeting, dict):
        return None
    if not all(meeting.get(f) for f in MEETING_FIELDS):
        return None
    return MeetingDetails(
        who=meeting["who"], place=meeting["place"], at=datetime.fromisoformat(meeting["when"]),
        topics=tuple(meeting["topics"]),
    )  # fmt: skip


async def meeting_field_given(
    message: Message,
    state: FSMContext,
    meetings: MeetingService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    if author(message) is None:
        await message.reply(officials_view.anonymous_text())
        return
    current = await state.get_state()
    field = next(f for f, s in MEETING_STATES.items() if s.state == current)
    value: str | list[str]
    problem: MeetingFieldProblem | None
    if field == "when":
        when = meetings.when(message.text)
        problem, value = when.problem, when.at.isoformat() if when.at else ""
    elif field == "topics":
        topics = check_topics(message.text)
        problem, value = topics.problem, list(topics.topics)
    else:
        line = check_meeting_line(message.text, WHO_MAX if field == "who" else PLACE_MAX)
        problem, value = line.problem, line.text
    if problem is not None:
        await message.reply(view.meeting_problem(field, problem))
        return
    draft = await draft_of(state)
    draft.setdefault("meeting", {})[field] = value
    following = MEETING_FIELDS[MEETING_FIELDS.index(field) + 1 :]
    if following:
        await ask_meeting(following[0], message, state, draft)
        return
    details = meeting_of(draft)
    assert details is not None
    await message.reply(view.meeting_details_text(details, tz, officials_language))
    await ask_text("kk", message, state, draft)


async def ask_text(lang: str, message: Message, state: FSMContext, draft: dict[str, Any]) -> None:
    text, force = view.text_prompt(lang, str(draft.get("kind")))
    sent = await message.answer(text, reply_markup=force)
    draft["prompt"] = sent.message_id
    await save(state, draft)
    await state.set_state(TEXT_STATES[lang])


class RepliesToPrompt(Filter):
    """In a group, only a reply to the bot's prompt is the text: the chat goes on around the
    dialog. In private, any message."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        if message.chat.type == "private":
            return True
        replied = message.reply_to_message
        if replied is None:
            return False
        return replied.message_id == (await draft_of(state)).get("prompt")


async def text_given(
    message: Message,
    state: FSMContext,
    catalog: Catalog,
    i18n: PoI18n,
    officials: OfficialsService,
    announcements: AnnouncementService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    person = author(message)
    if person is None:
        await message.reply(officials_view.anonymous_text())
        return
    current = await state.get_state()
    lang = "kk" if current == AnnounceForm.text_kk.state else "ru"
    draft = await draft_of(state)
    kind = str(draft.get("kind"))
    checked = check_announcement_text(message.text, text_max(kind))
    if checked.problem is not None:
        await message.reply(view.text_problem(checked.problem, kind))
        return
    draft[f"text_{lang}"] = checked.text
    await save(state, draft)
    district = view.place_name(catalog.territory, draft["districts"][0], lang)
    heading = view.preview_heading(lang)
    meeting = meeting_of(draft)
    with i18n.use_locale(lang):
        preview = view.announcement_text(draft["kind"], checked.text, district, meeting, tz, lang)
        keyboard = (
            view.meeting_keyboard(0, draft["districts"][0], district)
            if meeting is not None
            else view.unsubscribe_keyboard(draft["districts"][0], district)
        )
    await message.reply(heading)
    await message.answer(preview, reply_markup=keyboard)
    following = LANGUAGES[LANGUAGES.index(lang) + 1 :]
    if following:
        await ask_text(following[0], message, state, draft)
        return
    await state.set_state(AnnounceForm.review)
    audience = await announcements.audience(draft["districts"])
    names = view.district_names(draft["districts"], catalog.territory, officials_language)
    details = (
        view.meeting_details_text(meeting, tz, officials_language) if meeting is not None else ""
    )
    text, markup = view.review_screen(draft["kind"], names, audience, details, draft["key"])
    await message.answer(text, reply_markup=markup)


# --- a poll ---------------------------------------------------------------------------------


def poll_of(draft: dict[str, Any]) -> PollDetails | None:
    """The poll's options and end time the draft holds, once all were given."""
    poll = draft.get("poll")
    if draft.get("kind") != POLL or not isinstance(poll, dict):
        return None
    if not all(poll.get(f) for f in ("closes", "options_kk", "options_ru")):
        return None
    return PollDetails(
        options_kk=tuple(poll["options_kk"]), options_ru=tuple(poll["options_ru"]),
        closes_at=datetime.fromisoformat(poll["closes"]),
    )  # fmt: skip


async def ask_poll(index: int, message: Message, state: FSMContext, draft: dict[str, Any]) -> None:
    step, what, lang = POLL_STEPS[index]
    if what == "question":
        text, force = poll_view.question_prompt(lang)
    else:
        kk = (draft.get("poll") or {}).get("options_kk") or []
        text, force = poll_view.options_prompt(lang, len(kk) if lang == "ru" else None)
    sent = await message.answer(text, reply_markup=force)
    draft["prompt"] = sent.message_id
    await save(state, draft)
    await state.set_state(step)


async def poll_closes_given(message: Message, state: FSMContext, polls: PollService) -> None:
    if author(message) is None:
        await message.reply(officials_view.anonymous_text())
        return
    closes = polls.closes(message.text)
    if closes.problem is not None or closes.at is None:
        problem = closes.problem or MeetingFieldProblem.EMPTY
        await message.reply(view.meeting_problem("when", problem))
        return
    draft = await draft_of(state)
    draft["poll"] = {"closes": closes.at.isoformat()}
    await ask_poll(0, message, state, draft)


async def poll_step_given(
    message: Message,
    state: FSMContext,
    catalog: Catalog,
    announcements: AnnouncementService,
    officials_language: str,
    tz: tzinfo,
) -> None:
    if author(message) is None:
        await message.reply(officials_view.anonymous_text())
        return
    current = await state.get_state()
    index = next(n for n, (s, _w, _l) in enumerate(POLL_STEPS) if s.state == current)
    _step, what, lang = POLL_STEPS[index]
    draft = await draft_of(state)
    poll: dict[str, Any] = draft.setdefault("poll", {})
    if what == "question":
        question = check_question(message.text)
        if question.problem is not None:
            await message.reply(poll_view.poll_problem(question.problem))
            return
        poll[f"question_{lang}"] = question.text
        await ask_poll(index + 1, message, state, draft)
        return
    expected = len(poll.get("options_kk") or []) if lang == "ru" else None
    options = check_options(message.text, expected)
    if options.problem is not None:
        await message.reply(poll_view.poll_problem(options.problem, expected))
        return
    poll[f"options_{lang}"] = list(options.options)
    # The question is the announcement's text in that language.
    draft[f"text_{lang}"] = poll.get(f"question_{lang}") or ""
    await message.reply(poll_view.preview_heading(lang))
    await message.answer(poll_view.preview_text(draft[f"text_{lang}"], options.options))
    if index + 1 < len(POLL_STEPS):
        await ask_poll(index + 1, message, state, draft)
        return
    await save(state, draft)
    await state.set_state(AnnounceForm.review)
    details = poll_of(draft)
    assert details is not None
    audience = await announcements.audience(draft["districts"])
    names = view.district_names(draft["districts"], catalog.territory, officials_language)
    text, markup = view.review_screen(
        POLL,
        names,
        audience,
        poll_view.poll_details_text(details, tz, officials_language),
        draft["key"],
    )
    await message.answer(text, reply_markup=markup)


async def not_poll_text(message: Message) -> None:
    await message.reply(view.text_problem(AnnouncementTextProblem.EMPTY))


async def not_text(message: Message) -> None:
    await message.reply(view.text_problem(AnnouncementTextProblem.EMPTY))


async def not_meeting_text(message: Message) -> None:
    await message.reply(view.meeting_problem("who", MeetingFieldProblem.EMPTY))


async def send(
    query: CallbackQuery,
    callback_data: AnnCb,
    state: FSMContext,
    catalog: Catalog,
    announcements: AnnouncementService,
    meetings: MeetingService,
    polls: PollService,
    officials: OfficialsService,
    officials_language: str,
) -> None:
    draft = await draft_of(state)
    if not draft.get("key") or callback_data.value != draft["key"]:
        # The card of another draft (one this official replaced by starting again, or a
        # colleague's): what it shows is not what the draft in hand would send.
        await stale(query)
        return
    texts = {lang: draft.get(f"text_{lang}") for lang in LANGUAGES}
    meeting = meeting_of(draft)
    poll = poll_of(draft)
    if not draft.get("districts") or not all(texts.values()) or draft.get("kind") not in KINDS:
        await stale(query)
        return
    if (draft.get("kind") == MEETING) != (meeting is not None):
        await stale(query)
        return
    if (draft.get("kind") == POLL) != (poll is not None):
        await stale(query)
        return
    message = where(query)
    ready = Draft(
        key=draft["key"], kind=draft["kind"], districts=tuple(draft["districts"]),
        text_kk=texts["kk"] or "", text_ru=texts["ru"] or "", meeting=meeting, poll=poll,
    )  # fmt: skip
    # Checked ahead when typed, on the business clock; the card may have waited for hours.
    if (meeting is not None and meetings.passed(meeting.at)) or (
        poll is not None and polls.passed(poll.closes_at)
    ):
        await state.clear()
        await query.answer(view.time_passed_text(), show_alert=True)
        await message.edit_text(view.time_passed_text())
        return
    # Under the officials' chat's own id, as its appeals: the supergroup a group became is
    # the same chat (`OfficialsService.home_of`).
    chat = await officials.home_of(message.chat.id)
    sent = await announcements.send(
        ready, chat, message.message_id, query.from_user.id, query.from_user.full_name
    )
    await state.clear()
    await query.answer(_("Sending.") if sent.created else _("It was sent already."))
    names = view.district_names(sent.announcement.districts, catalog.territory, officials_language)
    text, markup = view.progress_screen(sent.announcement, sent.progress, names)
    await message.edit_text(text, reply_markup=markup)


async def cancel(query: CallbackQuery, callback_data: AnnCb, state: FSMContext) -> None:
    draft = await draft_of(state)
    if not draft.get("key") or callback_data.value != draft["key"]:
        # The Cancel of another draft's screen (one this official replaced by starting again,
        # or a colleague's card): the draft in hand is not the one it was shown for.
        await stale(query)
        return
    await state.clear()
    await query.answer()
    await where(query).edit_text(view.cancelled_text())


async def stop(
    query: CallbackQuery,
    callback_data: AnnCb,
    announcements: AnnouncementService,
    officials: OfficialsService,
) -> None:
    number = callback_data.value
    announcement = (
        await announcements.get(int(number)) if number.isascii() and number.isdigit() else None
    )
    here = await officials.home_of(where(query).chat.id)
    if announcement is None or announcement.chat_id != here:
        await stale(query)
        return
    stopped = await announcements.stop(announcement.id)
    if stopped is None:
        await query.answer(_("It is not being sent any more."), show_alert=True)
        return
    await query.answer(_("Stopped: what was not sent yet will not be sent."), show_alert=True)


async def meetings_command(
    message: Message,
    command: CommandObject,
    officials: OfficialsService,
    meetings: MeetingService,
    catalog: Catalog,
    officials_language: str,
    tz: tzinfo,
) -> None:
    """/meetings: the upcoming meetings with residents, their head counts, access needs and
    questions in advance (who may use /announce may see them); `/meetings past`: those held
    lately, with how many came (`handlers.official_meetings` enters it)."""
    if not await allowed(message, officials):
        return
    args = (command.args or "").strip().lower()
    here = await officials.home_of(message.chat.id)
    if args == "past":
        past = await meetings.past(await officials.scope_of(message.chat.id))
        text, markup = view.past_meetings_screen(
            past, catalog.territory, tz, officials_language, PAST_DAYS, here
        )
        await answer_in_parts(message, text, markup)
        return
    if args:
        await message.answer(view.meetings_usage())
        return
    # A department's chat sees the meetings it announced; the default chat every one.
    figures = await meetings.upcoming(await officials.scope_of(message.chat.id))
    text = view.meetings_screen(figures, catalog.territory, tz, officials_language)
    # Only the chat that announced a meeting calls it off (as only it stops a broadcast).
    ours = [f for f in figures if f.meeting.chat_id == here]
    await answer_in_parts(message, text, view.meetings_keyboard(ours))


async def meeting_of_button(
    query: CallbackQuery,
    callback_data: AnnCb,
    meetings: MeetingService,
    officials: OfficialsService,
) -> Announcement | None:
    """The meeting a button names, announced from this chat and still ahead; otherwise the
    button is answered here."""
    number = callback_data.value
    if not (number.isascii() and number.isdigit()):
        await stale(query)
        return None
    meeting, ahead = await meetings.open_meeting(int(number))
    if meeting is None or meeting.chat_id != await officials.home_of(where(query).chat.id):
        # Another officials' chat's meeting (a forged button, or a message forwarded here).
        await stale(query)
        return None
    if not ahead:
        await query.answer(view.meeting_over_text(meeting), show_alert=True)
        return None
    return meeting


async def cancel_meeting_asked(
    query: CallbackQuery,
    callback_data: AnnCb,
    meetings: MeetingService,
    officials: OfficialsService,
) -> None:
    meeting = await meeting_of_button(query, callback_data, meetings, officials)
    if meeting is None:
        return
    await query.answer()
    coming = next((f.coming for f in await meetings.upcoming() if f.meeting.id == meeting.id), 0)
    text, markup = view.cancel_meeting_question(meeting, coming)
    await where(query).answer(text, reply_markup=markup)


async def cancel_meeting_confirmed(
    query: CallbackQuery,
    callback_data: AnnCb,
    meetings: MeetingService,
    officials: OfficialsService,
) -> None:
    meeting = await meeting_of_button(query, callback_data, meetings, officials)
    if meeting is None:
        return
    cancelled = await meetings.cancel(meeting.id)
    if cancelled is None:  # called off meanwhile, by another press
        await query.answer(view.meeting_over_text(await meetings.meeting(meeting.id)))
        return
    await query.answer()
    await where(query).edit_text(view.meeting_cancelled_text(*cancelled))


async def cancel_meeting_kept(query: CallbackQuery) -> None:
    await query.answer()
    await where(query).delete()


def create_router() -> Router:
    router = Router(name="announce")
    router.message.register(announce, Command("announce"))
    router.message.register(meetings_command, Command("meetings"))
    form = StateFilter(AnnounceForm)
    # A command or a main-menu button is no answer to a step (in private any message is): it
    # goes on to its own handler, and the step stays where it was.
    typed = (RepliesToPrompt(), ~IsCommand(), NotMenu())
    # Whoever may no longer act here is refused at every typed step, before any step reads it.
    buttons_only = {AnnounceForm.kind, AnnounceForm.districts, AnnounceForm.review}
    steps = StateFilter(*(s for s in AnnounceForm.__all_states__ if s not in buttons_only))
    router.message.register(refused_typing, steps, *typed, MayNotType())
    texts = StateFilter(AnnounceForm.text_kk, AnnounceForm.text_ru)
    router.message.register(text_given, texts, *typed, Has("text"))
    router.message.register(not_text, texts, *typed)
    details = StateFilter(*MEETING_STATES.values())
    router.message.register(meeting_field_given, details, *typed, Has("text"))
    router.message.register(not_meeting_text, details, *typed)
    closes = StateFilter(AnnounceForm.poll_closes)
    router.message.register(poll_closes_given, closes, *typed, Has("text"))
    router.message.register(not_meeting_text, closes, *typed)
    poll_steps = StateFilter(*(step for step, _what, _lang in POLL_STEPS))
    router.message.register(poll_step_given, poll_steps, *typed, Has("text"))
    router.message.register(not_poll_text, poll_steps, *typed)
    buttons = router.callback_query
    buttons.filter(CallbackPrefix(AnnCb))
    buttons.register(refused, ~MayAct())
    buttons.register(stop, AnnCb.filter(F.action == "stop"))
    buttons.register(cancel_meeting_asked, AnnCb.filter(F.action == "mcancel"))
    buttons.register(cancel_meeting_confirmed, AnnCb.filter(F.action == "mcancelok"))
    buttons.register(cancel_meeting_kept, AnnCb.filter(F.action == "mcancelno"))
    buttons.register(cancel, AnnCb.filter(F.action == "cancel"), form)
    buttons.register(kind_chosen, AnnCb.filter(F.action == "kind"), StateFilter(AnnounceForm.kind))
    districts = StateFilter(AnnounceForm.districts)
    changes = AnnCb.filter(F.action.in_({"tog", "all", "page"}))
    buttons.register(districts_changed, changes, districts)
    buttons.register(districts_done, AnnCb.filter(F.action == "next"), districts)
    buttons.register(send, AnnCb.filter(F.action == "send"), StateFilter(AnnounceForm.review))
    buttons.register(stale, AnnCb.filter())
    return router
