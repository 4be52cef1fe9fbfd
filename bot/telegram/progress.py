"""Long work an official waits for (/export, /stats): done in the background, after the update
is handled, with a progress message and a chat action while it takes more than a second."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender

log = logging.getLogger(__name__)
T = TypeVar("T")
# Work done within this many seconds gets its result only, without the progress message.
PROGRESS_AFTER = 1.0
# Telegram shows a chat action for 5 s or until the bot's next message: renewed before that.
ACTION_EVERY = 4.0

_background: set[asyncio.Task[None]] = set()


def in_background(work: Coroutine[Any, Any, None]) -> None:
    """Runs `work` after the update that started it is handled, so the chat's next update
    (and the webhook's answer to this one) need not wait for it. The context goes along
    (the officials' language). An error is logged: nobody awaits the task."""
    task = asyncio.create_task(work)
    _background.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background reply failed", exc_info=task.exception())


class Progress:
    """`await progress.wait(work)`: the work's value. Work longer than PROGRESS_AFTER posts
    `text` in the chat and shows `action` («sending a file…») until it ends; `done()` then
    removes the message, once the result (or the failure) has been sent after it."""

    def __init__(self, message: Message, text: str, action: str) -> None:
        self.message = message
        self.text = text
        self.action = action
        self.posted: Message | None = None

    async def wait(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        done, _pending = await asyncio.wait({task}, timeout=PROGRESS_AFTER)
        if done:
            return task.result()
        with contextlib.suppress(TelegramAPIError):  # the work goes on without its notice
            self.posted = await self.message.answer(self.text)
        bot = self.message.bot
        if bot is None:
            return await task
        async with ChatActionSender(
            bot=bot, chat_id=self.message.chat.id, action=self.action, interval=ACTION_EVERY
        ):
            return await task

    async def done(self) -> None:
        if self.posted is None:
            return
        with contextlib.suppress(TelegramAPIError):
            await self.posted.delete()
