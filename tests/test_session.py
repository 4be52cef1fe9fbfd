"""The retry policy of direct Bot API calls (bot.session), without a network."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetUpdates,
    Response,
    SendMessage,
    TelegramMethod,
)

from bot.telegram.session import (
    REQUEST_TIMEOUT,
    Failure,
    RetryPolicy,
    creates_message,
    failure_of,
    may_repeat,
    own_retries,
)

SEND = SendMessage(chat_id=1, text="Опишите проблему")
EDIT = EditMessageText(chat_id=1, message_id=2, text="✔️ Жалоба")
ANSWER = AnswerCallbackQuery(callback_query_id="q1")
BOT = Bot("123456789:AAFakeTokenForTests_0123456789abc")


def retry_after(seconds: int) -> TelegramRetryAfter:
    return TelegramRetryAfter(method=SEND, message="Too Many Requests", retry_after=seconds)


def server_error() -> TelegramServerError:
    return TelegramServerError(method=SEND, message="Bad Gateway")


def disconnected() -> TelegramNetworkError:
    return TelegramNetworkError(method=SEND, message="ServerDisconnectedError: Server disconnected")


def timed_out() -> TelegramNetworkError:
    return TelegramNetworkError(method=SEND, message=REQUEST_TIMEOUT)


class Telegram:
    """Answers with the given failures in turn, then succeeds; counts calls."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Response[Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return Response[Any](ok=True, result=True)


class Pauses(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def policy(pauses: Pauses, **kwargs: Any) -> RetryPolicy:
    return RetryPolicy(sleep=pauses, **kwargs)


@pytest.mark.parametrize(
    ("method", "creates"),
    [
        ("sendMessage", True), ("sendPhoto", True), ("sendMediaGroup", True),
        ("copyMessage", True), ("forwardMessage", True), ("sendChatAction", False),
        ("editMessageText", False), ("answerCallbackQuery", False), ("deleteMessage", False),
        ("getChatMember", False), ("setMyCommands", False),
    ],
)  # fmt: skip
def test_which_methods_create_a_message(method: str, creates: bool) -> None:
    assert creates_message(method) is creates


@pytest.mark.parametrize(
    ("method", "failure", "repeat"),
    [
        ("sendMessage", Failure.RATE_LIMITED, True),  # Telegram did nothing
        ("sendMessage", Failure.SERVER_ERROR, True),
        ("sendMessage", Failure.CONNECTION, True),
        ("sendMessage", Failure.TIMEOUT, False),  # Telegram has it: a repeat would duplicate
        ("editMessageText", Failure.TIMEOUT, True),  # the same edit twice is one edit
        ("answerCallbackQuery", Failure.SERVER_ERROR, True),
        ("deleteMessage", Failure.CONNECTION, True),
    ],
)
def test_what_may_be_repeated(method: str, failure: Failure, repeat: bool) -> None:
    assert may_repeat(method, failure) is repeat


def test_failures_are_told_apart() -> None:
    assert failure_of(retry_after(3)) is Failure.RATE_LIMITED
    assert failure_of(server_error()) is Failure.SERVER_ERROR
    assert failure_of(disconnected()) is Failure.CONNECTION
    assert failure_of(timed_out()) is Failure.TIMEOUT
    assert failure_of(TelegramBadRequest(method=SEND, message="chat not found")) is None


async def test_a_429_within_the_bound_is_waited_out() -> None:
    pauses, telegram = Pauses(), Telegram(retry_after(3), retry_after(4))
    await policy(pauses, max_wait=10)(telegram, BOT, SEND)
    assert (telegram.calls, pauses) == (3, [3.0, 4.0])


async def test_a_429_past_the_bound_is_raised_at_once() -> None:
    pauses, telegram = Pauses(), Telegram(retry_after(3), retry_after(8))
    with pytest.raises(TelegramRetryAfter):
        await policy(pauses, max_wait=10)(telegram, BOT, SEND)
    assert pauses == [3.0]  # 3 + 8 > 10: the second one is not waited for


async def test_5xx_and_broken_connections_are_tried_with_growing_pauses() -> None:
    pauses, telegram = Pauses(), Telegram(server_error(), disconnected())
    await policy(pauses, attempts=3, backoff=0.5)(telegram, BOT, EDIT)
    assert (telegram.calls, pauses) == (3, [0.5, 1.0])


async def test_the_attempts_are_bounded() -> None:
    pauses, telegram = Pauses(), Telegram(server_error(), server_error(), server_error())
    with pytest.raises(TelegramServerError):
        await policy(pauses, attempts=3)(telegram, BOT, EDIT)
    assert telegram.calls == 3


async def test_a_send_that_timed_out_is_not_repeated() -> None:
    pauses, telegram = Pauses(), Telegram(timed_out())
    with pytest.raises(TelegramNetworkError):
        await policy(pauses)(telegram, BOT, SEND)
    assert (telegram.calls, pauses) == (1, [])


async def test_a_bad_request_is_not_repeated() -> None:
    pauses = Pauses()
    telegram = Telegram(TelegramBadRequest(method=EDIT, message="message to edit not found"))
    with pytest.raises(TelegramBadRequest):
        await policy(pauses)(telegram, BOT, EDIT)
    assert telegram.calls == 1


async def test_a_failed_answer_to_a_callback_query_is_not_an_error() -> None:
    too_old = TelegramBadRequest(method=ANSWER, message="query is too old")
    response = await policy(Pauses())(Telegram(too_old), BOT, ANSWER)
    assert response.ok
    down = Telegram(server_error(), server_error(), server_error())
    assert (await policy(Pauses(), attempts=3)(down, BOT, ANSWER)).ok
    assert down.calls == 3


async def test_callers_with_their_own_retries_see_every_failure() -> None:
    pauses, telegram = Pauses(), Telegram(retry_after(1))
    with own_retries(), pytest.raises(TelegramRetryAfter):
        await policy(pauses)(telegram, BOT, SEND)
    assert pauses == []
    polling = Telegram(server_error())
    with pytest.raises(TelegramServerError):
        await policy(pauses)(polling, BOT, GetUpdates())
    assert pauses == []
