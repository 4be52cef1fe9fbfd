"""Runs the outbox sender only while this instance holds the sending lease.

One background task: while the lease is held it renews it every `renew_every` seconds and
wakes the sender every `look_every` seconds (a row another instance queued pokes nobody here);
while it is not, it tries to take it every `take_every` seconds. A renewal that is refused,
raises or outlasts what is left of the lease stops the sender at once: the sender also asks
`may_send` before every row, so not a row is started once the lease may have run out. The
rules (timings, what counts as held) are `bot.domain.lease`; the row is `storage.lease`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime

from bot.delivery.sender import OutboxSender
from bot.domain.lease import SENDER_LEASE, InstanceId, LeaseState, LeaseTerms
from storage.lease import LeaseStore

log = logging.getLogger(__name__)


def this_instance() -> InstanceId:
    """A fresh id for this process start. The PID namespace is part of it so that two
    containers sharing a host name never read each other's pids as their own."""
    try:
        namespace = str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        namespace = ""  # not Linux: a dead holder is then seen by its expiry only
    return InstanceId(socket.gethostname(), namespace, os.getpid(), secrets.token_hex(4))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class SenderLease:
    def __init__(
        self,
        store: LeaseStore,
        sender: OutboxSender,
        wall: Callable[[], datetime],
        *,
        terms: LeaseTerms | None = None,
        name: str = SENDER_LEASE,
        me: InstanceId | None = None,
        alive: Callable[[int], bool] = pid_alive,
    ) -> None:
        self.store = store
        self.sender = sender
        self.wall = wall
        self.terms = terms or LeaseTerms()
        self.name = name
        self.me = me or this_instance()
        self.holder = str(self.me)
        self.alive = alive
        self.state = LeaseState(self.terms)
        self._task: asyncio.Task[None] | None = None
        # The sender asks before every row it starts.
        sender.may_send = self.holds

    def holds(self) -> bool:
        return self.state.holds(asyncio.get_running_loop().time())

    async def start(self) -> None:
        """The first try now, so a single process sends at once from start-up; then the
        background task. Start it inside `own_retries()`: the sender's task inherits it."""
        await self._try()
        self._task = asyncio.create_task(self._run(), name="outbox-lease")

    async def stop(self) -> None:
        """The sender stops as it always did (the sends in hand finish and are recorded), then
        the lease is released, so another instance takes over at its next try rather than
        after the expiry."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.sender.stop()
        self.state.released()
        try:
            # Conditional on the holder: a lease another instance holds by now stays its own.
            if await self.store.release(self.name, self.holder):
                log.info("outbox: sending lease released by %s", self.holder)
        except Exception:
            log.exception("outbox: could not release the sending lease; it expires")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            mono = loop.time()
            try:
                if self.state.try_due(mono):
                    await self._try()
                elif self.state.holds(mono):
                    self.sender.outbox.wakeup.set()
            except Exception:
                # Past the take (retrying the refused groups, stopping the sender): this task
                # must outlive it, or the lease would silently never be renewed or taken.
                log.exception("outbox: sending lease keeper failed; trying again")
                self.state.failed(mono)
                await self._stop_sending()
            mono = loop.time()
            pause = self.state.next_try() - mono
            if self.state.holds(mono):
                pause = min(pause, self.terms.look_every)
            await asyncio.sleep(max(0.01, pause))

    async def _try(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        now = self.wall()
        try:
            taken = await asyncio.wait_for(self._take(now), timeout=self.state.try_timeout(started))
        except Exception as exc:  # TimeoutError included: the database did not answer in time
            if self.state.holds(loop.time()) or self.sender.running:
                log.error("outbox: could not renew the sending lease (%r); sending stops", exc)
            else:
                log.warning("outbox: could not try the sending lease: %r", exc)
            self.state.failed(started)
            await self._stop_sending()
            return
        if taken:
            self.state.granted(started)
            if not self.sender.running:
                log.info("outbox: %s holds the sending lease and sends", self.holder)
                # Each new holder tries the groups that refused the bot once more, as a
                # process's start-up always has.
                await self.sender.retry_refused()
                self.sender.start()
            return
        if self.sender.running:
            log.error("outbox: the sending lease went to another instance; sending stops")
        self.state.refused(started)
        await self._stop_sending()

    async def _take(self, now: datetime) -> bool:
        expires = self.terms.expires_at(now)
        if await self.store.take(self.name, self.holder, now, expires):
            return True
        dead = await self._dead_holder()
        return dead is not None and await self.store.take(
            self.name, self.holder, now, expires, replacing=dead
        )

    async def _dead_holder(self) -> str | None:
        """The holder if it ran in this machine's process space and its process is gone (a
        restart after a crash): its lease is taken over at once rather than after the expiry.
        A holder elsewhere, or alive but hung, is waited out."""
        record = await self.store.current(self.name)
        if record is None:
            return None
        other = InstanceId.parse(record.holder)
        if other is None or not self.me.same_process_space(other) or other.pid == self.me.pid:
            return None
        return None if self.alive(other.pid) else record.holder

    async def _stop_sending(self) -> None:
        if self.sender.running:
            with contextlib.suppress(Exception):
                await self.sender.stop()
