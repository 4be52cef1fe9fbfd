"""Bot API session tweaks shared by every request."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import Enum
from typing import Any, cast

from aiogram import Bot
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import AnswerCallbackQuery, GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError

from bot.views.common import ALERT_LIMIT, shorten, utf16_len

log = logging.getLogger(__name__)

# False while a caller keeps its own retries (the outbox sender reschedules its rows in the
# database; start-up waits for Telegram in a loop): RetryPolicy then stays out of the way.
_policy_applies: ContextVar[bool] = ContextVar("retry_policy_applies", default=True)
# aiogram's message for its own request timeout (aiohttp errors carry their class name).
REQUEST_TIMEOUT = "Request timeout error"


@contextmanager
def own_retries() -> Iterator[None]:
    """Calls made inside, and in tasks started inside, see every 429, 5xx and network error
    themselves: their caller retries in its own way and must know what happened."""
    token = _policy_applies.set(False)
    try:
        yield
    finally:
        _policy_applies.reset(token)


class Failure(Enum):
    RATE_LIMITED = "429"  # Telegram did not process the call and says when to come back
    SERVER_ERROR = "5xx"
    CONNECTION = "connection"  # refused, reset or closed before an answer came
    TIMEOUT = "timeout"  # Telegram has the call and did not answer in time


def creates_message(method: str) -> bool:
    """sendMessage, sendPhoto, copyMessage, forwardMessages…: a repeat may add a copy."""
    return method.startswith(("send", "copy", "forward")) and method != "sendChatAction"


def may_repeat(method: str, failure: Failure) -> bool:
    """Whether a Bot API call that failed so may be made again.

    After a 429 always: Telegram did nothing. Edits, deletions, answers, reads and settings
    end in the same state however often they are made. A call that creates a message is
    made again after a 5xx or a broken connection, which nearly always mean that Telegram
    did not take it; the rare exception leaves the citizen a second copy of a prompt, whose
    buttons work like the first one's, where not repeating would leave them with no prompt
    at all. Not after a timeout: Telegram has the request and is slow, and a repeat would
    most likely send it twice. (The registration number does not depend on a send: it is an
    edit, with an outbox row behind it.)
    """
    if failure is Failure.RATE_LIMITED or not creates_message(method):
        return True
    return failure is not Failure.TIMEOUT


def failure_of(exc: BaseException) -> Failure | None:
    if isinstance(exc, TelegramRetryAfter):
        return Failure.RATE_LIMITED
    if isinstance(exc, TelegramServerError):
        return Failure.SERVER_ERROR
    if isinstance(exc, TelegramNetworkError):
        return Failure.TIMEOUT if exc.message == REQUEST_TIMEOUT else Failure.CONNECTION
    return None


class RetryPolicy(BaseRequestMiddleware):
    """Direct replies survive Telegram's hiccups; aiogram itself never tries again.

    A 429 is waited out when its retry_after fits in what is left of `max_wait` seconds
    (longer: the error goes up, the update's handler stops); 5xx and network errors are
    tried `attempts` times in all, `backoff`, 2·`backoff`… apart, where `may_repeat` allows.
    A failed answerCallbackQuery (the query is too old, Telegram is down) never stops the
    handler: the citizen loses a spinner or an alert, and the action still happens.
    getUpdates is left to aiogram's polling, which has its own backoff.
    """

    def __init__(
        self,
        *,
        max_wait: float = 10.0,
        attempts: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.max_wait = max_wait
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not _policy_applies.get() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        if not isinstance(method, AnswerCallbackQuery):
            return await self._repeating(make_request, bot, method)
        try:
            return await self._repeating(make_request, bot, method)
        except Exception as exc:  # whatever it was, only the spinner or the alert is lost
            expected = "query is too old" in str(exc) or failure_of(exc) is not None
            log.log(
                logging.WARNING if expected else logging.ERROR,
                "answerCallbackQuery failed, going on without it: %r",
                exc,
            )
            result: Any = True
            return Response[TelegramType](ok=True, result=result)

    async def _repeating(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        waited = 0.0
        failures = 0
        while True:
            try:
                return await make_request(bot, method)
            except (TelegramRetryAfter, TelegramServerError, TelegramNetworkError) as exc:
                failure = failure_of(exc)
                assert failure is not None
                if isinstance(exc, TelegramRetryAfter):
                    pause = float(exc.retry_after)
                    if waited + pause > self.max_wait:
                        raise
                    waited += pause
                else:
                    failures += 1
                    if failures >= self.attempts or not may_repeat(name, failure):
                        raise
                    pause = self.backoff * 2 ** (failures - 1)
                log.warning("%s: %s (%r); trying again in %.1fs", name, failure.value, exc, pause)
                await self.sleep(pause)


class AlertLimit(BaseRequestMiddleware):
    """Every toast and alert (answerCallbackQuery's text) in at most `ALERT_LIMIT` UTF-16
    units, cut with "…": Telegram refuses a longer one (MESSAGE_TOO_LONG), and a failed
    answer is let pass (RetryPolicy), so the person who pressed would read nothing at all,
    not even a refusal, and take the press for done. The views aim to fit their alerts; a
    name or a number from outside (an official's name is up to 129 characters on Telegram)
    can still carry one past, and this is the one place every alert passes."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        text = method.text if isinstance(method, AnswerCallbackQuery) else None
        if isinstance(text, str) and utf16_len(text) > ALERT_LIMIT:
            method = cast(Any, method.model_copy(update={"text": shorten(text, ALERT_LIMIT)}))
        return await make_request(bot, method)


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


# Values that pydantic's JSON and aiogram's prepare_value write alike.
_ATOMS = frozenset({str, int, bool, type(None)})
# Per class: whether pydantic writes its fields as they are stored (no serializers of its own).
_stored_as_is: dict[type[BaseModel], bool] = {}
# What pydantic's `exclude` takes: field names or list positions, each True (the whole value)
# or what to leave out inside it.
LeftOut = dict[str | int, Any]


class _NotPlain(Exception):
    """A value pydantic would write otherwise than prepare_value: aiogram's way is taken."""


def _left_out_of(value: BaseModel, default: DefaultBotProperties, top: bool) -> LeftOut:
    """What pydantic must leave out of `value` (exclude_none aside) to write what aiogram's
    prepare_value makes of it; raises _NotPlain where the two would differ otherwise.

    Plain values are strings, integers, booleans, finite floats (json.dumps writes Infinity,
    pydantic null), lists of plain values without None (prepare_value drops None from a list,
    pydantic writes null), `Default`s and Telegram objects made of plain values, with no
    undeclared fields but scalars and no serializers of their own. A file, a datetime or
    timedelta (a string of seconds for prepare_value), a dict, a tuple or an integer enum is
    not. A `Default` that resolves to None is left out (prepare_value drops it), as is ""
    at the top level (the form's `if not value`); one that resolves to a value is resolved by
    pydantic's fallback (BotApiSession._plain_json)."""
    kind = type(value)
    as_is = _stored_as_is.get(kind)
    if as_is is None:
        decorators = kind.__pydantic_decorators__
        as_is = _stored_as_is[kind] = not (
            decorators.field_serializers
            or decorators.model_serializers
            or kind.__pydantic_computed_fields__
        )
    if not as_is:
        raise _NotPlain(kind.__name__)
    left_out: LeftOut = {}
    if extra := value.__pydantic_extra__:  # aiogram's shortcuts pass business_connection_id=None
        for key, item in extra.items():
            if type(item) not in _ATOMS:
                raise _NotPlain(key)
            if top and item == "":
                left_out[key] = True
    for key, item in value.__dict__.items():
        if type(item) is Default:
            item = default[item.name]
            if item is None or (top and item == ""):
                left_out[key] = True
            elif _left_out_of_value(item, default):
                raise _NotPlain(key)  # a resolved default with Defaults inside that drop out
        elif type(item) in _ATOMS:
            if top and item == "":
                left_out[key] = True
        elif inner := _left_out_of_value(item, default):
            left_out[key] = inner
    return left_out


def _left_out_of_value(value: Any, default: DefaultBotProperties) -> LeftOut:
    kind = type(value)
    if kind in _ATOMS or kind is Default:
        return {}
    if kind is float:
        if not math.isfinite(value):
            raise _NotPlain(repr(value))
        return {}
    if kind is list:
        left_out: LeftOut = {}
        for position, item in enumerate(value):
            if item is None:
                raise _NotPlain("None in a list")
            if type(item) not in _ATOMS and (inner := _left_out_of_value(item, default)):
                left_out[position] = inner
        return left_out
    if isinstance(value, BaseModel):
        return _left_out_of(value, default, top=False)
    if isinstance(value, str) and isinstance(value, Enum) and value.value == str.__str__(value):
        return {}  # ParseMode.HTML and the like: both write the string
    raise _NotPlain(kind.__name__)


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

    A body whose values are all plain is written by pydantic-core in one go (`_plain_json`,
    issue #14); anything else takes aiogram's way, and the same JSON goes out either way
    (tests/test_session_codec.py). Answers stay aiogram's: pydantic's own JSON parsing
    (`model_validate_json`) measured no faster than json.loads and `model_validate` on the
    bot's answers.
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
        body = self._plain_json(bot, method)
        if body is None:
            body = self._prepared_json(bot, method)
            if body is None:
                return super().build_form_data(bot, method)
        payload = BytesPayload(body, content_type="application/json")
        # aiohttp's post() takes any payload as data; aiogram only names FormData.
        return cast(FormData, payload)

    def _prepared_json(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """aiogram's own way: model_dump, then prepare_value on every field. None when the
        request carries files (they go as aiogram's multipart form)."""
        files: dict[str, InputFile] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # The form skips None and "" (aiogram's `if not value`); False and 0 are values.
            if prepared is None or prepared == "":
                continue
            body[key] = prepared
        if files:
            return None
        return self.json_dumps(body).encode()

    def _plain_json(self, bot: Bot, method: TelegramMethod[TelegramType]) -> bytes | None:
        """The same body as `_prepared_json` (the same JSON once parsed: pydantic writes it
        compact and in UTF-8), written by pydantic-core in one go, for the methods whose
        values are all plain (`_left_out_of`); None when this one has another."""
        if self.json_dumps is not json.dumps:
            return None
        default = bot.default
        try:
            left_out = _left_out_of(method, default, top=True)
        except _NotPlain:
            return None

        def resolve(value: Any) -> Any:
            if type(value) is not Default:
                raise _NotPlain(repr(value))
            resolved = default[value.name]
            if resolved is None:  # inside a resolved default: left_out could not reach it
                raise _NotPlain(value.name)
            return resolved

        try:
            return method.model_dump_json(
                exclude=cast(Any, left_out) or None,
                exclude_none=True,
                warnings=False,
                fallback=resolve,
            ).encode()
        except PydanticSerializationError:
            return None
