from __future__ import annotations

import asyncio

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.telegram.isolation import ChatIsolation


def key(user: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=user, user_id=user)


async def test_one_update_at_a_time_per_chat_and_no_lock_left_behind() -> None:
    isolation = ChatIsolation()
    inside: dict[int, int] = {1: 0, 2: 0}
    most: dict[int, int] = {1: 0, 2: 0}
    order: list[tuple[int, int]] = []

    async def update(user: int, n: int) -> None:
        async with isolation.lock(key(user)):
            inside[user] += 1
            most[user] = max(most[user], inside[user])
            await asyncio.sleep(0.001)
            order.append((user, n))
            inside[user] -= 1

    await asyncio.gather(*(update(user, n) for n in range(5) for user in (1, 2)))
    assert most == {1: 1, 2: 1}
    # Waiters are served in arrival order, and the two chats did not wait for each other.
    assert [n for user, n in order if user == 1] == list(range(5))
    assert order[:2] in ([(1, 0), (2, 0)], [(2, 0), (1, 0)])
    assert isolation.held == 0


async def test_a_failing_update_releases_its_chat() -> None:
    isolation = ChatIsolation()

    async def failing() -> None:
        async with isolation.lock(key(1)):
            raise ValueError

    with pytest.raises(ValueError):
        await failing()
    assert isolation.held == 0
    async with asyncio.timeout(1), isolation.lock(key(1)):
        assert isolation.held == 1


def test_the_dispatcher_keeps_it_when_no_chat_is_held() -> None:
    from aiogram import Dispatcher

    isolation = ChatIsolation()
    assert Dispatcher(events_isolation=isolation).fsm.events_isolation is isolation


async def test_an_update_still_running_at_shutdown_ends_cleanly() -> None:
    """aiogram closes the isolation at shutdown; an update that was still running must not
    fail on its way out (it raised KeyError)."""
    isolation = ChatIsolation()
    async with isolation.lock(key(1)):
        await isolation.close()
    assert isolation.held == 0
