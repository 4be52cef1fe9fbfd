"""Update-level middlewares: skip redelivered updates, load the citizen, pick the language,
and let shutdown wait for the updates in hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from i18n.core import LANGUAGES, PoI18n
from storage.base import DatabaseBusy, Repository

log = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def proposed_language(user: User | None, default: str) -> str:
    """Telegram's app language only proposes; the citizen chooses on /start."""
    code = (user.language_code or "").split("-")[0].lower() if user else ""
    return code if code in LANGUAGES else default


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        try:
            async with asyncio.timeout(seconds):
                await self._idle.wait()
        except TimeoutError:
            log.warning("shutdown: %d update(s) still running after %.0fs", self._count, seconds)
            return False
        return True


class RequestContextMiddleware(BaseMiddleware):
    def __init__(self, repo: Repository, i18n: PoI18n) -> None:
        self.repo = repo
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        # Telegram redelivers an update whose handling was cut short by a crash; one that
        # finished must not run again (a second appeal, a second message).
        user: User | None = data.get("event_from_user")
        seen, citizen = await self.repo.open_update(event.update_id, user.id if user else None)
        if seen:
            log.info("update %s already handled, skipped", event.update_id)
            return None
        if citizen is not None and citizen.unreachable:
            await self.repo.set_reachable(citizen.id)
            citizen.unreachable = False
        locale = (citizen.language if citizen else None) or proposed_language(
            user, self.i18n.default_locale
        )
        data["citizen"] = citizen
        data["i18n"] = self.i18n
        with self.i18n.context(), self.i18n.use_locale(locale):
            result = await handler(event, data)
        try:
            await self.repo.mark_update(event.update_id, datetime.now(UTC))
        except DatabaseBusy:
            # The step is done and answered; only a redelivery of this update would run twice.
            log.warning("update %s handled but not marked: database locked", event.update_id)
        return result
