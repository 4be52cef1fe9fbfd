"""The main menu: reply buttons whose texts are matched in every language, so a keyboard
drawn before a language switch keeps working."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from i18n.core import LANGUAGES


def _labels() -> dict[str, str]:
    return {
        "new": _("📝 New appeal"),
        "my": _("📂 My appeals"),
        "lang": _("🌐 Language"),
        "help": _("❓ Help"),
    }


def main_menu() -> ReplyKeyboardMarkup:
    labels = _labels()
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=labels["new"]), KeyboardButton(text=labels["my"])],
            [KeyboardButton(text=labels["lang"]), KeyboardButton(text=labels["help"])],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


_by_text: dict[str, str] | None = None


def _menu_index() -> dict[str, str]:
    global _by_text
    if _by_text is None:
        i18n = get_i18n()
        index: dict[str, str] = {}
        for lang in LANGUAGES:
            with i18n.use_locale(lang):
                index.update({text: key for key, text in _labels().items()})
        _by_text = index
    return _by_text


class MenuButton(Filter):
    """Async on purpose: aiogram runs synchronous filters in a worker thread."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return message.text is not None and _menu_index().get(message.text) == self.key
