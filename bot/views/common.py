"""Pieces of rendering shared by the dialogs."""

from __future__ import annotations

from html import escape

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from bot.callbacks import WizardCb
from i18n.core import LANGUAGES


def wbutton(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    data = WizardCb(action=action, value=value).pack()
    return InlineKeyboardButton(text=text, callback_data=data)


def back_cancel_row(step: str) -> list[InlineKeyboardButton]:
    return [wbutton(_("⬅️ Back"), "back", step), wbutton(_("✖️ Cancel"), "cancel", step)]


def in_every_language(message: str) -> frozenset[str]:
    """A reply-keyboard label as drawn in any language (the keyboard may predate a switch)."""
    i18n = get_i18n()
    return frozenset(i18n.gettext(message, locale=lang) for lang in LANGUAGES)


def shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def html(text: str | None) -> str:
    return escape(text or "")
