"""The dispatcher, with each update handled inside its own FSM read scope."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.types import Update

from storage.fsm import update_scope


class UpdateScopedDispatcher(Dispatcher):
    """`feed_update` is where one update's handling begins and ends, in polling, in webhooks
    and in the tests alike, so the FSM row cache of `storage.fsm` is scoped here."""

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        with update_scope(update.update_id):
            return await super().feed_update(bot, update, **kwargs)

    def outer_middleware_before_fsm(self, middleware: BaseMiddleware) -> None:
        """An update middleware that runs before aiogram's FSM middleware, which takes the
        chat's lock (event isolation) and reads its state: it sees updates as they arrive,
        not one at a time, and what it stops costs no database read. It runs after the
        user-context middleware, so `event_chat` and `event_from_user` are known."""
        outer = self.update.outer_middleware
        outer.unregister(self.fsm)
        outer.register(middleware)
        outer.register(self.fsm)
