"""An update's claim across webhook instances (the rules: bot.domain.claims).

`WebhookReceiver` answers 503 for an update still in hand after `answer_within`; just before
that answer it has `UpdateClaims.hold` write a claim on the update, which a task of its own
renews while the handling goes on and releases when it ends (marked handled, or failed).
The receiver hands its `UpdateClaims` to the update's middlewares (`UPDATE_CLAIMS` in
aiogram's data), and `RequestContextMiddleware` asks `held_elsewhere` about a claim it read
with the update's handled-mark: while one counts, it handles nothing and answers
`Held.ELSEWHERE`, which the receiver turns into a 503 (Telegram posts the update again later).
In polling mode nothing hands claims to the middlewares, and a claim left in the database
by a webhook run is not looked at."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from bot.delivery.lease import pid_alive, this_instance
from bot.domain.claims import ClaimTerms, claim_counts
from bot.domain.lease import InstanceId
from storage.base import Repository, UpdateClaim

log = logging.getLogger(__name__)

# The key of aiogram's data under which the webhook hands its claims to the middlewares.
UPDATE_CLAIMS = "update_claims"


class Held(Enum):
    """What `RequestContextMiddleware` answers for an update another instance has in hand."""

    ELSEWHERE = "elsewhere"


def wall_clock() -> datetime:
    return datetime.now(UTC)


@functools.cache
def process_instance() -> InstanceId:
    """One name per process start, whatever number of apps it runs (the tests' run several):
    a claim of this process is its own, and this pid under another name is a dead process."""
    return this_instance()


class UpdateClaims:
    def __init__(
        self,
        repo: Repository,
        *,
        me: InstanceId | None = None,
        alive: Callable[[int], bool] = pid_alive,
        terms: ClaimTerms | None = None,
        wall: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.repo = repo
        self.me = me or process_instance()
        self.holder = str(self.me)
        self.alive = alive
        self.terms = terms or ClaimTerms()
        self.wall = wall
        # The updates this instance claims, by update_id: the task that keeps each claim.
        self._keepers: dict[int, asyncio.Task[None]] = {}

    def held_elsewhere(self, claim: UpdateClaim) -> bool:
        """Whether `claim`, read with the update's handled-mark, holds off its handling here."""
        return claim_counts(claim.holder, claim.expires_at, self.wall(), self.me, self.alive)

    def holds(self, update_id: int) -> bool:
        return update_id in self._keepers

    async def hold(self, update_id: int, handling: asyncio.Future[Any]) -> None:
        """Claim `update_id` for as long as `handling` runs: the claim is written before this
        returns (or has failed, or taken `write_within`: logged), then renewed by a task of
        its own until `handling` ends, and released. Once per update: a redelivery that
        joined the handling and timed out again finds it claimed."""
        if update_id in self._keepers or handling.done():
            return
        written = asyncio.Event()
        keeper = asyncio.create_task(self._keep(update_id, handling, written))
        self._keepers[update_id] = keeper
        keeper.add_done_callback(lambda _: self._keepers.pop(update_id, None))
        await written.wait()

    async def _keep(
        self, update_id: int, handling: asyncio.Future[Any], written: asyncio.Event
    ) -> None:
        try:
            await self._write(update_id)
            written.set()
            while not handling.done():
                await asyncio.wait({handling}, timeout=self.terms.renew_every)
                if not handling.done():
                    await self._write(update_id)
        finally:
            written.set()
            await self._release(update_id)

    async def _write(self, update_id: int) -> None:
        expires = self.terms.expires_at(self.wall())
        try:
            async with asyncio.timeout(self.terms.write_within):
                await self.repo.claim_update(update_id, self.holder, expires)
        except Exception as exc:  # TimeoutError included: the database did not answer
            log.warning(
                "update %s: its claim could not be written (%r): a redelivery reaching another"
                " instance may be handled there too",
                update_id,
                exc,
            )

    async def _release(self, update_id: int) -> None:
        try:
            async with asyncio.timeout(self.terms.write_within):
                await self.repo.release_update(update_id, self.holder)
        except Exception as exc:
            log.warning(
                "update %s: its claim could not be released (%r); it expires", update_id, exc
            )
