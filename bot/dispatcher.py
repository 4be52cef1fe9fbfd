"""The dispatcher, with each update handled inside its own FSM read scope."""

from __future__ import annotations

from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from storage.fsm import update_scope


class UpdateScopedDispatcher(Dispatcher):
    """`feed_update` is where one update's handling begins and ends, in polling, in webhooks
    and in the tests alike, so the FSM row cache of `storage.fsm` is scoped here."""

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        with update_scope():
            return await super().feed_update(bot, update, **kwargs)
