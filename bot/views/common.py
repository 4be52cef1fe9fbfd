"""Pieces of rendering shared by the dialogs."""

from __future__ import annotations

from functools import lru_cache
from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.domain.validation import utf16_len as utf16_len  # re-exported for the views
from bot.telegram.callbacks import WizardCb
from i18n.core import LANGUAGES

# Buttons are frozen models that depend only on their arguments, and a dialog's keyboards
# repeat the same few hundred (a label in a language, an action, a catalog code): built once,
# as each costs two pydantic models and a callback data packing per update otherwise.
BUTTON_CACHE = 4096


@lru_cache(maxsize=BUTTON_CACHE)
def wbutton(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    data = WizardCb(action=action, value=value).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def back_cancel_row(step: str) -> list[InlineKeyboardButton]:
    return [wbutton(_("⬅️ Back"), "back", step), wbutton(_("✖️ Cancel"), "cancel", step)]


def in_every_language(message: str) -> frozenset[str]:
    """A reply-keyboard label as drawn in any language (the keyboard may predate a switch)."""
    i18n = get_i18n()
    return frozenset(i18n.gettext(message, locale=lang) for lang in LANGUAGES)


# answerCallbackQuery: an alert or toast holds at most 200 characters, plain text.
ALERT_LIMIT = 200


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` UTF-16 units, Telegram's measure, cut with "…".

    Counting characters instead let a 3,500-character text of emoji (7,000 units) past every
    budget a view was designed with."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return text
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit - 1:  # one unit for the ellipsis
            return text[:index].rstrip() + "…"
    return text


def html(text: str | None) -> str:
    return escape(text or "")
