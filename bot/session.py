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


class BotApiSession(AiohttpSession):
    """aiogram's aiohttp session with two costs of every Bot API call taken out (both seen
    with py-spy under bench/dialogs.py).

    Requests without files go as one JSON body. aiogram encodes every nested object (a
    keyboard, entities) as a JSON string and then urlencodes the whole form: a quarter of a
    call's cost. The Bot API takes application/json as well; uploads keep the multipart form.

    Answers are parsed with `Response[method.__returning__]`, which pydantic keeps only
    weakly: after a garbage collection the next call built the class again, schema and
    validator included, about 2 ms for getUpdates. One strong reference per method keeps
    pydantic's cache warm.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._response_models: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        kind = type(method)
        if kind not in self._response_models:
            self._response_models[kind] = Response[method.__returning__]  # type: ignore[name-defined]
        return super().check_response(bot, method, status_code, content)

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
