"""One update at a time per chat, without keeping a lock for every citizen ever seen."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class ChatIsolation(BaseEventIsolation):
    """aiogram's SimpleEventIsolation keeps a lock per key forever ("unused locks cleaner is
    needed", says its source): a bot that meets a million citizens holds a million locks.
    Here a lock lives while some update of that chat holds it or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[StorageKey, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            # close() at shutdown may have forgotten every lock while this update ran.
            held = self._locks.get(key)
            if held is not None:
                lock, users = held
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    @property
    def held(self) -> int:
        """Chats with an update being handled or waiting. (Not __len__: aiogram tests the
        isolation for truth, and an empty one would read as "no isolation".)"""
        return len(self._locks)

    def in_hand(self, chat_id: int) -> bool:
        """Whether an update of the chat is being handled or waiting (its dialog rows are
        committed at the end of its handling, after its replies: storage.fsm)."""
        return any(key.chat_id == chat_id for key in self._locks)

    async def close(self) -> None:
        self._locks.clear()
