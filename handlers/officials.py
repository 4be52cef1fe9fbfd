"""The officials' group chat: buttons on appeal cards, the bot's prompts, what an official
writes in reply to one (an answer, an extension, the number of an earlier appeal), and the
preview that must be confirmed before anything reaches the citizen.

One handler per button, registered with CardCb.filter / PromptCb.filter on its action. Who may
press a card's button in which chat on which appeal is one filter (`OnCard`) in front of
them all; a press it turns down reaches `card_refused`, which says why."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any, Literal

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.filters import Filter
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    ForceReply,
    Message,
    User,
)
from aiogram.utils.i18n import gettext as _

from bot.domain.catalog import Catalog
from bot.domain.prompts import Draft, Refusal
from bot.domain.status import Action, allows, is_open
from bot.services.erasure import CitizenErasure
from bot.services.officials import Access, ActionResult, Official, OfficialsService
from bot.services.prompts import OfficialPrompts, SendResult
from bot.telegram.callbacks import CardCb, PromptCb
from bot.telegram.filters import Has, author
from bot.telegram.replies import answer_in_parts, send_in_parts
from bot.views import card as card_view
from bot.views import officials as officials_view
from bot.views import prompts as view
from bot.views.common import html, shorten
from bot.views.my_appeals import status_label
from handlers.dialog import MessageGone, noop
from i18n.formatting import long_date
from storage.models import Appeal, Outcome
from storage.prompts import Prompt, PromptAction

# «✖️ Cancel» under the outcome question and the department list: card:drop:<appeal>:
CARD_DROP = f"{CardCb.__prefix__}{CardCb.__separator__}drop{CardCb.__separator__}"


def official_of(user: User) -> Official:
    return Official(user.id, user.full_name)


def plain(text: str) -> str:
    """An alert shows plain text: drop the tags and entities an HTML message would carry."""
    return unescape(re.sub(r"<[^<>]*>", "", text))


# --- who may press a card's button ---------------------------------------------------------


# Why a card's button is turned down; see card_access.
Denied = Literal["gone", "chat", "missing", "holder"]


async def card_access(
    query: CallbackQuery, appeal_id: int, officials: OfficialsService
) -> Appeal | Denied:
    """The appeal the button acts on, if the presser may act on it in this chat; otherwise
    why not: "gone" (the message is too old to act on), "chat" (not an official of this
    chat), "missing" (no such appeal), "holder" (another chat holds the appeal)."""
    message = query.message
    if not isinstance(message, Message):
        return "gone"
    access = await officials.appeal_for(message.chat.id, query.from_user.id, appeal_id)
    if access.refused == Access.NOT_OFFICIAL:
        return "chat"
    if access.refused == Access.MISSING:
        return "missing"
    if access.refused or access.appeal is None:
        return "holder"
    return access.appeal


class OnCard(Filter):
    """The presser may act on the button's appeal here: the appeal and the message the
    button is on go to the handler. Async, as every filter (tests/test_routing.py)."""

    async def __call__(
        self, query: CallbackQuery, callback_data: CardCb, officials: OfficialsService
    ) -> bool | dict[str, Any]:
        found = await card_access(query, callback_data.appeal, officials)
        if isinstance(found, str):
            return False
        return {"appeal": found, "where": query.message}


async def card_refused(
    query: CallbackQuery, callback_data: CardCb, officials: OfficialsService
) -> None:
    """A card button that `OnCard` turned down, or one no handler knows. The checks run
    again here (membership is cached), so the accepted presses, nearly all, run them once."""
    match await card_access(query, callback_data.appeal, officials):
        case "gone":
            await query.answer()
        case "chat":
            text = _("Only officials of this chat can act on appeals.")
            await query.answer(text, show_alert=True)
        case "missing":
            await query.answer(_("Appeal not found."), show_alert=True)
        case "holder":
            text = _("Only officials of the chat that holds the appeal can act on it.")
            await query.answer(text, show_alert=True)
        case _:
            await query.answer(_("This button is no longer active."), show_alert=True)


async def already(query: CallbackQuery, appeal: Appeal, officials: OfficialsService) -> None:
    """A button of an action the appeal is past (it is closed): who got there first."""
    await after_action(query, ActionResult(appeal, False, "already"), officials, "")


async def refused(
    query: CallbackQuery,
    appeal: Appeal,
    action: Action,
    where: Message,
    officials: OfficialsService,
    catalog: Catalog,
) -> bool:
    """True when the status table does not allow `action` on the appeal now (a stale card or
    picker offered it), and the official was told why: who finished a closed appeal, or
    that its status does not allow this. The card is redrawn with what is allowed."""
    if allows(appeal.status, action):
        return False
    if not is_open(appeal.status):
        await already(query, appeal, officials)
    else:
        await query.answer(card_view.not_allowed_alert(appeal, catalog), show_alert=True)
        await officials.refresh_card(appeal, where.chat.id, where.message_id)
    return True


def refused_text(appeal: Appeal, catalog: Catalog) -> str:
    """Why a forbidden press did nothing: who finished the appeal, or that its status does
    not allow it."""
    if is_open(appeal.status):
        return card_view.not_allowed_alert(appeal, catalog)
    return already_text(appeal)


# --- a card's buttons ----------------------------------------------------------------------


async def take_pressed(query: CallbackQuery, appeal: Appeal, officials: OfficialsService) -> None:
    result = await officials.take(appeal.id, official_of(query.from_user))
    await after_action(query, result, officials, _("Taken."))


async def answer_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    catalog: Catalog,
) -> None:
    if await refused(query, appeal, Action.ANSWER, where, officials, catalog):
        return
    await query.answer()
    await where.answer(
        _("{name}, how is appeal № {reference} resolved?").format(
            name=html(query.from_user.full_name), reference=html(appeal.reference)
        ),
        reply_markup=card_view.outcome_keyboard(appeal.id),
    )


async def outcome_chosen(
    query: CallbackQuery,
    callback_data: CardCb,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if await refused(query, appeal, Action.ANSWER, where, officials, catalog):
        return
    try:
        outcome = Outcome(callback_data.arg)
        if not is_question(where):
            # Pressed on the card itself (forged): the card is not turned into the question.
            raise ValueError(callback_data.arg)
    except ValueError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    official = official_of(query.from_user)
    await where.edit_text(
        _("{name}: answer to № {reference} — {outcome}.").format(
            name=html(official.name),
            reference=html(appeal.reference),
            outcome=card_view.outcome_label(outcome),
        )
    )
    who = view.mention(official.id, official.name)
    await open_prompt(
        where, prompts, appeal, official, PromptAction.ANSWER,
        view.answer_prompt(appeal.reference, who), outcome,
    )  # fmt: skip
    templates = card_view.templates_keyboard(appeal.id, catalog, officials_language)
    if templates is not None:
        await where.answer(_("Templates in the language of the appeal:"), reply_markup=templates)


async def template_pressed(
    query: CallbackQuery,
    callback_data: CardCb,
    appeal: Appeal,
    where: Message,
    catalog: Catalog,
) -> None:
    template = catalog.template(callback_data.arg)
    await query.answer()
    if template is not None:
        # <code> text is copied with one tap; the official edits and replies.
        await where.answer(f"<code>{html(template.text(appeal.language))}</code>")


async def extend_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if await refused(query, appeal, Action.EXTEND, where, officials, catalog):
        return
    await query.answer()
    official = official_of(query.from_user)
    latest = long_date(officials.latest_extension(appeal), officials_language)
    who = view.mention(official.id, official.name)
    await open_prompt(
        where, prompts, appeal, official, PromptAction.EXTEND,
        view.extension_prompt(appeal.reference, who, latest),
    )  # fmt: skip


async def duplicate_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    catalog: Catalog,
) -> None:
    if await refused(query, appeal, Action.DUPLICATE, where, officials, catalog):
        return
    await query.answer()
    official = official_of(query.from_user)
    who = view.mention(official.id, official.name)
    await open_prompt(
        where, prompts, appeal, official, PromptAction.DUPLICATE,
        view.duplicate_prompt(appeal.reference, who),
    )  # fmt: skip


async def ask_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    catalog: Catalog,
) -> None:
    if await refused(query, appeal, Action.ASK, where, officials, catalog):
        return
    if appeal.citizen_id is None:
        # The citizen erased their data (/forget): nobody to ask.
        await already(query, appeal, officials)
        return
    await query.answer()
    official = official_of(query.from_user)
    who = view.mention(official.id, official.name)
    await open_prompt(
        where, prompts, appeal, official, PromptAction.ASK,
        view.ask_prompt(appeal.reference, who, view.language_of(appeal)),
    )  # fmt: skip


async def forward_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    catalog: Catalog,
    officials_language: str,
) -> None:
    if await refused(query, appeal, Action.FORWARD, where, officials, catalog):
        return
    await query.answer()
    await where.answer(
        _("Forward appeal № {reference} to:").format(reference=html(appeal.reference)),
        reply_markup=card_view.departments_keyboard(appeal.id, catalog, officials_language),
    )


def is_question(message: Message) -> bool:
    """The outcome question or the department list (their «✖️ Cancel» is their mark), which
    go once used; not the card, nor anything else a forged button is pressed on."""
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup is not None else []
    return any((button.callback_data or "").startswith(CARD_DROP) for row in rows for button in row)


async def department_chosen(
    query: CallbackQuery,
    callback_data: CardCb,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    catalog: Catalog,
) -> None:
    card = await officials.card_message(appeal)
    # Only the department list goes once used: a department pressed on the card itself (a
    # forged button) must not delete the chat's one place to act on the appeal.
    question = is_question(where)
    if not allows(appeal.status, Action.FORWARD):
        # A stale department list: the appeal moved on since it was shown.
        await query.answer(refused_text(appeal, catalog), show_alert=True)
        if question:
            await where.delete()
        await refresh(officials, ActionResult(appeal, False), card)
        return
    if not question:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    result = await officials.forward(appeal.id, official_of(query.from_user), callback_data.arg)
    if result.done:
        await query.answer(_("Forwarded."))
    else:  # someone else moved it meanwhile
        await query.answer(refused_text(result.appeal or appeal, catalog), show_alert=True)
    await where.delete()
    if not result.done:  # done: the forward edited the card with it
        await refresh(officials, result, card)


async def dropped(query: CallbackQuery, where: Message) -> None:
    """Cancel under the outcome question or the departments: the question goes."""
    if not is_question(where):
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer(_("Cancelled."))
    await where.delete()


async def contact_pressed(
    query: CallbackQuery, appeal: Appeal, officials: OfficialsService
) -> None:
    if appeal.contact_phone is None:
        await query.answer(_("The citizen has erased their personal data."), show_alert=True)
        return
    await officials.contact_viewed(appeal.id, query.from_user.id)
    # An alert is seen by the official who pressed, not by the whole chat.
    await query.answer(
        card_view.contact_alert(appeal.contact_name, appeal.contact_phone, appeal.contact_address),
        show_alert=True,
    )


async def full_text_pressed(
    query: CallbackQuery,
    appeal: Appeal,
    where: Message,
    officials: OfficialsService,
    erasure: CitizenErasure,
) -> None:
    await query.answer()
    sent = await send_in_parts(where, officials.render_card(appeal, full=True))
    await erasure.copy_posted(appeal.id, where.chat.id, [m.message_id for m in sent])


async def refresh(
    officials: OfficialsService, result: ActionResult, card: tuple[int, int] | None
) -> None:
    if result.appeal is not None and card is not None:
        await officials.refresh_card(result.appeal, *card)


async def after_action(
    query: CallbackQuery, result: ActionResult, officials: OfficialsService, done_text: str
) -> None:
    appeal = result.appeal
    assert appeal is not None
    if result.done:
        await query.answer(done_text)
    else:
        await query.answer(already_text(appeal), show_alert=True)
    if isinstance(query.message, Message):
        pressed = (query.message.chat.id, query.message.message_id)
        # Done: the change edited the appeal's card with it; an older card pressed is redrawn.
        if not result.done or pressed != await officials.card_message(appeal):
            await officials.refresh_card(appeal, *pressed)


def already_text(appeal: Appeal) -> str:
    # A second click, or a click on a finished appeal: say who got there first (a name cut
    # to 64 units leaves the status room in the alert's 200).
    who = appeal.answered_by_name or appeal.taken_by_name or "—"
    return _("Already done by {name}. Status: {status}.").format(
        name=shorten(who, 64), status=status_label(appeal.status)
    )


async def open_prompt(
    message: Message,
    prompts: OfficialPrompts,
    appeal: Appeal,
    official: Official,
    action: PromptAction,
    text: str,
    outcome: Outcome | None = None,
) -> Prompt:
    """Post a prompt and remember it by its message: the reply to it, and only that, is
    what the official means for this appeal. Groups hide ordinary messages from bots anyway,
    and ForceReply opens the reply field for the official it mentions. Recorded before it
    is posted: a prompt out in the chat is never one the bot does not know of (see
    `unrecorded_replied`)."""
    reserved = await prompts.reserve(message.chat.id, appeal, action, official, outcome)
    try:
        sent = await message.answer(text, reply_markup=ForceReply(selective=True))
    except TelegramNetworkError:
        raise  # perhaps posted all the same: the row stays POSTING, a reply to it is told
    except TelegramAPIError:
        await prompts.unposted(reserved)  # refused: nothing is in the chat
        raise
    return await prompts.posted(reserved, sent.message_id) or reserved


# --- replies to prompts -------------------------------------------------------------------


async def prompt_replied(
    message: Message,
    prompt: Prompt,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    officials_language: str,
) -> None:
    """The official's reply to a prompt becomes a draft, shown back as a preview; nothing
    reaches the citizen before «Send»."""
    person = author(message)
    if person is None:
        await message.reply(officials_view.anonymous_text())
        return
    text = message.text or message.caption or ""
    if message.photo or message.video or message.sticker or message.voice:
        text = ""  # only a text or a document reaches the citizen: say so, not drop it
    file_id = message.document.file_id if message.document else None
    result = await prompts.reply(prompt, official_of(person), text, file_id)
    appeal = result.appeal
    if result.refusal is not None or result.draft is None or appeal is None:
        reason = result.refusal or Refusal.CLOSED
        await message.reply(refusal(reason, prompt, appeal, officials, officials_language))
        return
    await show_preview(message, officials, prompts, prompt, appeal, result.draft)


async def show_preview(
    message: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    prompt: Prompt,
    appeal: Appeal,
    draft: Draft,
) -> None:
    with officials.speaking(appeal.language):
        for_citizen = view.citizen_text(draft, appeal, appeal.language)
    text = view.preview_text(appeal, draft, for_citizen)
    sent = await answer_in_parts(
        message, text, view.preview_keyboard(prompt), reply_to=message.message_id
    )
    await prompts.previewed(prompt, sent.message_id)


def refusal(
    reason: Refusal, prompt: Prompt, appeal: Appeal | None, officials: OfficialsService, lang: str
) -> str:
    latest = long_date(officials.latest_extension(appeal), lang) if appeal else "—"
    shown = due = "—"
    if reason == Refusal.EXTENDED_SINCE and appeal is not None:
        if prompt.draft_due_at is not None:
            shown = long_date(prompt.draft_due_at.astimezone(appeal.due_at.tzinfo).date(), lang)
        due = long_date(appeal.due_at.date(), lang)
    return view.refusal_text(reason, prompt, appeal, latest, shown, due)


# --- the buttons under a preview: send, edit, cancel ----------------------------------------


async def preview_sent(
    query: CallbackQuery,
    callback_data: PromptCb,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    officials_language: str,
) -> None:
    official = official_of(query.from_user)
    result = await prompts.send(callback_data.prompt, where.message_id, official)
    if not await settled(query, where, result, officials, officials_language):
        return
    assert result.prompt is not None and result.appeal is not None
    acted, appeal = result.action, result.appeal
    assert acted is not None
    if acted.done:
        await where.reply(
            view.done_text(result.prompt.action, appeal.reference, erased=appeal.erased)
        )
        if result.prompt.action == PromptAction.ASK:  # the other actions edited it already
            await refresh(officials, acted, await officials.card_message(appeal))
    else:
        await where.reply(view.not_done_text(appeal, acted.reason))


async def preview_edited(
    query: CallbackQuery,
    callback_data: PromptCb,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    officials_language: str,
) -> None:
    """«Edit»: a new prompt takes the place of this one; the corrected reply goes to it."""
    official = official_of(query.from_user)
    result = await prompts.edit(callback_data.prompt, where.message_id, official)
    if not await settled(query, where, result, officials, officials_language):
        return
    prompt, appeal = result.prompt, result.appeal
    assert prompt is not None and appeal is not None
    who = view.mention(official.id, official.name)
    outcome = Outcome(prompt.outcome) if prompt.outcome else None
    await open_prompt(
        where, prompts, appeal, official, prompt.action,
        view.corrected_prompt(appeal.reference, who), outcome,
    )  # fmt: skip


async def preview_cancelled(
    query: CallbackQuery,
    callback_data: PromptCb,
    where: Message,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    officials_language: str,
) -> None:
    official = official_of(query.from_user)
    result = await prompts.cancel(callback_data.prompt, where.message_id, official)
    if not await settled(query, where, result, officials, officials_language):
        return
    assert result.appeal is not None
    await where.reply(view.cancelled_text(result.appeal.reference))


async def settled(
    query: CallbackQuery,
    where: Message,
    result: SendResult,
    officials: OfficialsService,
    officials_language: str,
) -> bool:
    """Answer the press. True when the service did what was asked (the preview, done with,
    loses its buttons); False when it refused, and the official was told why."""
    prompt, appeal = result.prompt, result.appeal
    if prompt is None:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return False
    if result.refusal is not None:
        text = refusal(result.refusal, prompt, appeal, officials, officials_language)
        await query.answer(plain(text), show_alert=True)
        if result.refusal in (
            Refusal.EXPIRED, Refusal.OUTDATED, Refusal.NOT_PENDING, Refusal.CLOSED,
            Refusal.EXTENDED_SINCE,
        ):  # fmt: skip
            await retire(where)
        return False
    await query.answer()
    await retire(where)
    return True


async def preview_stale(query: CallbackQuery) -> None:
    """A preview button no handler knows: a forged one."""
    await query.answer(_("This button is no longer active."), show_alert=True)


async def retire(message: Message) -> None:
    """A preview that was acted on keeps its text, as the record of what was sent, and loses
    its buttons."""
    if message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)


async def member_changed(update: ChatMemberUpdated, officials: OfficialsService) -> None:
    """Someone joined, left or was removed: their next press asks Telegram afresh."""
    officials.membership_changed(update.chat.id, update.new_chat_member.user.id)


class PromptReply(Filter):
    """A reply to one of the bot's prompts; the prompt is handed to the handler. Anything
    else (a reply to a card, a citizen replying to a question in a dialog) goes on."""

    async def __call__(
        self, message: Message, prompts: OfficialPrompts
    ) -> bool | dict[str, Prompt]:
        replied = message.reply_to_message
        # Message ids are unique within a chat, so (chat, id) finds the prompt; replies to
        # people's messages never reach the database.
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return False
        prompt = await prompts.prompt_at(message.chat.id, replied.message_id)
        return {"prompt": prompt} if prompt is not None else False


class UnrecordedReply(Filter):
    """A reply to a message of the bot's that is one of the replier's prompts posted but
    never recorded (`OfficialPrompts.unrecorded`); it goes to the handler as `unrecorded`."""

    async def __call__(
        self, message: Message, prompts: OfficialPrompts
    ) -> bool | dict[str, tuple[Prompt, Appeal]]:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.from_user.is_bot:
            return False
        if message.from_user is None:
            return False
        found = await prompts.unrecorded(message.chat.id, message.from_user.id, replied.text)
        return {"unrecorded": found} if found is not None else False


async def unrecorded_replied(message: Message, unrecorded: tuple[Prompt, Appeal]) -> None:
    """The reply is to a prompt the bot never recorded: nothing can take it (not a dialog
    open in private, which would make it its text); the official presses the button again."""
    prompt, appeal = unrecorded
    await message.reply(view.refusal_text(Refusal.UNRECORDED, prompt, appeal, "—", "—", "—"))


class Where(Filter):
    """The button's message is still there to act on; it goes to the handler as `where`."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        return {"where": query.message} if isinstance(query.message, Message) else False


def on_card(router: Router, action: str, handler: Callable[..., Any]) -> None:
    """`handler` for a card button's `action`, if the presser may act on its appeal here."""
    router.callback_query.register(handler, CardCb.filter(F.action == action), OnCard())


def on_preview(router: Router, action: str, handler: Callable[..., Any]) -> None:
    router.callback_query.register(handler, PromptCb.filter(F.action == action), Where())


def create_router() -> Router:
    router = Router(name="officials")
    on_card(router, "take", take_pressed)
    on_card(router, "answer", answer_pressed)
    on_card(router, "outcome", outcome_chosen)
    on_card(router, "tpl", template_pressed)
    on_card(router, "extend", extend_pressed)
    on_card(router, "dup", duplicate_pressed)
    on_card(router, "ask", ask_pressed)
    on_card(router, "forward", forward_pressed)
    on_card(router, "fwd", department_chosen)
    on_card(router, "drop", dropped)
    on_card(router, "contact", contact_pressed)
    on_card(router, "full", full_text_pressed)
    # Turned down by OnCard, or an action no handler knows: the presser is told why.
    router.callback_query.register(card_refused, CardCb.filter())
    # A preview too old to edit gets a bare answer, as a card's button does.
    router.callback_query.register(noop, MessageGone(), PromptCb.filter())
    on_preview(router, "send", preview_sent)
    on_preview(router, "edit", preview_edited)
    on_preview(router, "cancel", preview_cancelled)
    router.callback_query.register(preview_stale, PromptCb.filter())
    router.chat_member.register(member_changed)
    return router


def create_prompts_router() -> Router:
    """Replies to the officials' prompts (a card's «✍️», «⏳», «❓»…). Matched before every
    dialog: in private (an administrator's card from /find) any message answers an open
    dialog's step (/announce, /new), and the reply to a prompt was taken as that step's text.
    The reply names its prompt, so it goes there whatever is open, and the dialog's state and
    data are left as they were. Other messages, replies to anything else included, go on."""
    router = Router(name="officials-prompts")
    # `Has` first: the router's gate (bot.telegram.routing) skips a message that replies to
    # nothing, so a dialog's typed step does not pay for this router.
    router.message.register(prompt_replied, Has("reply_to_message"), PromptReply())
    router.message.register(unrecorded_replied, Has("reply_to_message"), UnrecordedReply())
    return router
