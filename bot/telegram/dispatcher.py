"""The dispatcher, with each update handled inside its own FSM read scope."""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.dispatcher.event.bases import REJECTED, UNHANDLED
from aiogram.dispatcher.event.telegram import TelegramEventObserver
from aiogram.types import TelegramObject, Update

from bot.telegram.routing import Gate, gates
from storage.fsm import update_scope


class UpdateScopedDispatcher(Dispatcher):
    """`feed_update` is where one update's handling begins and ends, in polling, in webhooks
    and in the tests alike, so the FSM row cache of `storage.fsm` is scoped here."""

    _gates: dict[str, list[tuple[Router, Gate]]] | None = None

    def seal_routers(self) -> None:
        """Read the routers' gates (`bot.telegram.routing`) once every router and handler is
        registered; from then on a message or a button press skips, in one check each, the
        routers that have nothing for it. Routers or handlers added later are not seen: call
        it again after them."""
        self._gates = gates(self)

    async def _propagate_event(
        self,
        observer: TelegramEventObserver | None,
        update_type: str,
        event: TelegramObject,
        **kwargs: Any,
    ) -> Any:
        walk = None if self._gates is None else self._gates.get(update_type)
        if walk is None:
            return await super()._propagate_event(observer, update_type, event, **kwargs)
        # aiogram's Router._propagate_event, with the gates in the walk over sub-routers.
        if observer:
            result, data = await observer.check_root_filters(event, **kwargs)
            if not result:
                return UNHANDLED
            kwargs.update(data)
            response = await observer.trigger(event, **kwargs)
            if response is REJECTED:  # pragma: no cover
                return UNHANDLED
            if response is not UNHANDLED:
                return response
        raw_state = kwargs.get("raw_state")
        for router, gate in walk:
            if not gate.admits(event, raw_state):
                continue
            response = await router.propagate_event(update_type=update_type, event=event, **kwargs)
            if response is not UNHANDLED:
                return response
        return UNHANDLED

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
