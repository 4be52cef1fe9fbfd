"""The command menu Telegram shows, described in each language (setMyCommands)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from aiogram.utils.i18n import gettext as _

from i18n.core import LANGUAGES, PoI18n

log = logging.getLogger(__name__)


def citizen_commands() -> list[BotCommand]:
    return [
        BotCommand(command="start", description=_("Start and main menu")),
        BotCommand(command="new", description=_("File an appeal")),
        BotCommand(command="book", description=_("Book a reception")),
        BotCommand(command="my", description=_("My appeals and bookings")),
        BotCommand(command="subscribe", description=_("Announcements of the akimat by place")),
        BotCommand(command="lang", description=_("Change language")),
        BotCommand(command="cancel", description=_("Leave the current dialog")),
        BotCommand(command="help", description=_("Help")),
        BotCommand(command="privacy", description=_("What data is stored and why")),
        BotCommand(command="forget", description=_("Erase my personal data")),
    ]


def official_commands() -> list[BotCommand]:
    return [
        BotCommand(command="digest", description=_("Send the digest now")),
        BotCommand(command="find", description=_("Find an appeal by its number")),
        BotCommand(command="stats", description=_("Figures for the last days")),
        BotCommand(command="receptions", description=_("Receptions of a day and who comes")),
        BotCommand(command="export", description=_("Spreadsheet of the last days' appeals")),
        BotCommand(command="announce", description=_("Send an announcement to subscribers")),
        BotCommand(command="meetings", description=_("Meetings with residents and who comes")),
    ]


async def register_commands(
    bot: Bot,
    i18n: PoI18n,
    *,
    officials_chats: Sequence[int] = (),
    admin_ids: Sequence[int] = (),
    officials_language: str = "ru",
) -> None:
    """One setMyCommands per language and scope, all at once: each is a round trip to
    Telegram, and start-up waits for them before it polls."""
    scope = BotCommandScopeAllPrivateChats()
    calls: list[Awaitable[object]] = []
    # The descriptions are translated here, in each locale; the calls only send them.
    with i18n.context():
        for lang in LANGUAGES:
            with i18n.use_locale(lang):
                calls.append(
                    bot.set_my_commands(citizen_commands(), scope=scope, language_code=lang)
                )
        # Clients in any other language get the operator's default language.
        with i18n.use_locale(i18n.default_locale):
            calls.append(bot.set_my_commands(citizen_commands(), scope=scope))
        with i18n.use_locale(officials_language):
            calls += [_set_quietly(bot, official_commands(), chat) for chat in officials_chats]
            calls += [
                _set_quietly(bot, citizen_commands() + official_commands(), admin)
                for admin in admin_ids
            ]
    await all_of(*calls)


async def all_of(*calls: Awaitable[object]) -> None:
    """Awaits the calls concurrently. The first to fail cancels the others (like a
    TaskGroup) and is raised as itself, not inside an ExceptionGroup: callers catch
    TelegramUnauthorizedError and the network errors by their type."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _set_quietly(bot: Bot, commands: list[BotCommand], chat_id: int) -> None:
    # A chat the bot is not in yet must not stop the bot from starting.
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id=chat_id))
    except TelegramAPIError as exc:
        log.warning("could not set commands for chat %s: %s", chat_id, exc)
