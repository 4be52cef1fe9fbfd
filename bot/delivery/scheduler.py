"""The periodic tick behind digests. The scheduler only ticks; the database decides what is due
and claims it, so restarts and several instances never send anything twice (docs/architecture.md →
Reliability rules)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

JOB_ID = "digest-tick"


class SupportsTick(Protocol):
    async def tick(self, now: datetime) -> object: ...


class Ticker:
    """Calls `service.tick(clock())` every `interval` seconds, starting at once so a bot started
    after digest time catches up immediately. A failing tick is logged and the next one runs
    as usual."""

    def __init__(
        self,
        service: SupportsTick,
        clock: Callable[[], datetime],
        tz: tzinfo,
        *,
        interval: float = 60.0,
        misfire_grace_time: int = 30,
        stop_timeout: float = 10.0,
    ) -> None:
        self.service = service
        self.clock = clock
        self.tz = tz
        self.interval = interval
        self.misfire_grace_time = misfire_grace_time
        self.stop_timeout = stop_timeout
        self._scheduler: AsyncIOScheduler | None = None
        self._current: asyncio.Task[object] | None = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None

    def start(self) -> None:
        """Start ticking; call from inside the running event loop."""
        if self._scheduler is not None:
            return
        scheduler = AsyncIOScheduler(timezone=self.tz)
        scheduler.add_job(
            self._tick,
            IntervalTrigger(seconds=self.interval, timezone=self.tz),
            id=JOB_ID,
            name="digest tick",
            next_run_time=datetime.now(self.tz),
            # After a sleep or a stall one tick is enough: each one looks at the whole state.
            coalesce=True,
            max_instances=1,
            misfire_grace_time=self.misfire_grace_time,
            replace_existing=True,
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()
        # APScheduler's shutdown cancels a running coroutine job; let the tick finish so a
        # digest is not cut off between its claim and its send.
        current = self._current
        if current is not None and not current.done():
            await asyncio.wait({current}, timeout=self.stop_timeout)
        scheduler.shutdown(wait=False)
        # The asyncio scheduler shuts down on the loop's next turn; let that turn happen, so
        # nothing of it outlives stop().
        await asyncio.sleep(0)

    async def _tick(self) -> None:
        self._current = asyncio.current_task()
        try:
            await self.service.tick(self.clock())
        except Exception:
            log.exception("scheduled tick failed; the next one runs as usual")
        finally:
            self._current = None


class Ticks:
    """Several services on one ticker; one failing does not stop the others."""

    def __init__(self, *services: SupportsTick) -> None:
        self.services = services

    async def tick(self, now: datetime) -> None:
        for service in self.services:
            try:
                await service.tick(now)
            except Exception:
                log.exception("tick of %s failed", type(service).__name__)
