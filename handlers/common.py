"""/start, language, consent, /help, /privacy, /cancel and the main menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.catalog import Catalog
from bot.domain.dialogs import dialog_of
from bot.services.citizens import CitizenService
from bot.services.lifecycle import AppealLifecycle
from bot.telegram.callbacks import LangCb
from bot.telegram.filters import PrivateChat
from bot.telegram.menu import MainMenu, MenuButton
from bot.telegram.middlewares import proposed_language
from bot.views.consent import ask_consent
from bot.views.dialogs import cancelled_text
from bot.views.help import greeting_text, help_text
from handlers.additions import Compose, cancel_compose
from i18n.core import PoI18n
from storage.models import Citizen

LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский"}


def language_keyboard(first: str) -> InlineKeyboardMarkup:
    order = sorted(LANGUAGE_NAMES, key=lambda code: code != first)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=LANGUAGE_NAMES[c], callback_data=LangCb(code=c).pack())]
            for c in order
        ]
    )


async def ask_language(message: Message, first: str) -> None:
    # Both languages at once: the citizen has not chosen one yet.
    await message.answer("Тілді таңдаңыз · Выберите язык", reply_markup=language_keyboard(first))


async def start(
    message: Message, citizen: Citizen | None, i18n: PoI18n, catalog: Catalog, menu: MainMenu
) -> None:
    if citizen is None or citizen.language is None:
        await ask_language(message, proposed_language(message.from_user, i18n.default_locale))
        return
    await greet(message, citizen, catalog, menu)


async def greet(
    message: Message, citizen: Citizen | None, catalog: Catalog, menu: MainMenu
) -> None:
    text = greeting_text(catalog, get_i18n().current_locale, booking=menu.booking)
    await message.answer(text, reply_markup=menu.keyboard())
    if citizen is None or citizen.consent_at is None:
        await ask_consent(message)


async def change_language(message: Message, citizen: Citizen | None, i18n: PoI18n) -> None:
    current = citizen.language if citizen and citizen.language else i18n.current_locale
    await ask_language(message, current)


async def language_chosen(
    query: CallbackQuery,
    callback_data: LangCb,
    citizens: CitizenService,
    i18n: PoI18n,
    citizen: Citizen | None,
    catalog: Catalog,
    menu: MainMenu,
) -> None:
    if callback_data.code not in LANGUAGE_NAMES:
        await query.answer(_("This button is no longer active."), show_alert=True)
        return
    first_time = citizen is None or citizen.language is None
    await citizens.choose_language(query.from_user.id, callback_data.code)
    i18n.current_locale = callback_data.code
    await query.answer()
    if not isinstance(query.message, Message):
        return
    await query.message.edit_text(
        _("Language: Қазақша") if callback_data.code == "kk" else _("Language: Русский")
    )
    if first_time:
        await greet(query.message, citizen, catalog, menu)
    else:
        done = _("Done. I will speak this language.")
        await query.message.answer(done, reply_markup=menu.keyboard())


async def help_(message: Message, catalog: Catalog, menu: MainMenu) -> None:
    text = help_text(catalog, get_i18n().current_locale, booking=menu.booking)
    await message.answer(text, reply_markup=menu.keyboard())


async def privacy(message: Message) -> None:
    # The address for a written answer, and what /forget keeps, came later than the rest of
    # this text: paragraphs of their own, so that the reviewed wording above stays as it is.
    address = _(
        "If you give an e-mail or a postal address for a written answer, it is kept with the "
        "appeal for that answer, shown to officials like your phone, and /forget erases it too."
    )
    kept = _(
        "What /forget keeps: the anonymous figures, and the officials' answers with your name, "
        "phone and address taken out, as the akimat's records. In the officials' chat the card "
        "loses your text and contact, and the messages with your files and words are deleted; "
        "Telegram lets the bot delete a message only within 48 hours, so older files are left "
        "to the officials to delete."
    )
    subscriptions = _(
        "If you subscribe to announcements (/subscribe), the districts or cities you chose are "
        "kept with your Telegram id, only to send you the akimat's announcements for them. "
        "Announcements come only to those who subscribed; «Unsubscribe» under any of them, or "
        "/forget, ends that."
    )
    meetings = _(
        "If you say you will come to a meeting with residents, that and what you need to "
        "attend are kept for its organisers, and a question you ask in advance is shown to "
        "them; «I won't come after all» withdraws your registration, and /forget erases both."
    )
    bookings = _(
        "If you book a reception (/book), your name, phone number, question and what you need "
        "to attend (a wheelchair, a sign-language interpreter, someone with you, anything "
        "else) are kept for the officials who receive you and the staff at the door. /forget "
        "cancels your upcoming bookings and erases your name, phone, question and what you "
        "wrote; which of the listed needs a booking had stays without your name, so that the "
        "akimat knows what to prepare."
    )
    polls = _(
        "If you vote in a poll of the akimat, your vote is kept with your Telegram id until "
        "/forget, so that each person counts once; officials see only the numbers by answer and "
        "by district, never who voted how. The bot also keeps which poll it sent you. Taking "
        "your vote back in Telegram removes it; /forget erases your votes and that record."
    )
    await message.answer(
        _(
            "<b>What is stored and why</b>\n"
            "• Your Telegram id and language — to answer you here.\n"
            "• For each appeal: your name and phone number (the law does not consider anonymous "
            "appeals), the text, photos, documents and location you send — so that officials "
            "can consider it.\n"
            "• The time you gave consent.\n"
            "Officials see your contact details only when their work needs them. "
            "/forget erases your personal data; anonymous figures (how many appeals of which "
            "kind, where and when) stay for statistics."
        )
        + f"\n\n{address}\n\n{bookings}\n\n{subscriptions}\n\n{meetings}\n\n{polls}"
        + f"\n\n{kept}"
    )


async def cancel(
    message: Message, state: FSMContext, lifecycle: AppealLifecycle, menu: MainMenu
) -> None:
    current = await state.get_state()
    if current is None:
        await message.answer(_("There is nothing to cancel."), reply_markup=menu.keyboard())
        return
    if current == Compose.collecting.state:
        await cancel_compose(message, state, lifecycle)
        return
    dialog = dialog_of(current)
    await state.clear()
    await message.answer(cancelled_text(dialog), reply_markup=menu.keyboard())


def create_router() -> Router:
    router = Router(name="common")
    router.message.filter(PrivateChat())
    router.message.register(start, CommandStart())
    router.message.register(change_language, Command("lang"))
    router.message.register(change_language, MenuButton("lang"))
    router.callback_query.register(language_chosen, LangCb.filter())
    router.message.register(help_, Command("help"))
    router.message.register(help_, MenuButton("help"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(cancel, Command("cancel"))
    return router
