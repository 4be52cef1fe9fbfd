"""The outbox sender behind its lease (bot/delivery/lease.py), two instances in one test
process: each its own connection to one database file and its own sender, as two processes
would have, against the fake Bot API (each instance calls it under its own prefix, so every
sendMessage says which instance made it). Short lease times keep the tests quick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer

from bot.delivery.lease import SenderLease
from bot.delivery.outbox import Outbox
from bot.delivery.sender import OutboxSender
from bot.domain.lease import InstanceId, LeaseTerms
from storage.sqlite.database import SQLiteDatabase
from storage.sqlite.lease import SQLiteLeaseStore
from storage.sqlite.outbox import SQLiteOutboxStore
from tests.fakeapi import FakeTelegram, LocalSession

# Held 3 s, renewed every 0.5 s, sending stops 1 s before the expiry.
TERMS = LeaseTerms(length=3.0, renew_every=0.5, margin=1.0, take_every=0.3, look_every=0.1)
NS = "4026531836"


def utc_now() -> datetime:
    return datetime.now(UTC)


class FlakyLeases(SQLiteLeaseStore):
    """The real store, with a fault switched on by the test: every take raises, or hangs."""

    fault: str | None = None

    async def take(self, *args: object, **kwargs: object) -> bool:
        if self.fault == "raise":
            raise OSError("disk I/O error")
        if self.fault == "hang":
            await asyncio.sleep(3600)
        return await super().take(*args, **kwargs)  # type: ignore[arg-type]


@dataclass
class Instance:
    name: str
    db: SQLiteDatabase
    outbox: Outbox
    sender: OutboxSender
    lease: SenderLease
    store: FlakyLeases
    bot: Bot


@pytest.fixture
async def instances(
    fake: FakeTelegram, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[Instance]]]:
    made: list[Instance] = []

    async def make(name: str, *, pid: int = 1, alive: bool = True, namespace: str = NS) -> Instance:
        db = await SQLiteDatabase.open(tmp_path / "bot.db")
        store = SQLiteOutboxStore(db)
        outbox = Outbox(store, utc_now)
        session = LocalSession(api=TelegramAPIServer.from_base(f"{fake.base_url}/{name}"))
        bot = Bot("42:TEST", session=session)
        sender = OutboxSender(bot, store, outbox, utc_now, private_interval=0.01)
        leases = FlakyLeases(db)
        lease = SenderLease(
            leases,
            sender,
            utc_now,
            terms=TERMS,
            me=InstanceId("host", namespace, pid, name),
            alive=lambda _pid: alive,
        )
        instance = Instance(name, db, outbox, sender, lease, leases, bot)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        instance.store.fault = None
        await instance.lease.stop()
        await instance.bot.session.close()
        await instance.db.close()


async def queue(instance: Instance, first: int, count: int) -> None:
    await instance.outbox.queue(
        [instance.outbox.text(1000 + n, f"notice #{n}") for n in range(first, first + count)]
    )
    instance.outbox.poke()


def senders_of(fake: FakeTelegram) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in fake.sent(method="sendMessage"):
        counts[call.client] = counts.get(call.client, 0) + 1
    return counts


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_single_instance_sends_from_the_moment_it_starts(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    a = await instances("a")
    await queue(a, 0, 3)
    await a.lease.start()
    assert a.sender.running and a.lease.holds()  # taken at once, not at the first renewal
    await a.sender.drain()
    assert senders_of(fake) == {"a": 3}


async def test_only_the_holder_sends_and_a_non_holders_poke_sends_nothing(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    a = await instances("a")
    b = await instances("b", pid=2)
    await a.lease.start()
    await b.lease.start()
    assert a.sender.running and not b.sender.running and not b.lease.holds()
    # Rows queued by the instance that does not send: its poke wakes no sender of its own;
    # the holder looks at the outbox every `look_every` and sends them, once each.
    await queue(b, 0, 10)
    await queue(a, 10, 10)
    await wait_until(lambda: len(fake.sent(method="sendMessage")) == 20)
    await asyncio.sleep(3 * TERMS.renew_every)  # renewals pass; nothing changes hands
    assert senders_of(fake) == {"a": 20}
    assert sorted(c.text or "" for c in fake.sent(method="sendMessage")) == sorted(
        f"notice #{n}" for n in range(20)
    )
    assert not b.sender.running


async def test_a_clean_stop_hands_over_at_once(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    a = await instances("a")
    b = await instances("b", pid=2)
    await a.lease.start()
    await b.lease.start()
    held = await a.store.current("outbox-sender")
    await a.lease.stop()
    assert await a.store.current("outbox-sender") is None  # released, not left to expire
    await wait_until(lambda: b.sender.running)
    assert held is not None and utc_now() < held.expires_at  # b's next try, not the expiry
    await queue(b, 0, 5)
    await wait_until(lambda: len(fake.sent(method="sendMessage")) == 5)
    assert senders_of(fake) == {"b": 5}


async def test_a_holder_that_stops_renewing_is_taken_over_only_after_the_expiry(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    """A hung holder (its renewals never answer, its process alive) stops sending before
    its lease can expire; the other instance takes over once it has expired, not before."""
    a = await instances("a")
    b = await instances("b", pid=2)
    await a.lease.start()
    await b.lease.start()
    loop = asyncio.get_running_loop()
    a.store.fault = "hang"
    record = await b.store.current("outbox-sender")
    assert record is not None and record.holder == str(a.lease.me)
    await wait_until(lambda: not a.sender.running, timeout=TERMS.length)
    # a stopped before the row's expiry; b could not have taken it yet.
    assert utc_now() < record.expires_at
    assert not b.sender.running
    await wait_until(lambda: b.sender.running, timeout=TERMS.length + TERMS.take_every + 1)
    assert utc_now() > record.expires_at
    assert not a.lease.holds()
    started = loop.time()
    await queue(a, 0, 5)  # a still handles updates and queues rows
    await wait_until(lambda: len(fake.sent(method="sendMessage")) == 5)
    assert loop.time() - started < 1.0
    assert senders_of(fake) == {"b": 5}


async def test_a_failed_renewal_stops_sending_at_once_and_the_holder_renews_when_it_can(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    a = await instances("a")
    await a.lease.start()
    a.store.fault = "raise"
    await wait_until(lambda: not a.sender.running, timeout=TERMS.renew_every + 1)
    assert not a.lease.holds()
    await queue(a, 0, 3)
    await asyncio.sleep(0.3)
    assert fake.sent(method="sendMessage") == []  # no lease, no sending
    a.store.fault = None
    # The row still names a, so its next try renews it (no wait for the expiry).
    await wait_until(lambda: a.sender.running, timeout=TERMS.take_every + 1)
    await wait_until(lambda: len(fake.sent(method="sendMessage")) == 3)


async def test_a_dead_holder_on_this_machine_is_replaced_without_waiting(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    """A restart after SIGKILL: the row names a process of this machine that is gone, so the
    new process sends at once, as a single process always has."""
    b = await instances("b", pid=2, alive=False)
    dead = InstanceId("host", NS, 999, "killed")
    now = utc_now()
    assert await b.store.take("outbox-sender", str(dead), now, TERMS.expires_at(now))
    await b.lease.start()
    assert b.sender.running
    record = await b.store.current("outbox-sender")
    assert record is not None and record.holder == str(b.lease.me)


async def test_a_live_holder_on_this_machine_is_not_replaced(
    fake: FakeTelegram, instances: Callable[..., Awaitable[Instance]]
) -> None:
    a = await instances("a")
    await a.lease.start()
    b = await instances("b", pid=2, alive=True)
    await b.lease.start()
    assert not b.sender.running and a.sender.running
    # Nor is one in another PID namespace (another container), whose pids mean nothing here.
    c = await instances("c", pid=3, alive=False, namespace="4026532999")
    await c.lease.start()
    assert not c.sender.running
