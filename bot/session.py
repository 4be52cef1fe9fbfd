"""Bot API session tweaks shared by every request."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType


class IgnoreNotModified(BaseRequestMiddleware):
    """An edit that changes nothing (a double tap, the same page again) already shows what we
    wanted; Telegram calls it an error, we call it done."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if "message is not modified" not in exc.message:
                raise
            result: Any = True  # what Telegram returns for an edit it accepted
            return Response[TelegramType](ok=True, result=result)


class KeepResponseModels(BaseRequestMiddleware):
    """aiogram parses every answer with `Response[method.__returning__]`. pydantic keeps such
    parametrised models only weakly, so after a garbage collection the next call builds the
    class again, schema and validator included: about 2 ms for getUpdates, on the hot path
    (seen with py-spy under bench/dialogs.py). Holding one strong reference per method keeps
    pydantic's cache warm."""

    def __init__(self) -> None:
        self._kept: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._kept:
            self._kept[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return await make_request(bot, method)
