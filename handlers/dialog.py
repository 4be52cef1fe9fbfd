"""What the citizens' dialogs (an appeal, a booking, adding to an appeal) share: where a draft
lives in the FSM data, which step the citizen is at, the stale-button answer, choosing with a
button, stepping out, the contact step and the files a message carries."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.validation import check_document, kazakhstan_phone
from bot.telegram.menu import MainMenu
from bot.views import limits as limits_view
from bot.views.common import in_every_language
from bot.views.dialogs import cancelled_text


def current_lang() -> str:
    return get_i18n().current_locale


# --- where the citizen is -------------------------------------------------------------------


async def step_of(state: FSMContext) -> str:
    """The step the dialog is at: "text" for "AppealForm:text"; "" outside any dialog."""
    return (await state.get_state() or "").split(":")[-1]


async def draft_of(state: FSMContext, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The FSM data and the draft kept in it under `key` (bot.domain.dialogs knows which);
    change the draft, then store the data."""
    data = await state.get_data()
    return data, data.setdefault(key, {})


class MessageGone(Filter):
    """The button's message is no longer accessible (too old to edit or show): the press is
    answered and nothing else happens. Async, as every filter here (see tests/test_routing)."""

    async def __call__(self, query: CallbackQuery) -> bool:
        return not isinstance(query.message, Message)


# --- answers every dialog gives ---------------------------------------------------------------


async def stale(query: CallbackQuery) -> None:
    """A button of a step the citizen has left, or a forged one: one short answer, and the
    dialog stays where it is."""
    await query.answer(_("This button is no longer active."), show_alert=True)


async def noop(query: CallbackQuery) -> None:
    await query.answer()


async def unknown_command(message: Message) -> None:
    """A command no router knows, typed inside a dialog: not a place name, text or phone."""
    await message.answer(_("Unknown command. /help lists what I can do."))


async def choose_a_button(message: Message) -> None:
    """Typed at a step that is answered with its buttons."""
    await message.answer(_("Please choose one of the buttons."))


async def confirm_choice(query: CallbackQuery, label: str) -> None:
    """Keep the chosen answer (HTML, escaped by the caller) in the chat history and retire
    the buttons."""
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(f"✔️ {label}", reply_markup=None)


async def cancelled(
    message: Message, state: FSMContext, dialog: str, menu: MainMenu, *, retire: bool = False
) -> None:
    """Cancel inside `dialog`: the draft goes, the main menu comes back; `retire` takes the
    buttons off `message` (the bot's prompt whose Cancel was pressed)."""
    await state.clear()
    if retire:
        await message.edit_reply_markup(reply_markup=None)
    await message.answer(cancelled_text(dialog), reply_markup=menu.keyboard())


async def back_to_menu(message: Message, state: FSMContext, menu: MainMenu) -> None:
    """Back from a dialog's first step."""
    await state.clear()
    await message.answer(_("You are back in the main menu."), reply_markup=menu.keyboard())


def reply_labels(message_id: str) -> frozenset[str]:
    """A reply-keyboard button's text in every language: the keyboard may predate a switch."""
    return in_every_language(message_id)


# --- albums: one answer per album, not one per photo ------------------------------------------


async def album_already_answered(message: Message, state: FSMContext) -> bool:
    if not message.media_group_id:
        return False
    data = await state.get_data()
    if data.get("album") == message.media_group_id:
        return True
    data["album"] = message.media_group_id
    await state.set_data(data)
    return False


def attachment_of(message: Message) -> dict[str, Any] | None:
    """The photo or document a message carries, as a draft keeps it; None for neither."""
    if message.photo:
        return {"kind": "photo", "file_id": message.photo[-1].file_id, "file_name": None}
    if message.document:
        return {
            "kind": "document",
            "file_id": message.document.file_id,
            "file_name": message.document.file_name,
        }
    return None


def file_refusal(message: Message) -> str | None:
    """Why the document in `message` cannot be attached (bot.domain.validation), or None. Photos
    are always fine: Telegram has compressed them."""
    document = message.document
    if document is None:
        return None
    problem = check_document(document.file_name, document.mime_type, document.file_size)
    return None if problem is None else limits_view.file_refused(problem, document.file_name)


# --- the contact step -------------------------------------------------------------------------


async def shared_phone(message: Message) -> str | None:
    """The number of a contact shared with the button, if it is the sender's own; otherwise
    they are asked for their own and None comes back."""
    contact = message.contact
    assert contact is not None and message.from_user is not None
    if contact.user_id != message.from_user.id:
        await message.answer(_("Please share your own number with the button below."))
        return None
    return "+" + contact.phone_number.lstrip("+")


async def typed_phone(message: Message, text: str) -> str | None:
    """A typed Kazakhstan number, normalised; None (and an example) for anything else."""
    phone = kazakhstan_phone(text)
    if phone is None:
        await message.answer(
            _("This does not look like a Kazakhstan phone number. Example: +7 701 234 56 78.")
        )
    return phone
