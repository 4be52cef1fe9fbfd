"""The officials' group chat: buttons on appeal cards, and what an official writes in reply
(an answer, an extension, the number of an earlier appeal)."""

from __future__ import annotations

import re
from datetime import date, datetime

from aiogram import Router
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ForceReply, Message, User
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardCb
from bot.catalog import Catalog
from bot.filters import Has
from bot.officials import ActionResult, Official, OfficialsService
from bot.replies import answer_in_parts
from bot.status import is_open
from bot.views import card as card_view
from bot.views.common import html, shorten
from bot.views.my_appeals import status_label
from i18n.formatting import long_date
from storage.models import Appeal, Outcome


class OfficialInput(StatesGroup):
    """The official owes a reply: data holds the action and the appeal."""

    reply = State()


def official_of(user: User) -> Official:
    return Official(user.id, user.full_name)


async def card_pressed(
    query: CallbackQuery,
    callback_data: CardCb,
    officials: OfficialsService,
    catalog: Catalog,
    state: FSMContext,
) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    with officials.i18n.use_locale(officials.language):
        if not await officials.may_act(message.chat.id, query.from_user.id):
            await query.answer(
                _("Only officials of this chat can act on appeals."), show_alert=True
            )
            return
        appeal = await officials.repo.get_appeal(callback_data.appeal)
        if appeal is None:
            await query.answer(_("Appeal not found."), show_alert=True)
            return
        official = official_of(query.from_user)
        match callback_data.action:
            case "take":
                result = await officials.take(appeal.id, official)
                await after_action(query, result, officials, _("Taken."))
            case "answer" | "extend" | "dup" | "forward" if not is_open(appeal.status):
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
                await ask_answer_text(query, callback_data, appeal, state)
                templates = card_view.templates_keyboard(appeal.id, catalog, officials.language)
                if templates is not None:
                    await message.answer(
                        _("Templates in the language of the appeal:"), reply_markup=templates
                    )
            case "tpl":
                template = catalog.template(callback_data.arg)
                await query.answer()
                if template is not None:
                    # <code> text is copied with one tap; the official edits and replies.
                    await message.answer(f"<code>{html(template.text(appeal.language))}</code>")
            case "extend":
                latest = long_date(officials.latest_extension(appeal), officials.language)
                await ask_reply(
                    query, state, appeal, "extend",
                    _("Reply with the new deadline as DD.MM.YYYY (no later than {date}) and, on "
                      "the next line, the reason. The citizen will be told both.").format(
                        date=latest),
                )  # fmt: skip
            case "dup":
                await ask_reply(
                    query, state, appeal, "dup",
                    _("Reply with the number of the earlier appeal this one repeats, e.g. "
                      "2026-00012."),
                )  # fmt: skip
            case "forward":
                await query.answer()
                await message.answer(
                    _("Forward appeal № {reference} to:").format(reference=html(appeal.reference)),
                    reply_markup=card_view.departments_keyboard(
                        appeal.id, catalog, officials.language
                    ),
                )
            case "fwd":
                card = await officials.card_message(appeal)
                result = await officials.forward(appeal.id, official, callback_data.arg)
                await query.answer(_("Forwarded.") if result.done else "")
                await message.delete()
                await refresh(officials, result, card)
            case "drop":
                await state.clear()
                await query.answer(_("Cancelled."))
                await message.delete()
            case "contact":
                await show_contact(query, appeal, officials)
            case "full":
                await query.answer()
                await answer_in_parts(message, officials.render_card(appeal, full=True))
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


async def ask_reply(
    query: CallbackQuery, state: FSMContext, appeal: Appeal, action: str, prompt: str,
    **extra: str,
) -> None:  # fmt: skip
    """Groups hide ordinary messages from bots, so the official replies to the bot's prompt."""
    await query.answer()
    await state.set_state(OfficialInput.reply)
    await state.set_data({"action": action, "appeal": appeal.id, **extra})
    assert isinstance(query.message, Message)
    await query.message.answer(
        f"<b>№ {html(appeal.reference)}</b>\n{prompt}", reply_markup=ForceReply(selective=True)
    )


async def ask_answer_text(
    query: CallbackQuery, callback_data: CardCb, appeal: Appeal, state: FSMContext
) -> None:
    try:
        outcome = Outcome(callback_data.arg)
    except ValueError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    assert isinstance(query.message, Message)
    await query.message.edit_text(
        _("{name}: answer to № {reference} — {outcome}.").format(
            name=html(query.from_user.full_name),
            reference=html(appeal.reference),
            outcome=card_view.outcome_label(outcome),
        )
    )
    await ask_reply(
        query, state, appeal, "answer",
        _("Reply to this message with the text of the answer (you may attach a document with "
          "the text as its caption). It goes to the citizen as written."),
        outcome=outcome.value,
    )  # fmt: skip


async def official_replied(
    message: Message, state: FSMContext, officials: OfficialsService
) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    text = (message.text or message.caption or "").strip()
    official = official_of(message.from_user)
    appeal_id = int(data["appeal"])
    with officials.i18n.use_locale(officials.language):
        match data.get("action"):
            case "answer":
                if len(text) < 2:
                    await message.reply(_("The answer needs a text. Reply again with the text."))
                    return
                file_id = message.document.file_id if message.document else None
                result = await officials.answer(
                    appeal_id, official, Outcome(data["outcome"]), text[:3500], file_id
                )
                done = _("✅ The answer to № {reference} is sent to the citizen.")
            case "extend":
                parsed = parse_extension(text)
                if parsed is None:
                    await message.reply(
                        _("Write the date as DD.MM.YYYY and the reason on the next line.")
                    )
                    return
                result = await officials.extend(appeal_id, official, *parsed)
                done = _("⏳ The deadline of № {reference} is extended; the citizen is told.")
            case "dup":
                result = await officials.mark_duplicate(appeal_id, official, text)
                done = _("🔁 № {reference} is marked as a duplicate; the citizen is told.")
            case _:
                await state.clear()
                return
        if not result.done and result.reason in ("not_later", "too_late", "no_original"):
            await message.reply(refusal_text(result, officials))
            return  # the official may reply again
        await state.clear()
        appeal = result.appeal
        if appeal is None:
            await message.reply(_("Appeal not found."))
        elif not result.done:
            await message.reply(
                _("Not done: appeal № {reference} is already «{status}».").format(
                    reference=html(appeal.reference), status=status_label(appeal.status)
                )
            )
        else:
            await message.reply(done.format(reference=html(appeal.reference)))
            await refresh(officials, result, await officials.card_message(appeal))


def refusal_text(result: ActionResult, officials: OfficialsService) -> str:
    assert result.appeal is not None
    if result.reason == "not_later":
        return _("The new deadline must be later than the current one. Reply again.")
    if result.reason == "too_late":
        latest = long_date(officials.latest_extension(result.appeal), officials.language)
        return _("The law allows at most two months: no later than {date}. Reply again.").format(
            date=latest
        )
    return _("No appeal with that number. Reply again with a number like 2026-00012.")


def parse_extension(text: str) -> tuple[date, str] | None:
    first, _sep, rest = text.strip().partition("\n")
    match = re.fullmatch(r"\s*(\d{1,2})[./-](\d{1,2})[./-](\d{4})\s*(.*)", first)
    if not match:
        return None
    day, month, year, tail = match.groups()
    reason = " ".join(part for part in (tail.strip(), rest.strip()) if part)
    try:
        when = datetime(int(year), int(month), int(day)).date()
    except ValueError:
        return None
    return (when, reason[:500]) if reason else None


async def show_contact(query: CallbackQuery, appeal: Appeal, officials: OfficialsService) -> None:
    if appeal.contact_phone is None:
        await query.answer(_("The citizen has erased their personal data."), show_alert=True)
        return
    await officials.contact_viewed(appeal.id, query.from_user.id)
    # An alert is seen by the official who pressed, not by the whole chat.
    await query.answer(
        card_view.contact_alert(appeal.contact_name, appeal.contact_phone), show_alert=True
    )


class InGroup(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type in ("group", "supergroup")


def create_router() -> Router:
    router = Router(name="officials")
    router.callback_query.register(card_pressed, CardCb.filter())
    router.message.register(
        official_replied, InGroup(), StateFilter(OfficialInput.reply), Has("text", "document")
    )
    return router
