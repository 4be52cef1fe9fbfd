"""The officials' group chat: buttons on appeal cards, the bot's prompts, what an official
writes in reply to one (an answer, an extension, the number of an earlier appeal), and the
preview that must be confirmed before anything reaches the citizen."""

from __future__ import annotations

import re
from html import unescape

from aiogram import Router
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
from bot.domain.status import is_open
from bot.services.erasure import CitizenErasure
from bot.services.officials import Access, ActionResult, Official, OfficialsService
from bot.services.prompts import OfficialPrompts
from bot.telegram.callbacks import CardCb, PromptCb
from bot.telegram.filters import author
from bot.telegram.replies import answer_in_parts, send_in_parts
from bot.views import card as card_view
from bot.views import officials as officials_view
from bot.views import prompts as view
from bot.views.common import html, shorten
from bot.views.my_appeals import status_label
from i18n.formatting import long_date
from storage.models import Appeal, Outcome
from storage.prompts import Prompt, PromptAction


def official_of(user: User) -> Official:
    return Official(user.id, user.full_name)


def plain(text: str) -> str:
    """An alert shows plain text: drop the tags and entities an HTML message would carry."""
    return unescape(re.sub(r"<[^<>]*>", "", text))


async def card_pressed(
    query: CallbackQuery,
    callback_data: CardCb,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    catalog: Catalog,
    erasure: CitizenErasure,
    officials_language: str,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    chat = message.chat.id
    access = await officials.appeal_for(chat, query.from_user.id, callback_data.appeal)
    if access.refused == Access.NOT_OFFICIAL:
        await query.answer(_("Only officials of this chat can act on appeals."), show_alert=True)
        return
    if access.refused == Access.MISSING:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    if access.refused == Access.OTHER_CHAT or access.appeal is None:
        await query.answer(
            _("Only officials of the chat that holds the appeal can act on it."),
            show_alert=True,
        )
        return
    appeal = access.appeal
    official = official_of(query.from_user)
    match callback_data.action:
        case "take":
            result = await officials.take(appeal.id, official)
            await after_action(query, result, officials, _("Taken."))
        case "answer" | "extend" | "dup" | "forward" | "outcome" if not is_open(appeal.status):
            await after_action(query, ActionResult(appeal, False, "already"), officials, "")
        case "ask" if not is_open(appeal.status) or appeal.citizen_id is None:
            # Closed, or the citizen erased their data (/forget): nobody to ask.
            await after_action(query, ActionResult(appeal, False, "already"), officials, "")
        case "answer":
            await query.answer()
            await message.answer(
                _("{name}, how is appeal № {reference} resolved?").format(
                    name=html(official.name), reference=html(appeal.reference)
                ),
                reply_markup=card_view.outcome_keyboard(appeal.id),
            )
        case "outcome":
            await outcome_chosen(
                query, message, callback_data, appeal, prompts, catalog, officials_language
            )
        case "tpl":
            template = catalog.template(callback_data.arg)
            await query.answer()
            if template is not None:
                # <code> text is copied with one tap; the official edits and replies.
                await message.answer(f"<code>{html(template.text(appeal.language))}</code>")
        case "extend":
            await query.answer()
            latest = long_date(officials.latest_extension(appeal), officials_language)
            who = view.mention(official.id, official.name)
            await open_prompt(
                message, prompts, appeal, official, PromptAction.EXTEND,
                view.extension_prompt(appeal.reference, who, latest),
            )  # fmt: skip
        case "dup":
            await query.answer()
            who = view.mention(official.id, official.name)
            await open_prompt(
                message, prompts, appeal, official, PromptAction.DUPLICATE,
                view.duplicate_prompt(appeal.reference, who),
            )  # fmt: skip
        case "ask":
            await query.answer()
            who = view.mention(official.id, official.name)
            await open_prompt(
                message, prompts, appeal, official, PromptAction.ASK,
                view.ask_prompt(appeal.reference, who, view.language_of(appeal)),
            )  # fmt: skip
        case "forward":
            await query.answer()
            await message.answer(
                _("Forward appeal № {reference} to:").format(reference=html(appeal.reference)),
                reply_markup=card_view.departments_keyboard(appeal.id, catalog, officials_language),
            )
        case "fwd":
            card = await officials.card_message(appeal)
            result = await officials.forward(appeal.id, official, callback_data.arg)
            await query.answer(_("Forwarded.") if result.done else "")
            await message.delete()
            await refresh(officials, result, card)
        case "drop":
            await query.answer(_("Cancelled."))
            await message.delete()
        case "contact":
            await show_contact(query, appeal, officials)
        case "full":
            await query.answer()
            sent = await send_in_parts(message, officials.render_card(appeal, full=True))
            await erasure.copy_posted(appeal.id, chat, [m.message_id for m in sent])
        case _:
            await query.answer(_("This button is no longer active."), show_alert=True)


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
        # A second click, or a click on a finished appeal: say who got there first (a name
        # cut to 64 units leaves the status room in the alert's 200).
        who = appeal.answered_by_name or appeal.taken_by_name or "—"
        await query.answer(
            _("Already done by {name}. Status: {status}.").format(
                name=shorten(who, 64), status=status_label(appeal.status)
            ),
            show_alert=True,
        )
    if isinstance(query.message, Message):
        await officials.refresh_card(appeal, query.message.chat.id, query.message.message_id)


async def outcome_chosen(
    query: CallbackQuery,
    message: Message,
    callback_data: CardCb,
    appeal: Appeal,
    prompts: OfficialPrompts,
    catalog: Catalog,
    lang: str,
) -> None:
    try:
        outcome = Outcome(callback_data.arg)
    except ValueError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    await query.answer()
    official = official_of(query.from_user)
    await message.edit_text(
        _("{name}: answer to № {reference} — {outcome}.").format(
            name=html(official.name),
            reference=html(appeal.reference),
            outcome=card_view.outcome_label(outcome),
        )
    )
    who = view.mention(official.id, official.name)
    await open_prompt(
        message, prompts, appeal, official, PromptAction.ANSWER,
        view.answer_prompt(appeal.reference, who), outcome,
    )  # fmt: skip
    templates = card_view.templates_keyboard(appeal.id, catalog, lang)
    if templates is not None:
        await message.answer(_("Templates in the language of the appeal:"), reply_markup=templates)


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
    and ForceReply opens the reply field for the official it mentions."""
    sent = await message.answer(text, reply_markup=ForceReply(selective=True))
    return await prompts.open(message.chat.id, sent.message_id, appeal, action, official, outcome)


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
    return view.refusal_text(reason, prompt, appeal, latest)


async def prompt_pressed(
    query: CallbackQuery,
    callback_data: PromptCb,
    officials: OfficialsService,
    prompts: OfficialPrompts,
    officials_language: str,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    official = official_of(query.from_user)
    match callback_data.action:
        case "send":
            result = await prompts.send(callback_data.prompt, message.message_id, official)
        case "edit":
            result = await prompts.edit(callback_data.prompt, message.message_id, official)
        case "cancel":
            result = await prompts.cancel(callback_data.prompt, message.message_id, official)
        case _:
            await query.answer(_("This button is no longer active."), show_alert=True)
            return
    prompt, appeal = result.prompt, result.appeal
    if prompt is None or result.refusal is not None:
        if prompt is None:
            await query.answer(_("This button is no longer active."), show_alert=True)
            return
        reason = result.refusal or Refusal.NOT_PENDING
        text = refusal(reason, prompt, appeal, officials, officials_language)
        await query.answer(plain(text), show_alert=True)
        if result.refusal in (
            Refusal.EXPIRED, Refusal.OUTDATED, Refusal.NOT_PENDING, Refusal.CLOSED
        ):  # fmt: skip
            await retire(message)
        return
    await query.answer()
    await retire(message)
    assert appeal is not None
    match callback_data.action:
        case "send":
            acted = result.action
            assert acted is not None
            if acted.done:
                await message.reply(view.done_text(prompt.action, appeal.reference))
                await refresh(officials, acted, await officials.card_message(appeal))
            else:
                await message.reply(view.not_done_text(appeal))
        case "edit":
            who = view.mention(official.id, official.name)
            outcome = Outcome(prompt.outcome) if prompt.outcome else None
            await open_prompt(
                message, prompts, appeal, official, prompt.action,
                view.corrected_prompt(appeal.reference, who), outcome,
            )  # fmt: skip
        case _:
            await message.reply(view.cancelled_text(appeal.reference))


async def retire(message: Message) -> None:
    """A preview that was acted on keeps its text, as the record of what was sent, and loses
    its buttons."""
    if message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)


async def show_contact(query: CallbackQuery, appeal: Appeal, officials: OfficialsService) -> None:
    if appeal.contact_phone is None:
        await query.answer(_("The citizen has erased their personal data."), show_alert=True)
        return
    await officials.contact_viewed(appeal.id, query.from_user.id)
    # An alert is seen by the official who pressed, not by the whole chat.
    await query.answer(
        card_view.contact_alert(appeal.contact_name, appeal.contact_phone, appeal.contact_address),
        show_alert=True,
    )


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


def create_router() -> Router:
    router = Router(name="officials")
    router.callback_query.register(card_pressed, CardCb.filter())
    router.callback_query.register(prompt_pressed, PromptCb.filter())
    router.message.register(prompt_replied, PromptReply())
    router.chat_member.register(member_changed)
    return router
