"""Bot API session tweaks shared by every request."""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import FormData
from aiohttp.payload import BytesPayload


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


class JsonBodySession(AiohttpSession):
    """Requests without files go as one JSON body instead of a urlencoded form.

    aiogram encodes every nested object (a keyboard, entities) as a JSON string and then
    urlencodes the whole form; that was a quarter of the cost of a Bot API call under
    bench/dialogs.py. The Bot API takes application/json as well. Uploads keep aiogram's
    multipart form.
    """

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # The form skips None and "" (aiogram's `if not value`); False and 0 are values.
            if prepared is None or prepared == "":
                continue
            body[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        payload = BytesPayload(self.json_dumps(body).encode(), content_type="application/json")
        # aiohttp's post() takes any payload as data; aiogram only names FormData.
        return cast(FormData, payload)
