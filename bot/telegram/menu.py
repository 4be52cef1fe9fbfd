"""The main menu: reply buttons whose texts are matched in every language, so a keyboard
drawn before a language switch keeps working."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.filters import Filter
from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n.context import get_i18n

from i18n.core import LANGUAGES


def _labels() -> dict[str, str]:
    return {
        "new": _("📝 New appeal"),
        "book": _("🗓 Book a reception"),
        "my": _("📂 My appeals"),
        "subscribe": _("🔔 Announcements"),
        "lang": _("🌐 Language"),
        "help": _("❓ Help"),
    }


@dataclass(frozen=True)
class MainMenu:
    """The main menu as this bot draws it. `booking`: whether it offers 🗓 (without
    receptions in the catalog there is nothing to book). Made once by the composition root
    and handed in: to handlers as workflow data (`menu`), to the confirmations' outbox rows."""

    booking: bool

    def keyboard(self) -> ReplyKeyboardMarkup:
        """In the current language."""
        labels = _labels()
        rows = [[KeyboardButton(text=labels["new"]), KeyboardButton(text=labels["my"])]]
        announcements = KeyboardButton(text=labels["subscribe"])
        if self.booking:
            rows.append([KeyboardButton(text=labels["book"]), announcements])
        else:
            rows.append([announcements])
        rows.append([KeyboardButton(text=labels["lang"]), KeyboardButton(text=labels["help"])])
        return ReplyKeyboardMarkup(
            keyboard=rows,
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


def menu_key(text: str | None) -> str | None:
    """The menu button ("new", "book", …) whose label this is, in any language."""
    return _menu_index().get(text) if text is not None else None


class MenuButton(Filter):
    """Async on purpose: aiogram runs synchronous filters in a worker thread."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        return menu_key(message.text) == self.key
