"""What a citizen's confirmation row carries (`bot.services.confirmations`): the
confirmation with the main menu, or the main menu alone. Current locale (the citizen's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.utils.i18n import gettext as _

from bot.delivery.outbox import to_json
from bot.telegram.menu import MainMenu


def back_in_menu_text() -> str:
    return _("You are back in the main menu.")


class ConfirmationMessages:
    """`bot.services.notifiers.ConfirmationMessages` for Telegram."""

    def __init__(self, menu: MainMenu) -> None:
        self.menu = menu

    def confirmation(self, text: str) -> Mapping[str, Any]:
        return {"text": text, "parse_mode": "HTML", "reply_markup": to_json(self.menu.keyboard())}

    def back_in_menu(self) -> Mapping[str, Any]:
        return self.confirmation(back_in_menu_text())
