"""The command menu Telegram shows, described in each language (setMyCommands)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import gettext as _

from i18n.core import LANGUAGES, PoI18n


def citizen_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Start and main menu")),
        BotCommand(command="new", description=_("File an appeal")),
        BotCommand(command="my", description=_("My appeals")),
        BotCommand(command="lang", description=_("Change language")),
        BotCommand(command="cancel", description=_("Leave the current dialog")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="privacy", description=_("What data is stored and why")),
        BotCommand(command="forget", description=_("Erase my personal data")),
    ]


async def register_commands(bot: Bot, i18n: PoI18n) -> None:
    scope = BotCommandScopeAllPrivateChats()
    with i18n.context():
        for lang in LANGUAGES:
            with i18n.use_locale(lang):
                await bot.set_my_commands(citizen_commands(), scope=scope, language_code=lang)
        # Clients in any other language get the operator's default language.
        with i18n.use_locale(i18n.default_locale):
            await bot.set_my_commands(citizen_commands(), scope=scope)
