"""The officials' group chat: buttons on appeal cards, and the answer an official writes."""

from __future__ import annotations

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
from bot.status import is_open
from bot.views import card as card_view
from bot.views.common import html
from bot.views.my_appeals import status_label
from storage.models import Outcome


class AnswerForm(StatesGroup):
    text = State()


def official_of(user: User) -> Official:
    return Official(user.id, user.full_name)


async def refused(query: CallbackQuery) -> None:
    await query.answer(_("Only officials of this chat can act on appeals."), show_alert=True)


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
            await refused(query)
            return
        match callback_data.action:
            case "take":
                result = await officials.take(callback_data.appeal, official_of(query.from_user))
                await after_action(query, result, officials, _("Taken."))
            case "answer":
                await ask_outcome(query, callback_data.appeal, officials)
            case "outcome":
                await ask_answer_text(query, callback_data, officials, state)
            case "drop":
                await state.clear()
                await query.answer(_("Cancelled."))
                await message.delete()
            case "contact":
                await show_contact(query, callback_data.appeal, officials)
            case "full":
                appeal = await officials.repo.get_appeal(callback_data.appeal)
                await query.answer()
                if appeal is not None:
                    await message.answer(
                        card_view.card_text(appeal, catalog, officials.language, full=True)
                    )
            case _:
                await query.answer(_("This button is no longer active."), show_alert=True)


async def after_action(
    query: CallbackQuery, result: ActionResult, officials: OfficialsService, done_text: str
) -> None:
    appeal = result.appeal
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    if not result.done:
        who = appeal.answered_by_name or appeal.taken_by_name or "—"
        await query.answer(
            _("Already done by {name}. Status: {status}.").format(
                name=who, status=status_label(appeal.status)
            ),
            show_alert=True,
        )
    else:
        await query.answer(done_text)
    if isinstance(query.message, Message):
        await officials.refresh_card(appeal, query.message.chat.id, query.message.message_id)


async def ask_outcome(query: CallbackQuery, appeal_id: int, officials: OfficialsService) -> None:
    appeal = await officials.repo.get_appeal(appeal_id)
    if appeal is None or not is_open(appeal.status):
        await after_action(query, ActionResult(appeal, False, "already"), officials, "")
        return
    await query.answer()
    assert isinstance(query.message, Message)
    await query.message.answer(
        _("{name}, how is appeal № {reference} resolved?").format(
            name=html(query.from_user.full_name), reference=html(appeal.reference)
        ),
        reply_markup=card_view.outcome_keyboard(appeal.id),
    )


async def ask_answer_text(
    query: CallbackQuery, callback_data: CardCb, officials: OfficialsService, state: FSMContext
) -> None:
    try:
        outcome = Outcome(callback_data.arg)
    except ValueError:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    appeal = await officials.repo.get_appeal(callback_data.appeal)
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    await query.answer()
    await state.set_state(AnswerForm.text)
    await state.set_data({"appeal": appeal.id, "outcome": outcome.value})
    assert isinstance(query.message, Message)
    await query.message.edit_text(
        _("{name}: answer to № {reference} — {outcome}.").format(
            name=html(query.from_user.full_name),
            reference=html(appeal.reference),
            outcome=card_view.outcome_label(outcome),
        )
    )
    await query.message.answer(
        _(
            "Reply to this message with the text of the answer (you may attach a document "
            "with the text as its caption). It goes to the citizen as written."
        ),
        reply_markup=ForceReply(selective=True),
    )


async def answer_written(message: Message, state: FSMContext, officials: OfficialsService) -> None:
    assert message.from_user is not None
    data = await state.get_data()
    text = (message.text or message.caption or "").strip()
    file_id = message.document.file_id if message.document else None
    with officials.i18n.use_locale(officials.language):
        if len(text) < 2:
            await message.reply(_("The answer needs a text. Reply again with the text."))
            return
        result = await officials.answer(
            int(data["appeal"]), official_of(message.from_user), Outcome(data["outcome"]),
            text[:3500], file_id,
        )  # fmt: skip
        await state.clear()
        appeal = result.appeal
        if appeal is None:
            await message.reply(_("Appeal not found."))
        elif not result.done:
            await message.reply(
                _("Not sent: appeal № {reference} is already {status}.").format(
                    reference=html(appeal.reference), status=status_label(appeal.status)
                )
            )
        else:
            await message.reply(
                _("✅ The answer to № {reference} is sent to the citizen.").format(
                    reference=html(appeal.reference)
                )
            )
            card = await officials.card_message(appeal)
            if card is not None:
                await officials.refresh_card(appeal, *card)


async def show_contact(query: CallbackQuery, appeal_id: int, officials: OfficialsService) -> None:
    appeal = await officials.show_contact(appeal_id, query.from_user.id)
    if appeal is None:
        await query.answer(_("Appeal not found."), show_alert=True)
        return
    if appeal.contact_phone is None:
        await query.answer(_("The citizen has erased their personal data."), show_alert=True)
        return
    # An alert is seen by the official who pressed, not by the whole chat.
    await query.answer(f"{appeal.contact_name or '—'}\n{appeal.contact_phone}", show_alert=True)


class InOfficialsChat(Filter):
    """Officials' messages are handled only in group chats."""

    async def __call__(self, message: Message) -> bool:
        return message.chat.type in ("group", "supergroup")


def create_router() -> Router:
    router = Router(name="officials")
    router.callback_query.register(card_pressed, CardCb.filter())
    router.message.register(
        answer_written,
        InOfficialsChat(),
        StateFilter(AnswerForm.text),
        Has("text", "document"),
    )
    return router
