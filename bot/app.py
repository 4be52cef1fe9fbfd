"""Assembles Bot, Dispatcher, storage and services; `python -m bot` and the tests share it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bot.appeals import AppealService
from bot.catalog import Catalog, load_catalog
from bot.commands import register_commands
from bot.deadlines import DeadlinePolicy
from bot.middlewares import InFlightMiddleware, RequestContextMiddleware
from bot.session import IgnoreNotModified
from bot.settings import Settings
from handlers import setup_routers
from i18n.core import PoI18n
from storage.fsm import SQLiteStorage
from storage.sqlite import SQLiteDatabase, SQLiteRepository

log = logging.getLogger(__name__)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    bot: Bot
    dp: Dispatcher
    db: SQLiteDatabase
    repo: SQLiteRepository
    catalog: Catalog
    in_flight: InFlightMiddleware

    async def run_polling(self, *, handle_signals: bool = True, polling_timeout: int = 10) -> None:
        try:
            await self.bot.delete_webhook(drop_pending_updates=False)
            await register_commands(self.bot, self.dp["i18n"])
            await self.dp.start_polling(
                self.bot,
                handle_signals=handle_signals,
                close_bot_session=True,
                polling_timeout=polling_timeout,
            )
        finally:
            await self.close()

    async def close(self) -> None:
        await self.in_flight.wait_idle(seconds=10)
        await self.db.close()


async def create_app(settings: Settings, clock: Callable[[], datetime] = system_clock) -> App:
    catalog = load_catalog(settings.catalog_path)
    db = await SQLiteDatabase.open(settings.sqlite_path)
    repo = SQLiteRepository(db)
    await repo.prune_updates(timedelta(days=7), clock())
    i18n = PoI18n(default_locale=settings.default_language)
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(IgnoreNotModified())
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dp = Dispatcher(
        storage=SQLiteStorage(db),
        events_isolation=SimpleEventIsolation(),
        key_builder=DefaultKeyBuilder(),
    )
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)

    # aiogram closes the HTTP session right after the shutdown hooks; the updates in hand must
    # finish (their replies sent, their rows written) before that.
    async def finish_updates_in_hand() -> None:
        await in_flight.wait_idle(seconds=10)

    dp.shutdown.register(finish_updates_in_hand)
    dp.update.outer_middleware(RequestContextMiddleware(repo, i18n))
    policy = DeadlinePolicy(catalog, settings.tz)
    dp["settings"] = settings
    dp["catalog"] = catalog
    dp["repo"] = repo
    dp["i18n"] = i18n
    dp["appeals"] = AppealService(repo, catalog, policy, clock)
    setup_routers(dp)
    return App(settings, bot, dp, db, repo, catalog, in_flight)
