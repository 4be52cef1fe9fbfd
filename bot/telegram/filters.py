"""Async filters: aiogram runs synchronous ones (magic F filters too) in a worker thread."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, Message, User


class PrivateChat(Filter):
    async def __call__(self, event: Message | CallbackQuery) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return message is not None and message.chat.type == "private"


class TextIn(Filter):
    """The message text is one of the given labels (reply-keyboard buttons)."""

    def __init__(self, labels: frozenset[str]) -> None:
        self.labels = labels

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text in self.labels


class Has(Filter):
    """The message carries any of these parts (text, photo, contact, …)."""

    def __init__(self, *parts: str) -> None:
        self.parts = parts

    async def __call__(self, message: Message) -> bool:
        return any(getattr(message, part, None) is not None for part in self.parts)


class IsCommand(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.text and message.text.startswith("/"))


class CallbackPrefix(Filter):
    """The query's data is of this CallbackData class. As a router filter, one string test
    lets the router's other handlers skip unpacking data that is not theirs."""

    def __init__(self, kind: type[CallbackData]) -> None:
        self.prefix = kind.__prefix__ + kind.__separator__

    async def __call__(self, query: CallbackQuery) -> bool:
        return query.data is not None and query.data.startswith(self.prefix)


def author(message: Message) -> User | None:
    """The person who wrote the message, or None when nobody can be named: a channel post,
    a message an anonymous group admin sent on behalf of the group (from_user is then
    @GroupAnonymousBot and sender_chat the group), another bot."""
    user = message.from_user
    if user is None or message.sender_chat is not None or user.is_bot:
        return None
    return user
