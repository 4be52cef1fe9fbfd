"""The one-time consent to personal-data processing, asked before the first appeal."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import ConsentCb


def consent_text() -> str:
    return _(
        "To accept an appeal we store your name, phone number, the text, files and location "
        "you send, and pass them to the officials who answer it (Law of the Republic of "
        "Kazakhstan «On personal data and their protection»). /privacy tells more.\n\n"
        "<b>I consent to the collection and processing of my personal data.</b>"
    )


def consent_keyboard(then: str = "") -> InlineKeyboardMarkup:
    agree = ConsentCb(agree=True, then=then).pack()
    decline = ConsentCb(agree=False, then=then).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("✅ I agree"), callback_data=agree)],
            [InlineKeyboardButton(text=_("No, thanks"), callback_data=decline)],
        ]
    )


async def ask_consent(message: Message, then: str = "") -> None:
    await message.answer(consent_text(), reply_markup=consent_keyboard(then))
